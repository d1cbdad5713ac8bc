"""Line splitting for batch transform: MultiRecord cut at newlines, or record by record.

The rules are in :mod:`modelyard.jobs.transform_records`. The fast path never looks at
single lines: a batch is cut out of the read buffer with ``rfind`` and its records
counted with ``bytes.count``; lines are split apart only for SingleRecord, an input
filter or a join.
"""

from __future__ import annotations

import json
import re
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


#: A blank line inside a payload; one at its start is checked apart (see ``_has_blank_line``).
_BLANK_LINE = re.compile(rb"\n\n")
_BLANK_LINE_CRLF = re.compile(rb"\n\r?\n")


def _has_blank_line(payload: bytes | bytearray) -> bool:
    """One pass over the payload (the regular expression engine looks for each newline in C).

    The payload starts at a line start (batches are cut after a newline), so a blank line
    is one at the start or an empty line after a newline, ``\\n`` or ``\\r\\n``. Without
    any ``\\r`` (a ``memchr`` away) the cheaper pattern does.
    """
    if payload.startswith((b"\n", b"\r\n")):
        return True
    pattern = _BLANK_LINE_CRLF if b"\r" in payload else _BLANK_LINE
    return pattern.search(payload) is not None


def _fill(stream: BinaryIO, buffer: bytearray, start: int) -> int:
    """Read into ``buffer`` from ``start`` until it is full or the stream ends; the bytes read."""
    readinto = getattr(stream, "readinto", None)
    filled = start
    with memoryview(buffer) as view:
        while filled < len(view):
            if readinto is not None:
                size = readinto(view[filled:])
            else:
                chunk = stream.read(min(len(view) - filled, READ_CHUNK_BYTES))
                size = len(chunk)
                view[filled : filled + size] = chunk
            if not size:
                break
            filled += size
    return filled - start


def line_batches_fast(stream: BinaryIO, plan: RecordPlan, object_name: str) -> Iterator[Batch]:
    """MultiRecord lines: batches are cut at newlines (then filtered).

    Each batch is read straight into a buffer of its own, one byte over the limit (to
    know whether the batch may end there), and becomes the payload once cut after its
    last newline: the bytes are copied only by the read, but for the part line past the
    cut, which starts the next buffer. An object's first read is of one chunk, so that a
    small object does not cost a whole batch's buffer.
    """
    limit = plan.max_payload_bytes
    window = min(limit + 1, READ_CHUNK_BYTES)
    carry = b""
    record = 0
    ended = False
    while True:
        if ended:
            buffer = bytearray(carry)
        else:
            buffer = bytearray(window)
            buffer[: len(carry)] = carry
            filled = len(carry) + _fill(stream, buffer, len(carry))
            if filled == window <= limit:  # a large object: whole batches from now on
                window = limit + 1
                buffer += bytes(window - filled)
                filled += _fill(stream, buffer, filled)
            ended = filled < len(buffer)
            if ended:
                del buffer[filled:]
                if buffer and not buffer.endswith(b"\n"):
                    buffer += b"\n"
        if len(buffer) <= limit:
            carry = b""
        else:
            cut = buffer.rfind(b"\n", 0, limit) + 1
            if cut == 0:
                raise _oversize_line(plan, object_name, record, buffer, stream)
            carry = bytes(buffer[cut:])
            del buffer[cut:]
        payload: bytes | bytearray = buffer
        if _has_blank_line(payload):
            payload = b"".join(
                line + b"\n" for line in payload.split(b"\n") if line and line != b"\r"
            )
        count = payload.count(b"\n")
        if count:
            if plan.filters_input:
                payload = _filter_payload(bytes(payload), record, count, plan, object_name)
            yield Batch(payload, (), record, count)
            record += count
        if ended and not carry:
            return


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
