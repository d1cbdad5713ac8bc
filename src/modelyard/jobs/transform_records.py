"""Batch transform's record handling: split, batch, filter, join and reassemble.

A transform job streams each input object (already decompressed) through
:func:`batches`, POSTs each :class:`Batch`'s payload to the model, and appends what
:meth:`OutputAssembler.assemble` returns for the answer to ``<object>.out``. Memory is
bounded by one batch: an object is read in chunks and never held whole.

Splitting, as SageMaker documents it, and where it is silent, as decided here:

- ``None``: the object is one request, whatever ``BatchStrategy`` says (SageMaker
  accepts ``SingleRecord`` here: its own image-classification example asks for it).
  Over ``MaxPayloadInMB`` it fails the job (``MaxPayloadInMB=0`` lifts the limit: the
  object is then read whole). An empty object makes no request and an empty output.
- ``Line``: a record is a line. ``\\n`` and ``\\r\\n`` both end a line; the last line
  needs no terminator; empty lines are not records (they are dropped, and not
  counted in record numbers). A MultiRecord payload is its lines as read, each
  ending in its terminator (``\\n`` added to a last line without one), cut at a line
  boundary so that it stays within ``MaxPayloadInMB``; a SingleRecord payload is
  the line without its terminator. Without a join, MultiRecord lines are never split
  apart: a batch is cut out of the read buffer with ``rfind`` (and an input filter
  ``$[k:]`` on CSV is one regular-expression pass over it).
- ``RecordIO`` (MXNet framing) and ``TFRecord``: a MultiRecord payload is the
  records still framed, concatenated; a SingleRecord payload is the record's data
  alone ("padding is removed", in SageMaker's words). A RecordIO record split in
  parts (dmlc's continuation flags) is one record. TFRecord CRCs are checked.

``MaxPayloadInMB`` is measured on records as read (before an input filter), framed
for MultiRecord. Record numbers are 0-based within their object.

Data processing (``DataProcessing``, CSV and JSON only, see
:mod:`modelyard.jobs.transform_filters`): the input filter is applied to each record
before it is sent. With a join or an output filter the answer is split per record:
one line per record for CSV / JSON Lines; an answer in ``application/json`` to a
MultiRecord batch may also be a JSON array of one item per record (when joining, also
an object holding one such array, as ``{"predictions": [...]}``). A join that cannot
pair every record with its answer fails the job naming the records sent. The
processed records are written one a line. With
``AssembleWith=Line`` every record, or without data processing every answer, ends
with a newline (added only where the answer lacks one); with ``None`` answers are
concatenated as they are, and processed records keep the answer's shape (lines, or
one JSON array per answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from modelyard.jobs.transform_framing import framed_batches
from modelyard.jobs.transform_lines import line_batches, line_batches_fast, whole_object
from modelyard.jobs.transform_output import AnswerShaper
from modelyard.jobs.transform_plan import (
    ASSEMBLY_TYPES,
    BATCH_STRATEGIES,
    DEFAULT_MAX_PAYLOAD_MB,
    JOIN_SOURCES,
    MAX_PAYLOAD_MB,
    SPLIT_TYPES,
    Batch,
    RecordPlan,
    TransformRecordError,
)

__all__ = [
    "ASSEMBLY_TYPES",
    "BATCH_STRATEGIES",
    "DEFAULT_MAX_PAYLOAD_MB",
    "JOIN_SOURCES",
    "MAX_PAYLOAD_MB",
    "SPLIT_TYPES",
    "Batch",
    "OutputAssembler",
    "RecordPlan",
    "TransformRecordError",
    "batches",
]


def batches(stream: BinaryIO, plan: RecordPlan, *, object_name: str) -> Iterator[Batch]:
    """Streams one (already decompressed) object: memory bounded by one batch, never the object."""
    if plan.split_type == "Line":
        if plan.batch_strategy == "MultiRecord" and not plan.joins:
            return line_batches_fast(stream, plan, object_name)
        return line_batches(stream, plan, object_name)
    if plan.split_type in ("RecordIO", "TFRecord"):
        return framed_batches(stream, plan, object_name)
    return whole_object(stream, plan, object_name)


class OutputAssembler:
    """Turns each batch's answer into the bytes of ``<object>.out``, in input order."""

    def __init__(self, plan: RecordPlan, *, object_name: str) -> None:
        self.plan = plan
        self.object_name = object_name
        self._shaper = AnswerShaper(plan, object_name) if plan.processes_output else None

    def assemble(self, batch: Batch, body: bytes, content_type: str | None) -> bytes:
        """The bytes to append to ``<object>.out`` for this batch's answer.

        Applies join and output filter, splits a multi-record answer per record when
        needed, adds Line separators. Raises ``TransformRecordError`` when the answer
        cannot be matched to the batch's records.
        """
        if self._shaper is not None:
            return self._shaper.assemble(batch, body, content_type)
        if self.plan.assemble_with == "Line" and not body.endswith(b"\n"):
            return body + b"\n"
        return body

    def finish(self) -> bytes:
        """Trailing bytes of the object's output (may be ``b""``)."""
        return b""
