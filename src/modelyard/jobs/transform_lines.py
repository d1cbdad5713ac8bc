"""Line splitting for batch transform: MultiRecord cut at newlines, or record by record.

The rules are in :mod:`modelyard.jobs.transform_records`. The fast path never looks at
single lines: a batch is cut out of the read buffer with ``rfind`` and its records
counted with ``bytes.count``; lines are split apart only for SingleRecord, an input
filter or a join.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from modelyard.jobs.transform_filters import (
    CSV,
    JSON,
    PathMismatchError,
    compile_json_path,
    render_json,
    select_csv_columns,
    select_csv_payload,
)
from modelyard.jobs.transform_plan import Batch, RecordPlan, TransformRecordError, oversize

READ_CHUNK_BYTES = 1 << 20


def _drain(stream: BinaryIO, until_newline: bool) -> int:
    """Bytes left in the stream (up to the next newline): to report an oversize record's size."""
    total = 0
    while chunk := stream.read(READ_CHUNK_BYTES):
        if until_newline and (end := chunk.find(b"\n")) >= 0:
            return total + end
        total += len(chunk)
    return total


def _oversize_line(
    plan: RecordPlan, object_name: str, record: int, head: bytes | bytearray, stream: BinaryIO
) -> TransformRecordError:
    end = head.find(b"\n")
    size = end if end >= 0 else len(head) + _drain(stream, until_newline=True)
    if head[:size].endswith(b"\r"):
        size -= 1
    return oversize(plan, object_name, record, size, "raise MaxPayloadInMB or shorten the record")


def _has_blank_line(payload: bytes) -> bool:
    return (
        payload.startswith(b"\n")
        or payload.startswith(b"\r\n")
        or b"\n\n" in payload
        or b"\n\r\n" in payload
    )


def line_batches_fast(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[Batch]:
    """MultiRecord lines: batches are cut out of the read buffer at newlines (then filtered)."""
    limit = plan.max_payload_bytes
    buffer = bytearray()
    record = 0
    end_of_stream = False
    while True:
        while len(buffer) <= limit and not end_of_stream:
            chunk = stream.read(READ_CHUNK_BYTES)
            if chunk:
                buffer += chunk
            else:
                end_of_stream = True
        if not buffer:
            return
        if end_of_stream and not buffer.endswith(b"\n"):
            buffer += b"\n"
        if end_of_stream and len(buffer) <= limit:
            cut = len(buffer)
        else:
            cut = buffer.rfind(b"\n", 0, limit) + 1
            if cut == 0:
                raise _oversize_line(plan, object_name, record, buffer, stream)
        with memoryview(buffer) as view:
            payload = bytes(view[:cut])
            # A new buffer for the rest: deleting from the front would keep the allocation.
            buffer = bytearray(view[cut:])
        if _has_blank_line(payload):
            payload = b"".join(
                line + b"\n" for line in payload.split(b"\n") if line and line != b"\r"
            )
        count = payload.count(b"\n")
        if count:
            if plan.filters_input:
                payload = _filter_payload(payload, record, count, plan, object_name)
            yield Batch(payload, (), record, count)
            record += count


def _filter_payload(
    payload: bytes, first: int, count: int, plan: RecordPlan, object_name: str
) -> bytes:
    """The input filter over a MultiRecord payload: in one pass where it can, else per line."""
    payload = payload.replace(b"\r\n", b"\n")
    if plan.input_format == CSV:
        path = compile_json_path(plan.input_filter, field="DataProcessing.InputFilter")
        selected = select_csv_payload(payload, path, count)
        if selected is not None:
            return selected
    lines = payload.split(b"\n")[:-1]
    return b"\n".join(filter_records(lines, first, plan, object_name)) + b"\n"


def _lines(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[bytes]:
    """Each record (line without terminator, empty ones dropped), read in chunks."""
    limit = plan.max_payload_bytes - (1 if plan.batch_strategy == "MultiRecord" else 0)
    partial: list[bytes] = []  # the pieces of a line that spans chunks
    partial_size = 0
    record = 0
    while chunk := stream.read(READ_CHUNK_BYTES):
        if b"\n" not in chunk:
            partial.append(chunk)
            partial_size += len(chunk)
            if partial_size > limit + 1:
                raise _oversize_line(plan, object_name, record, b"".join(partial), stream)
            continue
        pieces = chunk.split(b"\n")
        if partial:
            pieces[0] = b"".join([*partial, pieces[0]])
        last = pieces.pop()
        partial, partial_size = [last], len(last)
        for piece in pieces:
            line = piece[:-1] if piece.endswith(b"\r") else piece
            if not line:
                continue
            if len(line) > limit:
                raise _oversize_line(plan, object_name, record, line + b"\n", stream)
            yield line
            record += 1
    tail = b"".join(partial)
    line = tail[:-1] if tail.endswith(b"\r") else tail
    if len(line) > limit:
        raise _oversize_line(plan, object_name, record, line, stream)
    if line:
        yield line


def line_batches(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[Batch]:
    """Lines one by one: SingleRecord, or records that are filtered or joined."""
    single = plan.batch_strategy == "SingleRecord"
    limit = plan.max_payload_bytes
    records: list[bytes] = []
    size = 0
    first = 0
    for line in _lines(stream, plan, object_name):
        if records and (single or size + len(line) + 1 > limit):
            yield _line_batch(records, first, plan, object_name)
            first += len(records)
            records, size = [], 0
        records.append(line)
        size += len(line) + 1
    if records:
        yield _line_batch(records, first, plan, object_name)


def _line_batch(records: list[bytes], first: int, plan: RecordPlan, object_name: str) -> Batch:
    sent = filter_records(records, first, plan, object_name) if plan.filters_input else records
    single = plan.batch_strategy == "SingleRecord"
    payload = sent[0] if single else b"\n".join(sent) + b"\n"
    return Batch(payload, tuple(records) if plan.joins else (), first, len(records))


def filter_records(
    records: list[bytes], first: int, plan: RecordPlan, object_name: str
) -> list[bytes]:
    """Apply the input filter to each record (a line, or a whole JSON document)."""
    path = compile_json_path(plan.input_filter, field="DataProcessing.InputFilter")
    selected: list[bytes] = []
    index = 0
    try:
        if plan.input_format == CSV:
            return select_csv_columns(records, path)
        for index, record in enumerate(records):
            text = _text(record, first + index, object_name)
            selected.append(
                render_json(path.apply(_json(text, first + index, object_name))).encode()
            )
    except PathMismatchError as exc:
        raise TransformRecordError(
            object_name,
            first + (exc.index if exc.index is not None else index),
            f"DataProcessing.InputFilter does not apply: {exc}",
            field="DataProcessing.InputFilter",
        ) from exc
    return selected


def _text(record: bytes, index: int, object_name: str) -> str:
    try:
        return record.decode()
    except UnicodeDecodeError as exc:
        raise TransformRecordError(
            object_name, index, f"not UTF-8 text at byte {exc.start}: DataProcessing needs text"
        ) from exc


def _json(text: str, index: int, object_name: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TransformRecordError(
            object_name, index, f"not JSON ({exc}): DataProcessing needs one JSON value a record"
        ) from exc


def whole_object(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[Batch]:
    """SplitType None: the object is one request (one record), within the payload limit."""
    limit = plan.max_payload_bytes
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_CHUNK_BYTES if not limit else max(1, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if limit and size > limit:
            total = size + _drain(stream, until_newline=False)
            raise oversize(
                plan,
                object_name,
                None,
                total,
                "with SplitType=None an object is one request; set SplitType Line (or "
                "RecordIO, TFRecord) or raise MaxPayloadInMB",
            )
    data = b"".join(chunks)
    if not data:
        return
    payload = data
    if plan.filters_input:
        if plan.input_format == JSON:
            payload = filter_records([data], 0, plan, object_name)[0]
        else:
            lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
            payload = b"\n".join(filter_records([x for x in lines if x], 0, plan, object_name))
            payload += b"\n"
    yield Batch(payload, (data,) if plan.joins else (), 0, 1)
