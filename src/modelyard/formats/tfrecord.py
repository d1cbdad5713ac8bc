"""TFRecord framing, byte-compatible with TensorFlow's ``TFRecordWriter``, with CRC32C checks.

Each record on the wire is::

    uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)

little-endian, where ``masked_crc32c(x) = ((crc >> 15) | (crc << 17)) + 0xA282EAD8``
(mod 2**32) over the CRC-32C (Castagnoli) of ``x``. Only uncompressed framing is
handled here; a GZIP-compressed TFRecord file is a gzip stream of this framing.

CRC-32C is not in the standard library, and ``formats`` may import only NumPy, so it
is computed here, vectorised: each payload is cut into 16-byte segments, every
segment of every payload is run through the byte table at once (16 NumPy steps
for any number of segments), and the segments of a payload are folded pairwise
with precomputed "shift by 2**k zero bytes" tables. Front zero padding is free
for a CRC started at 0, and a CRC started at 0xFFFFFFFF equals one started at 0
over the payload with its first four bytes inverted; both facts keep every
payload aligned. :func:`crc32c_many` checks a whole batch of records in one
call: that is how readers should use it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from modelyard.formats.errors import FormatError

__all__ = [
    "TFRecordError",
    "TFRecordWriter",
    "crc32c",
    "crc32c_many",
    "frame_tfrecords",
    "masked_crc32c",
    "read_tfrecords",
    "unframe_tfrecords",
    "unmask_crc32c",
    "write_tfrecord",
]

HEADER_BYTES = 12
FOOTER_BYTES = 4
_POLYNOMIAL = 0x82F63B78
_MASK_DELTA = 0xA282EAD8
_SEGMENT = 16
_SHORT = 64
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


class TFRecordError(FormatError):
    """Malformed TFRecord framing: truncated record or a CRC that does not match."""


def _make_table() -> NDArray[np.uint32]:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLYNOMIAL), table >> 1)
    return table.astype(np.uint32)


_TABLE = _make_table()
_TABLE_LIST: list[int] = [int(v) for v in _TABLE]


def _slicing_tables() -> list[list[int]]:
    """Tables for eight bytes a step: ``tables[k][b]`` is byte ``b`` followed by ``k`` zeros."""
    tables = [_TABLE_LIST]
    for _ in range(7):
        previous = tables[-1]
        tables.append([(v >> 8) ^ _TABLE_LIST[v & 0xFF] for v in previous])
    return tables


_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7 = _slicing_tables()
_WORDS = struct.Struct("<II")


def _crc_python(data: bytes | bytearray | memoryview, crc: int = 0xFFFFFFFF) -> int:
    """CRC-32C eight bytes a step ("slicing-by-8"), for inputs too short for NumPy to pay off."""
    data = bytes(data)
    whole = len(data) - len(data) % 8
    for position in range(0, whole, 8):
        low, high = _WORDS.unpack_from(data, position)
        low ^= crc
        crc = (
            _T7[low & 0xFF]
            ^ _T6[(low >> 8) & 0xFF]
            ^ _T5[(low >> 16) & 0xFF]
            ^ _T4[low >> 24]
            ^ _T3[high & 0xFF]
            ^ _T2[(high >> 8) & 0xFF]
            ^ _T1[(high >> 16) & 0xFF]
            ^ _T0[high >> 24]
        )
    for byte in data[whole:]:
        crc = _T0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _zeros_operator(byte_count: int) -> list[int]:
    """The linear map "feed ``byte_count`` zero bytes" on a raw CRC register, as 32 columns."""
    columns = []
    for bit in range(32):
        register = 1 << bit
        for _ in range(byte_count):
            register = _TABLE_LIST[register & 0xFF] ^ (register >> 8)
        columns.append(register)
    return columns


def _compose(outer: list[int], inner: list[int]) -> list[int]:
    return [_apply(outer, column) for column in inner]


def _apply(columns: list[int], value: int) -> int:
    result = 0
    bit = 0
    while value:
        if value & 1:
            result ^= columns[bit]
        value >>= 1
        bit += 1
    return result


@cache
def _shift_operator(exponent: int) -> tuple[int, ...]:
    """Feeding ``_SEGMENT * 2**exponent`` zero bytes, built by squaring."""
    if exponent == 0:
        return tuple(_zeros_operator(_SEGMENT))
    half = list(_shift_operator(exponent - 1))
    return tuple(_compose(half, half))


@cache
def _shift_tables(exponent: int) -> NDArray[np.uint32]:
    """Four 256-entry tables applying :func:`_shift_operator` one byte of the register at a time."""
    columns = np.asarray(_shift_operator(exponent), dtype=np.uint32)
    values = np.arange(256, dtype=np.uint32)
    tables = np.zeros((4, 256), dtype=np.uint32)
    for byte in range(4):
        for bit in range(8):
            tables[byte] ^= np.where((values >> bit) & 1, columns[8 * byte + bit], 0).astype(
                np.uint32
            )
    return tables


def _shift(values: NDArray[np.uint32], exponent: int) -> NDArray[np.uint32]:
    tables = _shift_tables(exponent)
    shifted: NDArray[np.uint32] = (
        tables[0][values & 0xFF]
        ^ tables[1][(values >> 8) & 0xFF]
        ^ tables[2][(values >> 16) & 0xFF]
        ^ tables[3][values >> 24]
    )
    return shifted


def crc32c_many(payloads: Sequence[bytes | bytearray | memoryview]) -> list[int]:
    """The CRC-32C of each payload, computed together (one NumPy pass for the whole batch)."""
    results = [0] * len(payloads)
    long_ones: list[int] = []
    for index, payload in enumerate(payloads):
        if len(payload) < _SHORT:
            results[index] = _crc_python(payload)
        else:
            long_ones.append(index)
    if not long_ones:
        return results
    # Each payload gets a power-of-two number of segments, largest first, so that the pairwise
    # fold never mixes two payloads' segments.
    order = sorted(long_ones, key=lambda i: len(payloads[i]), reverse=True)
    sizes = [1 << max(0, (-(-len(payloads[i]) // _SEGMENT) - 1).bit_length()) for i in order]
    parts: list[bytes | bytearray | memoryview] = []
    for index, segments in zip(order, sizes, strict=True):
        parts += [bytes(segments * _SEGMENT - len(payloads[index])), payloads[index]]
    data = np.frombuffer(b"".join(parts), dtype=np.uint8).copy()
    starts = np.cumsum([0, *sizes[:-1]], dtype=np.int64)
    first_bytes = (starts * _SEGMENT)[:, None] + (
        np.asarray([s * _SEGMENT - len(payloads[i]) for i, s in zip(order, sizes, strict=True)])[
            :, None
        ]
        + np.arange(4)
    )
    data[first_bytes.ravel()] ^= 0xFF
    columns = np.ascontiguousarray(data.reshape(-1, _SEGMENT).T)
    raw = np.zeros(columns.shape[1], dtype=np.uint32)
    for column in columns:
        raw = _TABLE[(raw & 0xFF).astype(np.uint8) ^ column] ^ (raw >> 8)
    levels = [raw]
    exponent = 0
    while levels[-1].size > 1:
        level = levels[-1]
        if level.size % 2:
            level = np.append(level, np.uint32(0))
        levels.append(_shift(level[0::2], exponent) ^ level[1::2])
        exponent += 1
    for index, start, segments in zip(order, starts.tolist(), sizes, strict=True):
        depth = segments.bit_length() - 1
        results[index] = int(levels[depth][start >> depth]) ^ 0xFFFFFFFF
    return results


def crc32c(payload: bytes | bytearray | memoryview) -> int:
    """The CRC-32C (Castagnoli) of ``payload``, as iSCSI, ext4 and TFRecord use it."""
    return crc32c_many([payload])[0]


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(payload: bytes | bytearray | memoryview) -> int:
    """TFRecord's masked CRC: a CRC stored beside the data it covers would otherwise be weak."""
    return _mask(crc32c(payload))


def unmask_crc32c(masked: int) -> int:
    """The plain CRC-32C behind a masked one."""
    rotated = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


def length_header(length: int) -> bytes:
    """The 12-byte header of a record of ``length`` bytes."""
    encoded = _LENGTH.pack(length)
    return encoded + _CRC.pack(_mask(_crc_python(encoded)))


def check_header(header: bytes | bytearray, *, offset: int, position: int = 0) -> int:
    """The data length the 12-byte header at ``position`` declares, after checking its CRC."""
    available = len(header) - position
    if available < HEADER_BYTES:
        raise TFRecordError(
            f"truncated TFRecord header: {available} of {HEADER_BYTES} bytes", offset=offset
        )
    expected = _CRC.unpack_from(header, position + 8)[0]
    if _mask(_crc_python(header[position : position + 8])) != expected:
        raise TFRecordError(
            "TFRecord length CRC does not match: the file is corrupt or not TFRecord",
            offset=offset,
            field="length_crc",
        )
    length: int = _LENGTH.unpack_from(header, position)[0]
    return length


def check_data_crcs(
    payloads: Sequence[bytes | bytearray | memoryview],
    stored: Sequence[int],
    offsets: Sequence[int],
) -> None:
    """Check each payload against its stored masked CRC; raise naming the first mismatch."""
    for crc, expected, offset in zip(crc32c_many(payloads), stored, offsets, strict=True):
        if _mask(crc) != expected:
            raise TFRecordError(
                "TFRecord data CRC does not match: the record is corrupt",
                offset=offset,
                field="data_crc",
            )


def frame_tfrecords(payloads: Iterable[bytes | bytearray | memoryview]) -> bytes:
    """All ``payloads`` framed as TFRecord, in one buffer."""
    items = list(payloads)
    parts: list[bytes | bytearray | memoryview] = []
    for payload, crc in zip(items, crc32c_many(items), strict=True):
        parts += [length_header(len(payload)), payload, _CRC.pack(_mask(crc))]
    return b"".join(parts)


def write_tfrecord(stream: BinaryIO, payload: bytes | bytearray | memoryview) -> int:
    """Write one framed record; return the number of bytes written."""
    framed = frame_tfrecords([payload])
    stream.write(framed)
    return len(framed)


class TFRecordWriter:
    """A streaming TFRecord writer over a binary file object (``tf.io.TFRecordWriter``'s bytes)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.records_written = 0
        self.bytes_written = 0

    def write(self, payload: bytes | bytearray | memoryview) -> None:
        self.bytes_written += write_tfrecord(self._stream, payload)
        self.records_written += 1

    def flush(self) -> None:
        self._stream.flush()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.flush()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes, fewer only at end of stream (tolerates short reads of pipes)."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        chunks.append(bytes(more))
        got += len(more)
    return b"".join(chunks)


def read_tfrecords(stream: BinaryIO, *, verify: bool = True, batch: int = 256) -> Iterator[bytes]:
    """Yield the data of each record of a TFRecord stream, checking both CRCs.

    Memory stays bounded by ``batch`` records: data CRCs are checked ``batch``
    records at a time (vectorised), before any of them is yielded.
    """
    offset = 0
    pending: list[bytes] = []
    stored: list[int] = []
    offsets: list[int] = []
    while True:
        header = _read_exact(stream, HEADER_BYTES)
        if header:
            length = check_header(header, offset=offset)
            body = _read_exact(stream, length + FOOTER_BYTES)
            if len(body) < length + FOOTER_BYTES:
                raise TFRecordError(
                    f"truncated TFRecord record: it declares {length} bytes"
                    f" (+{FOOTER_BYTES} CRC), only {len(body)} remain",
                    offset=offset,
                )
            pending.append(body[:length])
            stored.append(_CRC.unpack_from(body, length)[0])
            offsets.append(offset)
            offset += HEADER_BYTES + length + FOOTER_BYTES
        if pending and (not header or len(pending) >= batch):
            if verify:
                check_data_crcs(pending, stored, offsets)
            yield from pending
            pending, stored, offsets = [], [], []
        if not header:
            return


def unframe_tfrecords(buffer: bytes | bytearray | memoryview) -> list[bytes]:
    """The data of every record of an in-memory TFRecord buffer."""
    view = memoryview(buffer).cast("B")
    payloads: list[bytes] = []
    stored: list[int] = []
    offsets: list[int] = []
    offset = 0
    while offset < len(view):
        length = check_header(bytes(view[offset : offset + HEADER_BYTES]), offset=offset)
        end = offset + HEADER_BYTES + length + FOOTER_BYTES
        if end > len(view):
            raise TFRecordError(
                f"truncated TFRecord record: it declares {length} bytes"
                f" (+{FOOTER_BYTES} CRC), only {len(view) - offset - HEADER_BYTES} remain",
                offset=offset,
            )
        payloads.append(bytes(view[offset + HEADER_BYTES : end - FOOTER_BYTES]))
        stored.append(_CRC.unpack_from(view, end - FOOTER_BYTES)[0])
        offsets.append(offset)
        offset = end
    check_data_crcs(payloads, stored, offsets)
    return payloads
