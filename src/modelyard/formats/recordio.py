"""RecordIO framing, byte-compatible with dmlc-core / MXNet and SageMaker.

Each part on the wire is::

    uint32 magic = 0xCED7230A | uint32 lrec | payload | zero padding to 4 bytes

little-endian, where ``lrec`` holds the part's length in its low 29 bits and a
continuation flag in its high 3 bits: 0 a whole record, 1 the first part, 2 a
middle part, 3 the last part of a split record. A reader joins the parts of a
split record with the magic number between them.

Why records get split: dmlc's writer (``RecordIOWriter::WriteRecord``, used by
``mxnet.recordio``) cuts a payload wherever the magic number occurs at a 4-byte
aligned offset and drops those 4 bytes, so that scanning a file for the magic
number always finds a record boundary (that is how dmlc's splitters resync in
the middle of a file). SageMaker's writer (``sagemaker.amazon.common
._write_recordio``) never splits: it always writes flag 0, and the SDK's reader
does not mask the flag bits out of the length, so it cannot read split records.

Our writer therefore writes flag 0 by default (byte-identical to SageMaker's,
readable by the SDK, MXNet and dmlc's sequential reader); ``split_magic=True``
writes what MXNet 1.9.1 writes byte for byte (verified against it). Our reader
accepts both.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from modelyard.formats.errors import RecordIOError

__all__ = [
    "MAGIC",
    "MAX_RECORD_BYTES",
    "RecordIOWriter",
    "frame",
    "read_recordio",
    "record_spans",
    "unframe",
    "write_recordio",
]

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
MAX_RECORD_BYTES = (1 << 29) - 1
_LENGTH_MASK = (1 << 29) - 1
_HEADER = struct.Struct("<II")
_PADDING = (b"", b"\0", b"\0\0", b"\0\0\0")

FLAG_WHOLE, FLAG_START, FLAG_MIDDLE, FLAG_END = 0, 1, 2, 3


def _padding(length: int) -> int:
    return -length & 3


def _header(length: int, cflag: int) -> bytes:
    return _HEADER.pack(MAGIC, (cflag << 29) | length)


def _parts(payload: bytes | bytearray | memoryview, split_magic: bool) -> list[bytes]:
    """The framed parts of one payload (one part unless MXNet-style splitting applies)."""
    data = bytes(payload)
    length = len(data)
    if length > MAX_RECORD_BYTES:
        raise RecordIOError(
            f"a RecordIO record holds at most {MAX_RECORD_BYTES} bytes, got {length}",
            field="payload",
        )
    cuts: list[int] = []
    if split_magic and length >= 4:
        position = data.find(MAGIC_BYTES)
        while position != -1:
            if position % 4 == 0:
                cuts.append(position)
                position = data.find(MAGIC_BYTES, position + 4)
            else:
                position = data.find(MAGIC_BYTES, position + 1)
    if not cuts:
        return [_header(length, FLAG_WHOLE), data, _PADDING[_padding(length)]]
    parts: list[bytes] = []
    begin = 0
    for cut in cuts:
        parts += [_header(cut - begin, FLAG_START if begin == 0 else FLAG_MIDDLE), data[begin:cut]]
        begin = cut + 4
    parts += [_header(length - begin, FLAG_END), data[begin:], _PADDING[_padding(length)]]
    return parts


def write_recordio(
    stream: BinaryIO, payload: bytes | bytearray | memoryview, *, split_magic: bool = False
) -> int:
    """Write one record to a binary stream; return the number of bytes written."""
    parts = _parts(payload, split_magic)
    stream.write(b"".join(parts))
    return sum(len(part) for part in parts)


class RecordIOWriter:
    """A streaming RecordIO writer over a binary file object.

    ``split_magic=False`` (the default) writes SageMaker's form, ``True`` MXNet's.
    """

    def __init__(self, stream: BinaryIO, *, split_magic: bool = False) -> None:
        self._stream = stream
        self._split_magic = split_magic
        self.records_written = 0
        self.bytes_written = 0

    def write(self, payload: bytes | bytearray | memoryview) -> None:
        self.bytes_written += write_recordio(self._stream, payload, split_magic=self._split_magic)
        self.records_written += 1

    def write_all(self, payloads: Iterable[bytes | bytearray | memoryview]) -> None:
        for payload in payloads:
            self.write(payload)

    def flush(self) -> None:
        self._stream.flush()

    def __enter__(self) -> RecordIOWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()


def frame(
    payloads: Iterable[bytes | bytearray | memoryview], *, split_magic: bool = False
) -> bytes:
    """All ``payloads`` framed as RecordIO, in one buffer."""
    chunks: list[bytes] = []
    for payload in payloads:
        chunks += _parts(payload, split_magic)
    return b"".join(chunks)


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of stream (tolerates short reads of pipes)."""
    data = stream.read(size)
    if data is None:
        data = b""
    if len(data) == size or not data:
        return bytes(data)
    chunks = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


def _check_part(offset: int, magic: int, lrec: int, in_split: bool) -> tuple[int, int]:
    if magic != MAGIC:
        raise RecordIOError(
            f"bad RecordIO magic number 0x{magic:08X} (expected 0x{MAGIC:08X})",
            offset=offset,
            field="magic",
        )
    cflag = lrec >> 29
    length = lrec & _LENGTH_MASK
    if cflag > FLAG_END:
        raise RecordIOError(f"bad RecordIO continuation flag {cflag}", offset=offset, field="lrec")
    if in_split and cflag in (FLAG_WHOLE, FLAG_START):
        raise RecordIOError(
            f"RecordIO record part with flag {cflag} inside a split record (expected 2 or 3)",
            offset=offset,
            field="lrec",
        )
    if not in_split and cflag in (FLAG_MIDDLE, FLAG_END):
        raise RecordIOError(
            f"RecordIO continuation part (flag {cflag}) without a first part",
            offset=offset,
            field="lrec",
        )
    return cflag, length


def read_recordio(stream: BinaryIO) -> Iterator[bytes]:
    """Yield the payload of each record of a RecordIO stream, one at a time.

    Memory stays bounded by the largest record. Split records (flags 1/2/3) are
    joined back. Bad magic, a bad flag or a truncated record raise
    ``RecordIOError`` naming the byte offset of the offending part.
    """
    offset = 0
    pending: list[bytes] = []
    record_offset = 0
    while True:
        header = _read_exact(stream, 8)
        if not header:
            if pending:
                raise RecordIOError(
                    "RecordIO stream ends inside a split record (no part with flag 3)",
                    offset=record_offset,
                    field="lrec",
                )
            return
        if len(header) < 8:
            raise RecordIOError(
                f"truncated RecordIO header: {len(header)} of 8 bytes", offset=offset
            )
        magic, lrec = _HEADER.unpack(header)
        cflag, length = _check_part(offset, magic, lrec, bool(pending))
        size = length + _padding(length)
        body = _read_exact(stream, size)
        if len(body) < size:
            raise RecordIOError(
                f"truncated RecordIO record: it declares {length} bytes"
                f" (+{size - length} padding), only {len(body)} remain",
                offset=offset,
            )
        payload = body[:length] if size != length else body
        if cflag == FLAG_WHOLE:
            yield payload
        elif cflag == FLAG_START:
            record_offset = offset
            pending = [payload]
        elif cflag == FLAG_MIDDLE:
            pending.append(payload)
        else:
            pending.append(payload)
            yield MAGIC_BYTES.join(pending)
            pending = []
        offset += 8 + size


def _scan(data: NDArray[np.uint8]) -> tuple[NDArray[np.int64], NDArray[np.int64], bool]:
    """Walk the headers one by one: (part payload starts, part lengths, any split?).

    The general path: used when the vectorised scan cannot prove the layout
    (split records, payloads holding the magic number, malformed input). Part
    flags are checked here; a split record's parts come back in order.
    """
    buffer = data.tobytes()
    total = len(buffer)
    starts: list[int] = []
    lengths: list[int] = []
    flags: list[int] = []
    offset = 0
    in_split = False
    split_offset = 0
    while offset < total:
        if total - offset < 8:
            raise RecordIOError(
                f"truncated RecordIO header: {total - offset} of 8 bytes", offset=offset
            )
        magic, lrec = _HEADER.unpack_from(buffer, offset)
        cflag, length = _check_part(offset, magic, lrec, in_split)
        size = length + _padding(length)
        if offset + 8 + size > total:
            raise RecordIOError(
                f"truncated RecordIO record: it declares {length} bytes"
                f" (+{size - length} padding), only {total - offset - 8} remain",
                offset=offset,
            )
        if cflag == FLAG_START:
            split_offset = offset
        in_split = cflag in (FLAG_START, FLAG_MIDDLE)
        starts.append(offset + 8)
        lengths.append(length)
        flags.append(cflag)
        offset += 8 + size
    if in_split:
        raise RecordIOError(
            "RecordIO buffer ends inside a split record (no part with flag 3)",
            offset=split_offset,
            field="lrec",
        )
    return (
        np.asarray(starts, dtype=np.int64),
        np.asarray(lengths, dtype=np.int64),
        any(flags),
    )


def record_spans(
    buffer: bytes | bytearray | memoryview | NDArray[np.uint8],
) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64]]:
    """Locate every record of a RecordIO buffer without copying payloads.

    Returns ``(data, starts, lengths)``: record ``i`` is
    ``data[starts[i]:starts[i] + lengths[i]]``. ``data`` is the buffer itself,
    except when the buffer holds split records: then it is a new array of the
    joined payloads. Vectorised: a regular layout (every record the same
    length, as dense RecordIO-protobuf is) is checked in one comparison; an
    irregular one by locating every aligned magic number and checking that they
    chain; only input that defeats both (payloads holding the magic number,
    split records, malformed input) walks the headers one by one.
    """
    data = np.frombuffer(buffer, dtype=np.uint8) if not isinstance(buffer, np.ndarray) else buffer
    total = int(data.size)
    empty = np.zeros(0, dtype=np.int64)
    if total == 0:
        return data, empty, empty
    if total >= 8:
        magic, lrec = _HEADER.unpack(data[:8].tobytes())
        length = lrec & _LENGTH_MASK
        stride = 8 + length + _padding(length)
        if magic == MAGIC and lrec >> 29 == 0 and total % stride == 0:
            headers = data.reshape(-1, stride)[:, :8]
            if bool((headers == headers[0]).all()):
                count = total // stride
                starts = np.arange(count, dtype=np.int64) * stride + 8
                return data, starts, np.full(count, length, dtype=np.int64)
        if total % 4 == 0:
            spans = _chained_spans(data)
            if spans is not None:
                return data, spans[0], spans[1]
    starts, lengths, split = _scan(data)
    if not split:
        return data, starts, lengths
    return _join_split(data, starts, lengths)


def _chained_spans(
    data: NDArray[np.uint8],
) -> tuple[NDArray[np.int64], NDArray[np.int64]] | None:
    """Spans from the aligned magic numbers, if they chain exactly and none is split.

    Works in words: the part at word ``w`` is followed by the one at word
    ``w + 2 + ceil(lrec / 4)``.
    """
    words = data.view("<u4")
    candidates = _magic_words(words)
    if candidates.size == 0 or candidates[0] != 0 or candidates[-1] + 1 >= words.size:
        return None
    lrec = words[candidates + 1]
    if int(lrec.max()) >> 29:
        return None
    lengths = lrec.astype(np.int64)
    following = candidates + 2 + ((lengths + 3) >> 2)
    if following[-1] != words.size or not np.array_equal(following[:-1], candidates[1:]):
        return None
    return candidates * 4 + 8, lengths


def _magic_words(words: NDArray[np.uint32]) -> NDArray[np.int64]:
    """The indices of the words equal to the magic number, in order.

    ``flatnonzero`` over one flag per word costs as much as the rest of a
    sparse decode's framing: the flags are searched by groups of 8 instead
    (one 64-bit word each), and a group's one flag located from the group's
    value, a power of two. Groups holding two (parts shorter than 32 bytes)
    take the plain search.
    """
    hits = words == MAGIC
    usable = hits.size & ~7
    groups = hits[:usable].view("<u8")
    busy = np.flatnonzero(groups != 0)
    flags = groups[busy]
    if bool((flags & (flags - np.uint64(1))).any()):
        return np.flatnonzero(hits)
    # A flag at byte k is the group value 2**(8k), whose binary exponent is 8k + 1.
    found: NDArray[np.int64] = busy * 8 + ((np.frexp(flags.astype(np.float64))[1] - 1) >> 3)
    if usable < hits.size:
        found = np.concatenate([found, np.flatnonzero(hits[usable:]) + usable])
    return found


def _join_split(
    data: NDArray[np.uint8], starts: NDArray[np.int64], lengths: NDArray[np.int64]
) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.int64]]:
    """Rebuild a buffer of whole payloads from parts, joining split records."""
    buffer = data.tobytes()
    joined: list[bytes] = []
    out_starts: list[int] = []
    out_lengths: list[int] = []
    position = 0
    pending: list[bytes] = []
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        cflag = _HEADER.unpack_from(buffer, start - 8)[1] >> 29
        part = buffer[start : start + length]
        if cflag in (FLAG_START, FLAG_MIDDLE):
            pending.append(part)
            continue
        payload = MAGIC_BYTES.join([*pending, part]) if cflag == FLAG_END else part
        pending = []
        joined.append(payload)
        out_starts.append(position)
        out_lengths.append(len(payload))
        position += len(payload)
    return (
        np.frombuffer(b"".join(joined), dtype=np.uint8),
        np.asarray(out_starts, dtype=np.int64),
        np.asarray(out_lengths, dtype=np.int64),
    )


def unframe(buffer: bytes | bytearray | memoryview) -> list[bytes]:
    """The payloads of every record of an in-memory RecordIO buffer."""
    data, starts, lengths = record_spans(buffer)
    base = data.base
    raw = base if isinstance(base, bytes) and len(base) == data.size else data.tobytes()
    return [raw[s : s + n] for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)]
