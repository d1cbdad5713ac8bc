"""RecordIO and TFRecord splitting for batch transform: framed records, grouped in batches.

The rules are in :mod:`modelyard.jobs.transform_records`. Records are read through one
chunked reader (per-record reads of a raw or gzip stream would be slow); TFRecord
data CRCs are checked a batch at a time (:func:`modelyard.formats.tfrecord.crc32c_many`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from modelyard.formats.errors import FormatError
from modelyard.formats.recordio import MAGIC, MAGIC_BYTES
from modelyard.formats.tfrecord import FOOTER_BYTES, HEADER_BYTES, check_data_crcs, check_header
from modelyard.jobs.transform_plan import Batch, RecordPlan, TransformRecordError, oversize

READ_CHUNK_BYTES = 1 << 20
_RECORDIO_HEADER = 8


@dataclass(frozen=True)
class _Framed:
    framed: bytes
    data: bytes
    offset: int
    crc: int = 0


class _Reader:
    """Exact reads over big chunks (per-record reads of a raw stream would be slow)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._buffer = bytearray()
        self._position = 0
        self.offset = 0

    def read(self, size: int) -> bytes:
        while len(self._buffer) - self._position < size:
            chunk = self._stream.read(max(READ_CHUNK_BYTES, size))
            if not chunk:
                break
            del self._buffer[: self._position]
            self._position = 0
            self._buffer += chunk
        end = min(self._position + size, len(self._buffer))
        data = bytes(self._buffer[self._position : end])
        self._position = end
        self.offset += len(data)
        return data


def _framing_error(object_name: str, record: int, exc: FormatError) -> TransformRecordError:
    where = f" at byte offset {exc.offset}" if exc.offset is not None else ""
    return TransformRecordError(object_name, record, f"{exc.message}{where}")


def _record_limit(plan: RecordPlan, framed: int, data: int, object_name: str, record: int) -> None:
    size = framed if plan.batch_strategy == "MultiRecord" else data
    if size > plan.max_payload_bytes:
        raise oversize(plan, object_name, record, size, "raise MaxPayloadInMB")


def recordio_records(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[_Framed]:
    reader = _Reader(stream)
    record = 0
    while True:
        start = reader.offset
        framed: list[bytes] = []
        parts: list[bytes] = []
        while True:
            offset = reader.offset
            header = reader.read(_RECORDIO_HEADER)
            if not header and not framed:
                return
            problem = _recordio_problem(header, bool(parts))
            if problem:
                raise _framing_error(object_name, record, FormatError(problem, offset=offset))
            lrec = int.from_bytes(header[4:8], "little")
            flag, length = lrec >> 29, lrec & ((1 << 29) - 1)
            padded = length + (-length & 3)
            _record_limit(
                plan,
                reader.offset - start + padded,
                sum(map(len, parts)) + length,
                object_name,
                record,
            )
            body = reader.read(padded)
            if len(body) < padded:
                raise _framing_error(
                    object_name,
                    record,
                    FormatError(
                        f"truncated RecordIO record: it declares {length} bytes, "
                        f"only {len(body)} remain",
                        offset=offset,
                    ),
                )
            framed += [header, body]
            parts.append(body[:length])
            if flag in (0, 3):
                break
        yield _Framed(b"".join(framed), MAGIC_BYTES.join(parts), start)
        record += 1


def _recordio_problem(header: bytes, in_split: bool) -> str | None:
    if not header:
        return "RecordIO stream ends inside a split record (no part with flag 3)"
    if len(header) < _RECORDIO_HEADER:
        return f"truncated RecordIO header: {len(header)} of {_RECORDIO_HEADER} bytes"
    magic = int.from_bytes(header[:4], "little")
    if magic != MAGIC:
        return f"bad RecordIO magic number 0x{magic:08X} (expected 0x{MAGIC:08X})"
    flag = header[7] >> 5
    if flag > 3:
        return f"bad RecordIO continuation flag {flag}"
    if in_split and flag in (0, 1):
        return f"RecordIO record part with flag {flag} inside a split record"
    if not in_split and flag in (2, 3):
        return f"RecordIO continuation part (flag {flag}) without a first part"
    return None


def tfrecord_records(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[_Framed]:
    reader = _Reader(stream)
    record = 0
    while header := reader.read(HEADER_BYTES):
        offset = reader.offset - len(header)
        try:
            length = check_header(header, offset=offset)
        except FormatError as exc:
            raise _framing_error(object_name, record, exc) from exc
        _record_limit(plan, HEADER_BYTES + length + FOOTER_BYTES, length, object_name, record)
        body = reader.read(length + FOOTER_BYTES)
        if len(body) < length + FOOTER_BYTES:
            raise _framing_error(
                object_name,
                record,
                FormatError(
                    f"truncated TFRecord record: it declares {length} bytes (+4 CRC), "
                    f"only {len(body)} remain",
                    offset=offset,
                ),
            )
        crc = int.from_bytes(body[length:], "little")
        yield _Framed(header + body, body[:length], offset, crc)
        record += 1


def framed_batches(
    records: Iterator[_Framed], plan: RecordPlan, object_name: str
) -> Iterator[Batch]:
    """Group framed records under the payload limit; TFRecord data CRCs checked per batch."""
    single = plan.batch_strategy == "SingleRecord"
    group: list[_Framed] = []
    size = 0
    first = 0
    for item in records:
        if group and (single or size + len(item.framed) > plan.max_payload_bytes):
            yield _framed_batch(group, first, plan, object_name)
            first += len(group)
            group, size = [], 0
        group.append(item)
        size += len(item.framed)
    if group:
        yield _framed_batch(group, first, plan, object_name)


def _framed_batch(group: list[_Framed], first: int, plan: RecordPlan, object_name: str) -> Batch:
    if plan.split_type == "TFRecord":
        offsets = [item.offset for item in group]
        try:
            check_data_crcs([item.data for item in group], [item.crc for item in group], offsets)
        except FormatError as exc:
            record = first + offsets.index(exc.offset) if exc.offset in offsets else first
            raise _framing_error(object_name, record, exc) from exc
    if plan.batch_strategy == "SingleRecord":
        payload = group[0].data
    else:
        payload = b"".join(item.framed for item in group)
    return Batch(payload, tuple(i.data for i in group) if plan.joins else (), first, len(group))
