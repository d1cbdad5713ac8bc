"""RecordIO and TFRecord splitting for batch transform: framed records, grouped in batches.

The rules are in :mod:`modelyard.jobs.transform_records`. The object is read in big
chunks into one window and the records' headers are walked in place: a MultiRecord
payload is one slice of the window (records stay framed, so nothing is copied per
record). Records are grouped up to the payload limit; a TFRecord group's data CRCs
are checked together (:func:`modelyard.formats.tfrecord.crc32c_many`) before any of
its records is sent, and each length CRC as its header is read, before the length is
trusted.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from modelyard.formats.errors import FormatError
from modelyard.formats.recordio import MAGIC, MAGIC_BYTES
from modelyard.formats.tfrecord import (
    FOOTER_BYTES,
    HEADER_BYTES,
    check_header,
    crc32c_many,
    unmask_crc32c,
)
from modelyard.jobs.transform_plan import Batch, RecordPlan, TransformRecordError, oversize

READ_CHUNK_BYTES = 1 << 20
_RECORDIO_HEADER = struct.Struct("<II")
_CRC = struct.Struct("<I")
_LENGTH_MASK = (1 << 29) - 1

# A record in a group: (its start in the group, its framed size, its data spans, stored CRC).
_Record = tuple[int, int, list[tuple[int, int]], int]


class _Window:
    """The unsent bytes of an object, read in big chunks; ``head`` is where the group starts."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.data = bytearray()
        self.head = 0
        self.offset = 0  # the object's byte offset of ``head``

    def has(self, size: int) -> bool:
        """Whether ``size`` bytes from ``head`` are there (reading more as needed)."""
        if len(self.data) - self.head >= size:
            return True
        if self.head:
            with memoryview(self.data) as view:
                self.data = bytearray(view[self.head :])
            self.head = 0
        while len(self.data) < size:
            chunk = self._stream.read(max(READ_CHUNK_BYTES, size - len(self.data)))
            if not chunk:
                return False
            self.data += chunk
        return True

    def remaining(self) -> int:
        return len(self.data) - self.head

    def copy(self, start: int, size: int) -> bytes:
        begin = self.head + start
        if size < 4096:
            return bytes(self.data[begin : begin + size])
        with memoryview(self.data) as view:
            return bytes(view[begin : begin + size])

    def advance(self, size: int) -> None:
        self.head += size
        self.offset += size


def _framing_error(object_name: str, record: int, exc: FormatError) -> TransformRecordError:
    where = f" at byte offset {exc.offset}" if exc.offset is not None else ""
    return TransformRecordError(object_name, record, f"{exc.message}{where}")


def _check_limit(plan: RecordPlan, framed: int, data: int, object_name: str, record: int) -> None:
    size = framed if plan.batch_strategy == "MultiRecord" else data
    if size > plan.max_payload_bytes:
        raise oversize(plan, object_name, record, size, "raise MaxPayloadInMB")


def _recordio_problem(magic: int, flag: int, in_split: bool) -> str | None:
    if magic != MAGIC:
        return f"bad RecordIO magic number 0x{magic:08X} (expected 0x{MAGIC:08X})"
    if flag > 3:
        return f"bad RecordIO continuation flag {flag}"
    if in_split and flag in (0, 1):
        return f"RecordIO record part with flag {flag} inside a split record"
    if not in_split and flag in (2, 3):
        return f"RecordIO continuation part (flag {flag}) without a first part"
    return None


def _recordio_record(
    window: _Window, start: int, plan: RecordPlan, object_name: str, record: int
) -> _Record | None:
    """The record at ``start`` of the group (parts of a split record together), None at the end."""
    size = 0
    data_size = 0
    spans: list[tuple[int, int]] = []
    while True:
        position = start + size
        if not window.has(position + _RECORDIO_HEADER.size):
            left = window.remaining() - position
            if not spans and left == 0:
                return None
            problem = (
                f"truncated RecordIO header: {left} of {_RECORDIO_HEADER.size} bytes"
                if left
                else "RecordIO stream ends inside a split record (no part with flag 3)"
            )
            raise _framing_error(
                object_name, record, FormatError(problem, offset=window.offset + position)
            )
        magic, lrec = _RECORDIO_HEADER.unpack_from(window.data, window.head + position)
        flag, length = lrec >> 29, lrec & _LENGTH_MASK
        bad = _recordio_problem(magic, flag, bool(spans))
        if bad:
            raise _framing_error(
                object_name, record, FormatError(bad, offset=window.offset + position)
            )
        padded = length + (-length & 3)
        _check_limit(plan, size + 8 + padded, data_size + length, object_name, record)
        if not window.has(position + 8 + padded):
            raise _framing_error(
                object_name,
                record,
                FormatError(
                    f"truncated RecordIO record: it declares {length} bytes, only "
                    f"{window.remaining() - position - 8} remain",
                    offset=window.offset + position,
                ),
            )
        spans.append((position + 8, length))
        size += 8 + padded
        data_size += length
        if flag in (0, 3):
            return start, size, spans, 0


def _tfrecord_record(
    window: _Window, start: int, plan: RecordPlan, object_name: str, record: int
) -> _Record | None:
    if not window.has(start + HEADER_BYTES) and window.remaining() == start:
        return None
    offset = window.offset + start
    try:
        length = check_header(window.data, offset=offset, position=window.head + start)
    except FormatError as exc:
        raise _framing_error(object_name, record, exc) from exc
    size = HEADER_BYTES + length + FOOTER_BYTES
    _check_limit(plan, size, length, object_name, record)
    if not window.has(start + size):
        raise _framing_error(
            object_name,
            record,
            FormatError(
                f"truncated TFRecord record: it declares {length} bytes (+4 CRC), only "
                f"{window.remaining() - start - HEADER_BYTES} remain",
                offset=offset,
            ),
        )
    stored = _CRC.unpack_from(window.data, window.head + start + HEADER_BYTES + length)[0]
    return start, size, [(start + HEADER_BYTES, length)], stored


def framed_batches(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[Batch]:
    """Group the object's records up to the payload limit and send each group (or record)."""
    window = _Window(stream)
    read = _tfrecord_record if plan.split_type == "TFRecord" else _recordio_record
    group: list[_Record] = []
    size = 0
    first = 0
    while True:
        found = read(window, size, plan, object_name, first + len(group))
        if found is not None and (not group or size + found[1] <= plan.max_payload_bytes):
            group.append(found)
            size += found[1]
            continue
        if group:
            yield from _send(window, group, size, first, plan, object_name)
            first += len(group)
            group, size = [], 0
        if found is None:
            return
        start, framed, spans, crc = found
        group.append((0, framed, [(at - start, length) for at, length in spans], crc))
        size = framed


def _send(
    window: _Window, group: list[_Record], size: int, first: int, plan: RecordPlan, name: str
) -> Iterator[Batch]:
    """The group's batches; the window moves past the group before the first is yielded."""
    if plan.split_type == "TFRecord":
        datas = [window.copy(spans[0][0], spans[0][1]) for _, _, spans, _ in group]
        for index, (crc, item) in enumerate(zip(crc32c_many(datas), group, strict=True)):
            if crc != unmask_crc32c(item[3]):
                raise _framing_error(
                    name,
                    first + index,
                    FormatError(
                        "TFRecord data CRC does not match: the record is corrupt",
                        offset=window.offset + item[0],
                    ),
                )
    if plan.batch_strategy == "MultiRecord":
        payload = window.copy(0, size)
        window.advance(size)
        yield Batch(payload, (), first, len(group))
        return
    records = [
        MAGIC_BYTES.join(window.copy(start, length) for start, length in spans)
        for _, _, spans, _ in group
    ]
    window.advance(size)
    for index, data in enumerate(records):
        yield Batch(data, (), first + index, 1)
