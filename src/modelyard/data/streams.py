"""An object's bytes as Pipe mode delivers them, in bounded chunks.

Nothing here reads an object whole: objects are read in ``CHUNK_BYTES``
pieces, gunzipped with bounded output per step (a small gzip can inflate
enormously), and wrapped in RecordIO without holding the payload.

``CompressionType=Gzip``
    Each object is a gzip file (several concatenated members allowed, as
    ``gzip`` writes them); the script reads the decompressed bytes.
``RecordWrapperType=RecordIO``
    Each object (decompressed first when gzip) becomes one RecordIO record of
    SageMaker's form (flag 0, never split; :mod:`modelyard.formats.recordio`).
    A record holds less than 2**29 bytes: a larger object is refused, naming
    it. A record's header carries its length, so a gzip object is read twice:
    once to count its decompressed bytes, once to send them. Payloads up to
    one chunk go through the format's own writer (:func:`recordio.frame`);
    larger ones are framed here, header, streamed payload, padding, because
    that writer takes a payload whole.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator

from modelyard.data.selection import ObjectRef
from modelyard.errors import ValidationError
from modelyard.formats import recordio
from modelyard.store.base import Store

CHUNK_BYTES = 1024 * 1024
_GZIP_WBITS = 16 + zlib.MAX_WBITS
_HEADER = struct.Struct("<II")


class ObjectChangedError(ValidationError):
    """An object's bytes changed between the two reads RecordIO wrapping needs."""


def read_chunks(store: Store, ref: ObjectRef) -> Iterator[bytes]:
    """The stored bytes of ``ref``, chunk by chunk; the stream closes when the iterator does."""
    stream = store.open_object(ref.bucket, ref.key)
    with stream:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk


def gunzip(chunks: Iterator[bytes], uri: str) -> Iterator[bytes]:
    """Decompress gzip ``chunks`` (one or more members), at most CHUNK_BYTES per piece."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    started = False
    try:
        for chunk in chunks:
            data = chunk
            while data:
                if inflater.eof:  # another member follows, or zero padding as gzip(1) allows
                    if not data.strip(b"\0"):
                        return
                    inflater = zlib.decompressobj(_GZIP_WBITS)
                started = True
                out = inflater.decompress(data, CHUNK_BYTES)
                if out:
                    yield out
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
                while not data and not inflater.eof and len(out) == CHUNK_BYTES:
                    out = inflater.decompress(b"", CHUNK_BYTES)
                    if out:
                        yield out
        if started and not inflater.eof:
            raise ValidationError(
                f"object {uri} is truncated: its gzip stream ends early",
                field="CompressionType",
            )
    except zlib.error as exc:
        raise ValidationError(
            f"object {uri} is not gzip data ({exc}); set CompressionType to None for "
            "uncompressed objects",
            field="CompressionType",
        ) from exc


def payload(store: Store, ref: ObjectRef, *, gzip: bool) -> Iterator[bytes]:
    """The object's content: its bytes, decompressed when the channel is gzip."""
    chunks = read_chunks(store, ref)
    return gunzip(chunks, ref.uri) if gzip else chunks


def delivery(store: Store, ref: ObjectRef, *, gzip: bool, recordio_wrap: bool) -> Iterator[bytes]:
    """The bytes one object contributes to a Pipe stream."""
    if not recordio_wrap:
        return payload(store, ref, gzip=gzip)
    return record(lambda: payload(store, ref, gzip=gzip), None if gzip else ref.size, ref.uri)


def record(
    open_payload: Callable[[], Iterator[bytes]], size: int | None, uri: str
) -> Iterator[bytes]:
    """One RecordIO record around the payload ``open_payload`` streams (opened once or twice).

    ``size`` is the payload's length when known (an uncompressed object); else
    a first pass counts it.
    """
    if size is None:
        size = sum(len(chunk) for chunk in open_payload())
    check_record_size(size, uri)
    if size <= CHUNK_BYTES:
        whole = b"".join(open_payload())
        _check_length(len(whole), size, uri)
        yield recordio.frame([whole])
        return
    yield _HEADER.pack(recordio.MAGIC, size)
    sent = 0
    for chunk in open_payload():
        sent += len(chunk)
        if sent > size:
            break
        yield chunk
    _check_length(sent, size, uri)
    yield b"\0" * (-size & 3)


def check_record_size(size: int, uri: str) -> None:
    if size > recordio.MAX_RECORD_BYTES:
        raise ValidationError(
            f"object {uri} holds {size} bytes: a RecordIO record holds at most "
            f"{recordio.MAX_RECORD_BYTES}; split it into smaller objects or set "
            "RecordWrapperType to None",
            field="RecordWrapperType",
        )


def _check_length(sent: int, size: int, uri: str) -> None:
    if sent != size:
        raise ObjectChangedError(
            f"object {uri} changed while it was sent: {size} bytes expected, {sent} read",
            field="S3Uri",
        )
