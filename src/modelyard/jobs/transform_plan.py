"""A transform job's record plan (from the request), its batches, and its record errors.

The rules the plan stands for are in :mod:`modelyard.jobs.transform_records`, which
re-exports everything here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelyard.errors import ValidationError
from modelyard.jobs.transform_filters import CSV, compile_json_path, record_format

SPLIT_TYPES = ("None", "Line", "RecordIO", "TFRecord")
BATCH_STRATEGIES = ("MultiRecord", "SingleRecord")
ASSEMBLY_TYPES = ("None", "Line")
JOIN_SOURCES = ("None", "Input")
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB = 100


@dataclass(frozen=True)
class RecordPlan:
    """How one transform job cuts, batches and reassembles records (from the request)."""

    split_type: str = "None"
    batch_strategy: str = "MultiRecord"
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_MB * 2**20
    content_type: str | None = None
    accept: str | None = None
    assemble_with: str = "None"
    input_filter: str = "$"
    output_filter: str = "$"
    join_source: str = "None"

    @classmethod
    def from_request(cls, request: Mapping[str, Any]) -> RecordPlan:
        """The plan of a CreateTransformJob request (SageMaker's defaults for absent fields)."""
        transform_input = request.get("TransformInput") or {}
        transform_output = request.get("TransformOutput") or {}
        processing = request.get("DataProcessing") or {}
        max_payload_mb = request.get("MaxPayloadInMB")
        return cls(
            split_type=transform_input.get("SplitType") or "None",
            batch_strategy=request.get("BatchStrategy") or "MultiRecord",
            max_payload_bytes=(
                DEFAULT_MAX_PAYLOAD_MB if max_payload_mb is None else int(max_payload_mb)
            )
            * 2**20,
            content_type=transform_input.get("ContentType") or None,
            accept=transform_output.get("Accept") or None,
            assemble_with=transform_output.get("AssembleWith") or "None",
            input_filter=processing.get("InputFilter") or "$",
            output_filter=processing.get("OutputFilter") or "$",
            join_source=processing.get("JoinSource") or "None",
        )

    @property
    def joins(self) -> bool:
        return self.join_source == "Input"

    @property
    def filters_input(self) -> bool:
        return self.input_filter.strip() != "$"

    @property
    def processes_output(self) -> bool:
        """Whether answers are split per record (a join or an output filter)."""
        return self.joins or self.output_filter.strip() != "$"

    @property
    def input_format(self) -> str | None:
        return record_format(self.content_type)

    @property
    def limit_text(self) -> str:
        """``MaxPayloadInMB=6`` (or the bytes, for a limit that is not whole megabytes)."""
        megabytes, rest = divmod(self.max_payload_bytes, 2**20)
        if rest:
            return f"the payload limit of {self.max_payload_bytes} bytes"
        return f"MaxPayloadInMB={megabytes}"

    def validate(self) -> None:
        """Raise ``ValidationError`` naming the request field at fault and how to fix it."""
        _one_of(self.split_type, SPLIT_TYPES, "TransformInput.SplitType")
        _one_of(self.batch_strategy, BATCH_STRATEGIES, "BatchStrategy")
        _one_of(self.assemble_with, ASSEMBLY_TYPES, "TransformOutput.AssembleWith")
        _one_of(self.join_source, JOIN_SOURCES, "DataProcessing.JoinSource")
        if not 0 <= self.max_payload_bytes <= MAX_PAYLOAD_MB * 2**20:
            raise ValidationError(
                f"{self.limit_text} is outside 0-{MAX_PAYLOAD_MB} MB",
                field="MaxPayloadInMB",
            )
        if self.max_payload_bytes == 0 and self.split_type != "None":
            raise ValidationError(
                "MaxPayloadInMB=0 (no limit) works only with TransformInput.SplitType=None: "
                "give a limit (default 6) to split records into batches",
                field="MaxPayloadInMB",
            )
        source = compile_json_path(self.input_filter, field="DataProcessing.InputFilter")
        output = compile_json_path(self.output_filter, field="DataProcessing.OutputFilter")
        if not (self.filters_input or self.processes_output):
            return
        if self.input_format is None:
            raise ValidationError(
                f"DataProcessing works on CSV and JSON records only: set TransformInput."
                f"ContentType to text/csv, application/json or application/jsonlines "
                f"(got {self.content_type!r})",
                field="TransformInput.ContentType",
            )
        if self.split_type not in ("None", "Line"):
            raise ValidationError(
                f"DataProcessing works on CSV and JSON records: TransformInput.SplitType "
                f"must be Line or None, not {self.split_type}",
                field="TransformInput.SplitType",
            )
        csv_hint = "a CSV row takes index paths only, such as $[0], $[1:] or $[0,-1]"
        if self.input_format == CSV and not source.index_only:
            raise ValidationError(
                f"DataProcessing.InputFilter {self.input_filter!r}: {csv_hint}",
                field="DataProcessing.InputFilter",
            )
        output_format = self.input_format if self.joins else record_format(self.accept)
        if output_format == CSV and not output.index_only:
            raise ValidationError(
                f"DataProcessing.OutputFilter {self.output_filter!r}: {csv_hint}",
                field="DataProcessing.OutputFilter",
            )


def _one_of(value: str, allowed: tuple[str, ...], field: str) -> None:
    if value not in allowed:
        raise ValidationError(f"{field}={value!r} is not one of {', '.join(allowed)}", field=field)


@dataclass(frozen=True)
class Batch:
    """One request to the model: its payload and the records it carries.

    ``inputs`` holds the records as read (unfiltered, without terminators or framing)
    only when the plan joins (``JoinSource=Input``); otherwise it is ``()``, since
    cutting a payload into records is work the hot path avoids. A MultiRecord payload of
    lines is the ``bytearray`` it was read into (not copied again); nothing changes it.
    """

    payload: bytes | bytearray
    inputs: tuple[bytes, ...]
    first_record: int
    count: int


class TransformRecordError(ValidationError):
    """A record (or an answer for records) that the job cannot process: fails the job.

    The message names the object and the 0-based record number, e.g.
    ``data/part-1.csv record 17: 7340032 bytes is over MaxPayloadInMB=6``.
    """

    def __init__(
        self, object_name: str, record: int | None, problem: str, *, field: str | None = None
    ) -> None:
        where = object_name if record is None else f"{object_name} record {record}"
        super().__init__(f"{where}: {problem}", field=field)
        self.object_name = object_name
        self.record = record


def oversize(
    plan: RecordPlan, object_name: str, record: int | None, size: int, fix: str
) -> TransformRecordError:
    """The error for a record (or an object) larger than the payload limit."""
    return TransformRecordError(
        object_name,
        record,
        f"{size} bytes is over {plan.limit_text}: {fix}",
        field="MaxPayloadInMB",
    )
