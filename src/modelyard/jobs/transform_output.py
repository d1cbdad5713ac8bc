"""A batch's answer cut per record, joined with its inputs, output-filtered and written.

Used by :class:`modelyard.jobs.transform_records.OutputAssembler` when the plan joins
or has an output filter; the rules are in that module's docstring.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from modelyard.jobs.transform_filters import (
    CSV,
    JSON,
    PathMismatchError,
    compile_json_path,
    csv_row_to_json,
    join_record,
    json_to_csv_row,
    parse_csv_lines,
    record_format,
    render_json,
    select_csv_columns,
)
from modelyard.jobs.transform_plan import Batch, RecordPlan, TransformRecordError

_UNSET = object()


class AnswerMismatchError(ValueError):
    """An answer that cannot be cut into the batch's records."""


def _answer_lines(text: str) -> list[str]:
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _sole_list(value: Any) -> list[Any] | None:
    """The items of an array answer, or of an object holding one array (``{"predictions": []}``)."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        if isinstance(inner, list):
            return inner
    return None


def split_answer(
    text: str, answer_format: str, expected: int | None, *, multi: bool
) -> tuple[list[Any], bool]:
    """The answer's per-record values (CSV rows or JSON values) and whether it was an array.

    ``expected`` is the record count the answer must split into (None: any count);
    ``multi`` says whether the batch carries several records in one request, so that
    a JSON array answer is one item per record rather than one record's value.
    """
    if answer_format == JSON:
        try:
            whole = json.loads(text)
        except ValueError:
            whole = _UNSET
        if whole is not _UNSET:
            # Without a join nothing says how many items to expect: only a bare array is cut.
            if not multi:
                items = None
            elif expected is None:
                items = whole if isinstance(whole, list) else None
            else:
                items = _sole_list(whole)
            if items is not None and (expected is None or len(items) == expected):
                return items, True
            if expected in (None, 1):
                return [whole], False
    lines = _answer_lines(text)
    if expected is not None and len(lines) != expected:
        raise AnswerMismatchError(f"{len(lines)} line(s)")
    if answer_format == CSV:
        return parse_csv_lines(lines), False
    values = []
    for number, line in enumerate(lines):
        try:
            values.append(json.loads(line))
        except ValueError as exc:
            raise AnswerMismatchError(f"line {number} is not JSON ({exc})") from exc
    return values, False


class AnswerShaper:
    """Joins and output-filters the answers of one object's batches."""

    def __init__(self, plan: RecordPlan, object_name: str) -> None:
        self.plan = plan
        self.object_name = object_name
        self.path = compile_json_path(plan.output_filter, field="DataProcessing.OutputFilter")
        self.input_format = plan.input_format

    def _units(self, batch: Batch) -> Sequence[bytes]:
        """The input records an answer answers: lines, unless the input is one JSON document."""
        if self.plan.split_type == "Line" or not batch.inputs:
            return batch.inputs
        if self.input_format == JSON:
            return [batch.inputs[0]]
        lines = (line.rstrip(b"\r") for line in batch.inputs[0].split(b"\n"))
        return [line for line in lines if line]

    def _fail(self, record: int, problem: str, field: str | None = None) -> TransformRecordError:
        return TransformRecordError(self.object_name, record, problem, field=field)

    def assemble(self, batch: Batch, body: bytes, content_type: str | None) -> bytes:
        plan = self.plan
        answer_format = (
            record_format(content_type) or record_format(plan.accept) or self.input_format or CSV
        )
        units = self._units(batch) if plan.joins else []
        multi = len(units) > 1 or (
            plan.batch_strategy == "MultiRecord" and plan.split_type == "Line"
        )
        expected = (len(units) if multi else 1) if plan.joins else None
        if answer_format == CSV and (not plan.joins or self.input_format == CSV):
            return self._csv_lines(units if plan.joins else None, body, batch, expected)
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            raise self._fail(
                batch.first_record,
                f"the answer is not UTF-8 text (byte {exc.start}); DataProcessing needs CSV or "
                "JSON answers",
            ) from exc
        try:
            outputs, as_array = split_answer(text, answer_format, expected, multi=multi)
        except AnswerMismatchError as exc:
            raise self._mismatch(batch, answer_format, str(exc), expected) from exc
        if plan.joins:
            render_format = CSV if self.input_format == CSV else JSON
            values: Iterator[Any] = (
                self._joined(unit, output, answer_format, batch, index)
                for index, (unit, output) in enumerate(zip(units, outputs, strict=True))
            )
        else:
            render_format = CSV if answer_format == CSV else JSON
            values = iter(outputs)
        rendered = self._render(values, render_format, batch)
        if plan.assemble_with == "Line":
            return rendered.encode()
        if as_array and render_format == JSON:
            return ("[" + ",".join(rendered.split("\n")[:-1]) + "]").encode()
        if not body.endswith(b"\n"):
            rendered = rendered[:-1]
        return rendered.encode()

    def _mismatch(
        self, batch: Batch, answer_format: str, found: str, expected: int | None
    ) -> TransformRecordError:
        last = batch.first_record + batch.count - 1
        sent = f" (records {batch.first_record}-{last})" if last > batch.first_record else ""
        return self._fail(
            batch.first_record,
            f"the model's answer ({answer_format}: {found}) does not split into the "
            f"{expected or batch.count} record(s) sent{sent}: with JoinSource=Input the "
            "answer must hold one line per record (CSV, JSON Lines) or a JSON array of "
            "one item per record",
        )

    def _csv_lines(
        self, units: Sequence[bytes] | None, body: bytes, batch: Batch, expected: int | None
    ) -> bytes:
        """CSV answers, joined to CSV input by appending columns, as bytes (no parsing needed)."""
        outputs = body.split(b"\n")
        if outputs[-1] == b"":
            outputs.pop()
        if b"\r" in body:
            outputs = [line[:-1] if line.endswith(b"\r") else line for line in outputs]
        if expected is not None and len(outputs) != expected:
            raise self._mismatch(batch, CSV, f"{len(outputs)} line(s)", expected)
        lines = outputs
        if units is not None:
            lines = [unit + b"," + output for unit, output in zip(units, outputs, strict=True)]
        try:
            lines = select_csv_columns(lines, self.path)
        except PathMismatchError as exc:
            raise self._fail(
                self._record(batch, exc.index or 0),
                f"DataProcessing.OutputFilter does not apply: {exc}",
                field="DataProcessing.OutputFilter",
            ) from exc
        if not lines:
            return b""
        if self.plan.assemble_with == "Line" or body.endswith(b"\n"):
            lines.append(b"")
        return b"\n".join(lines)

    def _record(self, batch: Batch, index: int) -> int:
        return batch.first_record + (index if self.plan.split_type == "Line" else 0)

    def _joined(
        self, unit: bytes, output: Any, answer_format: str, batch: Batch, index: int
    ) -> Any:
        record = self._record(batch, index)
        try:
            text = unit.decode()
        except UnicodeDecodeError as exc:
            raise self._fail(record, f"not UTF-8 text at byte {exc.start}") from exc
        if self.input_format == CSV:
            row = parse_csv_lines([text])[0]
            return row + (output if answer_format == CSV else json_to_csv_row(output))
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise self._fail(record, f"not JSON ({exc}): JoinSource=Input needs JSON") from exc
        return join_record(value, csv_row_to_json(output) if answer_format == CSV else output)

    def _render(self, values: Iterator[Any], render_format: str, batch: Batch) -> str:
        """Each record output-filtered and written, one a line (every line ends in newline)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for index, value in enumerate(values):
            try:
                if render_format == CSV:
                    writer.writerow(self.path.apply_row(value))
                else:
                    buffer.write(render_json(self.path.apply(value)))
                    buffer.write("\n")
            except PathMismatchError as exc:
                raise self._fail(
                    self._record(batch, index),
                    f"DataProcessing.OutputFilter does not apply: {exc}",
                    field="DataProcessing.OutputFilter",
                ) from exc
        return buffer.getvalue()
