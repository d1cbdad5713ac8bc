"""Batch transform's record handling: plans, splitting and batching, reassembly, memory."""

from __future__ import annotations

import io
import itertools
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.errors import ValidationError
from modelyard.formats import (
    decode_to_numpy,
    encode_dense,
    frame,
    frame_tfrecords,
    unframe,
    unframe_tfrecords,
)
from modelyard.jobs.transform_records import (
    Batch,
    OutputAssembler,
    RecordPlan,
    TransformRecordError,
    batches,
)

MB = 2**20


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes a read, as sockets and gzip do."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = memoryview(data)
        self._step = step
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._step, len(self._data) - self._position)
        buffer[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


def cut(data: bytes, plan: RecordPlan, name: str = "data.csv", step: int = 1 << 20) -> list[Batch]:
    return list(batches(Trickle(data, step), plan, object_name=name))  # type: ignore[arg-type]


def lines_of(payloads: list[bytes]) -> list[bytes]:
    return [line.rstrip(b"\r") for p in payloads for line in p.split(b"\n")[:-1]]


# -- the plan -----------------------------------------------------------------------------


def test_a_request_without_batch_fields_gets_sagemakers_defaults() -> None:
    plan = RecordPlan.from_request({"TransformInput": {"DataSource": {}}, "TransformOutput": {}})
    assert plan == RecordPlan()
    assert plan.max_payload_bytes == 6 * MB
    plan.validate()


def test_a_full_request_maps_field_by_field() -> None:
    plan = RecordPlan.from_request(
        {
            "BatchStrategy": "SingleRecord",
            "MaxPayloadInMB": 2,
            "TransformInput": {"ContentType": "text/csv", "SplitType": "Line"},
            "TransformOutput": {"Accept": "text/csv", "AssembleWith": "Line"},
            "DataProcessing": {
                "InputFilter": "$[1:]",
                "OutputFilter": "$[0,-1]",
                "JoinSource": "Input",
            },
        }
    )
    assert plan == RecordPlan(
        split_type="Line",
        batch_strategy="SingleRecord",
        max_payload_bytes=2 * MB,
        content_type="text/csv",
        accept="text/csv",
        assemble_with="Line",
        input_filter="$[1:]",
        output_filter="$[0,-1]",
        join_source="Input",
    )
    plan.validate()


@pytest.mark.parametrize(
    ("plan", "field", "words"),
    [
        (RecordPlan(split_type="Lines"), "TransformInput.SplitType", "not one of None, Line"),
        (RecordPlan(batch_strategy="Multi"), "BatchStrategy", "MultiRecord, SingleRecord"),
        (RecordPlan(assemble_with="Newline"), "TransformOutput.AssembleWith", "None, Line"),
        (RecordPlan(join_source="Output"), "DataProcessing.JoinSource", "Input"),
        (RecordPlan(max_payload_bytes=101 * MB), "MaxPayloadInMB", "outside 0-100"),
        (RecordPlan(split_type="Line", max_payload_bytes=0), "MaxPayloadInMB", "SplitType=None"),
        (RecordPlan(input_filter="$..id"), "DataProcessing.InputFilter", "recursive descent"),
        (RecordPlan(join_source="Input"), "TransformInput.ContentType", "CSV and JSON"),
        (
            RecordPlan(split_type="RecordIO", join_source="Input", content_type="text/csv"),
            "TransformInput.SplitType",
            "Line or None",
        ),
        (
            RecordPlan(split_type="Line", content_type="text/csv", input_filter="$.features"),
            "DataProcessing.InputFilter",
            "index paths only",
        ),
        (
            RecordPlan(content_type="text/csv", join_source="Input", output_filter="$.id"),
            "DataProcessing.OutputFilter",
            "index paths only",
        ),
    ],
)
def test_a_bad_plan_names_the_field_and_the_fix(plan: RecordPlan, field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        plan.validate()
    assert caught.value.field == field
    assert caught.value.http_status == 400


def test_whole_objects_may_have_no_limit_and_any_batch_strategy() -> None:
    RecordPlan(max_payload_bytes=0).validate()
    # SageMaker's image-classification example: SingleRecord with SplitType None.
    plan = RecordPlan(batch_strategy="SingleRecord", content_type="application/x-image")
    plan.validate()
    [batch] = cut(b"\x89PNG\r\n\x1a\n...", plan, name="cat.png")
    assert (batch.payload, batch.count) == (b"\x89PNG\r\n\x1a\n...", 1)


# -- Line ---------------------------------------------------------------------------------


def test_lines_are_batched_up_to_the_payload_limit_in_order() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=12)
    found = cut(b"a,1\nb,2\nc,3\nd,4\ne,5\n", plan)
    assert [(b.payload, b.first_record, b.count) for b in found] == [
        (b"a,1\nb,2\nc,3\n", 0, 3),
        (b"d,4\ne,5\n", 3, 2),
    ]
    assert all(b.inputs == () for b in found)


def test_crlf_blank_lines_and_a_last_line_without_newline() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=MB)
    [batch] = cut(b"\n\r\na,1\r\n\nb,2\n\r\n\nc,3", plan)
    assert batch.payload == b"a,1\r\nb,2\nc,3\n"
    assert batch.count == 3


def test_blank_lines_where_a_batch_is_cut_are_dropped() -> None:
    """A batch ends after a newline, so the next one may start with a blank line."""
    plan = RecordPlan(split_type="Line", max_payload_bytes=8)
    found = cut(b"a,1\nb,2\n\nc,3\n\r\nd,4\n", plan)
    assert [(b.payload, b.first_record, b.count) for b in found] == [
        (b"a,1\nb,2\n", 0, 2),
        (b"c,3\n", 2, 1),
        (b"d,4\n", 3, 1),
    ]
    crlf = cut(b"a,1\r\nb\r\n\r\n\r\nc,3\r\n", RecordPlan(split_type="Line", max_payload_bytes=9))
    assert [(b.payload, b.first_record, b.count) for b in crlf] == [
        (b"a,1\r\nb\r\n", 0, 2),
        (b"c,3\r\n", 2, 1),
    ]


def test_the_newline_added_to_a_last_line_counts_toward_the_limit() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=10)
    found = cut(b"abcd\r\n0000", plan)  # 10 bytes, 11 with the newline a batch needs
    assert [(b.payload, b.first_record, b.count) for b in found] == [
        (b"abcd\r\n", 0, 1),
        (b"0000\n", 1, 1),
    ]


def test_an_object_over_several_reads_is_cut_into_whole_batches() -> None:
    rows = [b"%d,%s" % (i, b"x" * (i % 50)) for i in range(120_000)]
    data = b"\n".join(rows) + b"\n"
    plan = RecordPlan(split_type="Line", max_payload_bytes=2 * MB)
    found = cut(data, plan, step=300_000)
    assert len(data) > 3 * MB
    assert lines_of([b.payload for b in found]) == rows
    assert all(2 * MB - 60 < len(b.payload) <= 2 * MB for b in found[:-1])


def test_a_stretch_of_blank_lines_makes_no_request() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=4)
    found = cut(b"a\n" + b"\n" * 9 + b"\r\n" * 5 + b"b\n", plan, step=3)
    assert [(b.payload, b.first_record, b.count) for b in found] == [(b"a\n", 0, 1), (b"b\n", 1, 1)]


@pytest.mark.parametrize(
    ("data", "payload"),
    [
        (b"a\r\nb\n\nc\n", b"a\r\nb\nc\n"),  # a \r elsewhere, a blank \n line
        (b"a\n\r\nb\n", b"a\nb\n"),  # a blank \r\n line after a \n one
        (b"a\rb\n\rc\n", b"a\rb\n\rc\n"),  # a lone \r is data, not a line end
        (b"a\n\r\r\nb\n", b"a\n\r\r\nb\n"),  # so a line of one \r (then \r\n) is a record
    ],
)
def test_blank_lines_among_carriage_returns(data: bytes, payload: bytes) -> None:
    [batch] = cut(data, RecordPlan(split_type="Line", max_payload_bytes=MB))
    assert (batch.payload, batch.count) == (payload, payload.count(b"\n"))


class ReadOnly:
    """A stream with ``read`` alone (no ``readinto``), handing out a few bytes a call."""

    def __init__(self, data: bytes) -> None:
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(min(size, 5) if size >= 0 else size)


def test_a_stream_without_readinto_is_read_in_chunks() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=12)
    data = b"a,1\nb,2\n\nc,3\nd,4\ne,5"
    found = list(batches(ReadOnly(data), plan, object_name="data.csv"))  # type: ignore[arg-type]
    assert [(b.payload, b.first_record, b.count) for b in found] == [
        (b"a,1\nb,2\n", 0, 2),
        (b"c,3\nd,4\ne,5\n", 2, 3),
    ]


def test_single_record_sends_each_line_without_its_terminator() -> None:
    plan = RecordPlan(split_type="Line", batch_strategy="SingleRecord")
    found = cut(b"x\r\n\ny\nz", plan)
    assert [(b.payload, b.first_record, b.count) for b in found] == [
        (b"x", 0, 1),
        (b"y", 1, 1),
        (b"z", 2, 1),
    ]


def test_a_line_over_the_limit_names_object_record_and_size() -> None:
    plan = RecordPlan(split_type="Line", max_payload_bytes=1 * MB)
    data = b"ok\n\n" + b"x" * (MB + 10) + b"\nafter\n"
    for strategy in ("MultiRecord", "SingleRecord"):
        with pytest.raises(TransformRecordError) as caught:
            cut(data, RecordPlan(**{**plan.__dict__, "batch_strategy": strategy}), step=4096)
        assert str(caught.value).startswith(
            f"data.csv record 1: {MB + 10} bytes is over MaxPayloadInMB=1"
        )
        assert caught.value.record == 1
        assert caught.value.object_name == "data.csv"
    small = RecordPlan(split_type="Line", max_payload_bytes=20, batch_strategy="SingleRecord")
    with pytest.raises(TransformRecordError, match=r"^data.csv record 1: 30 bytes is over"):
        cut(b"a\n" + b"x" * 30 + b"\r\nb\n", small)


text_records = st.lists(
    st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), min_size=1, max_size=30),
    min_size=0,
    max_size=60,
).map(lambda rs: [r.encode() for r in rs])


@st.composite
def written(draw: Callable[[st.SearchStrategy[Any]], Any]) -> tuple[list[bytes], bytes]:
    """Records as a file would hold them: mixed terminators, blank lines, maybe no final newline."""
    records = draw(text_records)
    out = []
    for record in records:
        out.append(draw(st.sampled_from([b"", b"", b"\n", b"\r\n"])))
        out.append(record + draw(st.sampled_from([b"\n", b"\r\n"])))
    data = b"".join(out)
    if records and draw(st.booleans()):
        data = data.rstrip(b"\r\n")
    return records, data


@settings(max_examples=150, deadline=None)
@given(written(), st.integers(0, 40), st.sampled_from([1, 3, 7, 64, 1 << 20]))
def test_line_batches_reassemble_to_the_records_whatever_the_read_size(
    case: tuple[list[bytes], bytes], slack: int, step: int
) -> None:
    records, data = case
    limit = max((len(r) for r in records), default=0) + 2 + slack
    plain = RecordPlan(split_type="Line", max_payload_bytes=limit, content_type="text/csv")
    found = cut(data, plain, step=step)
    assert lines_of([b.payload for b in found]) == records
    assert all(len(b.payload) <= limit for b in found)
    counts = [b.count for b in found]
    assert [b.first_record for b in found] == list(itertools.accumulate(counts, initial=0))[:-1]
    assert sum(b.count for b in found) == len(records)
    # Joining cuts lines apart (the slow path): the same records, carried in inputs too.
    joined = cut(data, RecordPlan(**{**plain.__dict__, "join_source": "Input"}), step=step)
    assert lines_of([b.payload for b in joined]) == records
    assert [r for b in joined for r in b.inputs] == records
    single = cut(data, RecordPlan(**{**plain.__dict__, "batch_strategy": "SingleRecord"}))
    assert [b.payload for b in single] == records


# -- None ---------------------------------------------------------------------------------


def test_an_object_is_one_request_when_not_split() -> None:
    [batch] = cut(b"1,2\n3,4\n", RecordPlan(), step=3)
    assert (batch.payload, batch.first_record, batch.count) == (b"1,2\n3,4\n", 0, 1)
    assert cut(b"", RecordPlan()) == []


def test_an_object_over_the_limit_says_to_split_it() -> None:
    with pytest.raises(TransformRecordError, match=r"^big.csv: 2097152 bytes is over Max") as e:
        cut(bytes(2 * MB), RecordPlan(max_payload_bytes=MB), name="big.csv")
    assert "SplitType Line" in str(e.value)
    [batch] = cut(bytes(2 * MB), RecordPlan(max_payload_bytes=0))
    assert len(batch.payload) == 2 * MB


# -- RecordIO and TFRecord ----------------------------------------------------------------

binary_records = st.lists(st.binary(max_size=40), max_size=40)


@settings(max_examples=100, deadline=None)
@given(binary_records, st.integers(0, 100), st.sampled_from([1, 5, 1 << 20]), st.booleans())
def test_recordio_multirecord_payloads_are_framed_records_within_the_limit(
    records: list[bytes], slack: int, step: int, split_magic: bool
) -> None:
    data = frame(records, split_magic=split_magic)
    limit = max((len(frame([r], split_magic=split_magic)) for r in records), default=0) + slack
    plan = RecordPlan(split_type="RecordIO", max_payload_bytes=max(limit, 1))
    found = cut(data, plan, step=step)
    assert [r for b in found for r in unframe(b.payload)] == records
    assert all(len(b.payload) <= plan.max_payload_bytes for b in found)
    assert b"".join(b.payload for b in found) == data
    single = cut(data, RecordPlan(**{**plan.__dict__, "batch_strategy": "SingleRecord"}))
    assert [b.payload for b in single] == records


@settings(max_examples=100, deadline=None)
@given(binary_records, st.integers(0, 100), st.sampled_from([1, 7, 1 << 20]))
def test_tfrecord_multirecord_payloads_are_framed_records_within_the_limit(
    records: list[bytes], slack: int, step: int
) -> None:
    data = frame_tfrecords(records)
    limit = max((len(r) + 16 for r in records), default=1) + slack
    plan = RecordPlan(split_type="TFRecord", max_payload_bytes=limit)
    found = cut(data, plan, step=step)
    assert [r for b in found for r in unframe_tfrecords(b.payload)] == records
    assert b"".join(b.payload for b in found) == data
    single = cut(data, RecordPlan(**{**plan.__dict__, "batch_strategy": "SingleRecord"}))
    assert [(b.payload, b.first_record) for b in single] == [(r, i) for i, r in enumerate(records)]


def test_recordio_protobuf_rows_arrive_whole_in_each_batch() -> None:
    rows = np.arange(3000 * 7, dtype=np.float32).reshape(3000, 7)
    plan = RecordPlan(split_type="RecordIO", max_payload_bytes=20_000)
    found = cut(encode_dense(rows), plan, name="rows.pbr", step=4099)
    assert len(found) > 1
    decoded = [decode_to_numpy(b.payload)[0] for b in found]
    assert [len(d) for d in decoded] == [b.count for b in found]
    np.testing.assert_array_equal(np.concatenate(decoded), rows)


def test_bad_recordio_framing_names_the_record_and_byte_offset() -> None:
    data = bytearray(frame([b"abcd", b"efgh", b"ijkl"]))
    data[24] ^= 0xFF  # the third record's magic number
    with pytest.raises(TransformRecordError, match=r"^d.rec record 2: bad RecordIO magic .* 24$"):
        cut(bytes(data), RecordPlan(split_type="RecordIO"), name="d.rec")
    with pytest.raises(TransformRecordError, match=r"record 1: truncated RecordIO record"):
        cut(frame([b"abcd", b"efgh"])[:-2], RecordPlan(split_type="RecordIO"))


def test_a_corrupt_tfrecord_names_the_record_and_byte_offset() -> None:
    data = bytearray(frame_tfrecords([b"first", b"second", b"third"]))
    data[21 + 12 + 2] ^= 0x10  # a byte of the second record's data
    with pytest.raises(
        TransformRecordError, match=r"^t.tfrecord record 1: TFRecord data CRC.* 21$"
    ):
        cut(bytes(data), RecordPlan(split_type="TFRecord"), name="t.tfrecord")


def test_a_framed_record_over_the_limit_is_refused_before_it_is_read() -> None:
    data = frame_tfrecords([b"small", bytes(3 * MB)])
    with pytest.raises(TransformRecordError, match=r"record 1: 3145744 bytes is over Max"):
        cut(data, RecordPlan(split_type="TFRecord", max_payload_bytes=MB))


# -- reassembly ---------------------------------------------------------------------------


def test_answers_are_concatenated_as_they_are_without_assembly() -> None:
    assembler = OutputAssembler(RecordPlan(split_type="Line"), object_name="a.csv")
    batch = Batch(b"1\n2\n", (), 0, 2)
    assert assembler.assemble(batch, b"0.1\n0.2", "text/csv") == b"0.1\n0.2"
    assert assembler.finish() == b""


def test_line_assembly_ends_each_answer_with_one_newline() -> None:
    assembler = OutputAssembler(RecordPlan(assemble_with="Line"), object_name="a.csv")
    batch = Batch(b"1\n2\n", (), 0, 2)
    assert assembler.assemble(batch, b"0.1\n0.2", "text/csv") == b"0.1\n0.2\n"
    assert assembler.assemble(batch, b"0.1\n0.2\n", "text/csv") == b"0.1\n0.2\n"
    assert assembler.assemble(batch, b"[1, 2]", "application/json") == b"[1, 2]\n"


# -- memory -------------------------------------------------------------------------------


class Generated(io.RawIOBase):
    """``size`` bytes of CSV lines, made as they are read: the input is never in memory."""

    def __init__(self, size: int, columns: int) -> None:
        row = b",0.25" * columns
        self._block = b"".join(b"%d%s\n" % (i, row) for i in range((1 << 20) // len(row)))
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), len(self._block), self._left)
        buffer[:size] = self._block[:size]
        self._left -= size
        return size


def echo(batch: Batch) -> bytes:
    """A model answering one line per record."""
    return b"0.5\n" * batch.count


def through(plan: RecordPlan, size: int, columns: int) -> Iterator[int]:
    assembler = OutputAssembler(plan, object_name="big.csv")
    stream = io.BufferedReader(Generated(size, columns))
    for batch in batches(stream, plan, object_name="big.csv"):
        yield len(assembler.assemble(batch, echo(batch), "text/csv"))


def test_a_200_mb_object_streams_in_memory_bounded_by_a_few_batches() -> None:
    plan = RecordPlan(
        split_type="Line", max_payload_bytes=4 * MB, content_type="text/csv", assemble_with="Line"
    )
    tracemalloc.start()
    try:
        written = sum(through(plan, 200 * MB, columns=4))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > 0
    # The read buffer, the batch being cut, and the one the caller still holds.
    assert peak < 4 * plan.max_payload_bytes, f"peak {peak / MB:.1f} MB"


def test_joining_holds_one_batch_of_records_at_a_time() -> None:
    """Joined records are Python objects (about 60 bytes each beyond their data), per batch."""
    plan = RecordPlan(
        split_type="Line",
        max_payload_bytes=4 * MB,
        content_type="text/csv",
        assemble_with="Line",
        join_source="Input",
    )
    tracemalloc.start()
    try:
        written = sum(through(plan, 24 * MB, columns=20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written > 24 * MB
    assert peak < 8 * plan.max_payload_bytes, f"peak {peak / MB:.1f} MB"
