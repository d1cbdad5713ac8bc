"""Batch transform's record handling: split, batch, filter, join and reassemble.

A transform job streams each input object (already decompressed) through
:func:`batches`, POSTs each :class:`Batch`'s payload to the model, and appends what
:meth:`OutputAssembler.assemble` returns for the answer to ``<object>.out``. Memory is
bounded by one batch: an object is read in chunks and never held whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from modelyard.errors import ValidationError

__all__ = [
    "Batch",
    "OutputAssembler",
    "RecordPlan",
    "TransformRecordError",
    "batches",
]

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

    def validate(self) -> None:
        """Raise ``ValidationError`` naming the request field at fault and how to fix it."""
        raise NotImplementedError


@dataclass(frozen=True)
class Batch:
    """One request to the model: its payload and the records it carries."""

    payload: bytes
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


def batches(stream: BinaryIO, plan: RecordPlan, *, object_name: str) -> Iterator[Batch]:
    """Streams one (already decompressed) object: memory bounded by one batch, never the object."""
    raise NotImplementedError


class OutputAssembler:
    """Turns each batch's answer into the bytes of ``<object>.out``, in input order."""

    def __init__(self, plan: RecordPlan, *, object_name: str) -> None:
        self.plan = plan
        self.object_name = object_name

    def assemble(self, batch: Batch, body: bytes, content_type: str | None) -> bytes:
        """The bytes to append to ``<object>.out`` for this batch's answer.

        Applies join and output filter, splits a multi-record answer per record when
        needed, adds Line separators. Raises ``TransformRecordError`` when the answer
        cannot be matched to the batch's records.
        """
        raise NotImplementedError

    def finish(self) -> bytes:
        """Trailing bytes of the object's output (may be ``b""``)."""
        return b""
