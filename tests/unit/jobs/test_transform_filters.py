"""DataProcessing as SageMaker documents it: JSONPath filters, CSV columns, JoinSource=Input.

The examples are those of "Associate Prediction Results with Input Records" in the
SageMaker developer guide, run through batches() and OutputAssembler as a job would.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.errors import ValidationError
from modelyard.jobs.transform_filters import compile_json_path
from modelyard.jobs.transform_records import (
    Batch,
    OutputAssembler,
    RecordPlan,
    TransformRecordError,
    batches,
)

Model = Callable[[bytes], tuple[bytes, str]]


def transform(plan: RecordPlan, data: bytes, model: Model) -> tuple[list[bytes], bytes]:
    """What the model was sent, and the object's output, as a transform job makes them."""
    plan.validate()
    sent: list[bytes] = []
    out = []
    assembler = OutputAssembler(plan, object_name="in.data")
    for batch in batches(io.BytesIO(data), plan, object_name="in.data"):
        sent.append(batch.payload)
        out.append(assembler.assemble(batch, *model(batch.payload)))
    out.append(assembler.finish())
    return sent, b"".join(out)


def csv_sum(payload: bytes) -> tuple[bytes, str]:
    """A CSV model: one line per row, the sum of its columns."""
    rows = csv.reader(io.StringIO(payload.decode()))
    return b"".join(b"%g\n" % sum(float(v) for v in row) for row in rows), "text/csv"


def json_label(payload: bytes) -> tuple[bytes, str]:
    """A JSON model: for JSON Lines, one {"label": ...} a line (the sum of the features)."""
    labels = [{"label": sum(json.loads(line))} for line in payload.decode().splitlines()]
    return "".join(json.dumps(x) + "\n" for x in labels).encode(), "application/jsonlines"


def json_array(payload: bytes) -> tuple[bytes, str]:
    """A JSON model answering one JSON array for the whole batch."""
    labels = [sum(json.loads(line)) for line in payload.decode().splitlines()]
    return json.dumps(labels).encode(), "application/json"


def csv_plan(**fields: Any) -> RecordPlan:
    defaults: dict[str, Any] = {
        "split_type": "Line",
        "content_type": "text/csv",
        "accept": "text/csv",
        "assemble_with": "Line",
    }
    return RecordPlan(**{**defaults, **fields})


def jsonl_plan(**fields: Any) -> RecordPlan:
    return csv_plan(
        **{"content_type": "application/jsonlines", "accept": "application/json", **fields}
    )


# -- the guide's examples -------------------------------------------------------------------


def test_output_only_inferences_is_the_default() -> None:
    sent, out = transform(csv_plan(), b"1,2,3\n4,5,6\n", csv_sum)
    assert sent == [b"1,2,3\n4,5,6\n"]
    assert out == b"6\n15\n"


def test_csv_join_appends_the_inference_to_the_input_row() -> None:
    # "if the record is [1,2,3], and the label result is [1], then the output file would
    # contain [1,2,3,1]"
    plan = csv_plan(join_source="Input")
    _, out = transform(plan, b"1,2,3\n", lambda _: (b"1\n", "text/csv"))
    assert out == b"1,2,3,1\n"


def test_csv_id_column_excluded_from_the_model_and_kept_in_the_output() -> None:
    # InputFilter "$[1:]", JoinSource Input, OutputFilter "$[0,-1]": the ID and the result.
    plan = csv_plan(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    sent, out = transform(plan, b"id-1,1,2,3,4\nid-2,5,6,7,8\n", csv_sum)
    assert sent == [b"1,2,3,4\n5,6,7,8\n"]
    assert out == b"id-1,10\nid-2,26\n"
    _, everything = transform(
        csv_plan(input_filter="$[1:]", join_source="Input"), b"a,1,2\n", csv_sum
    )
    assert everything == b"a,1,2,3\n"


def test_json_join_adds_sagemaker_output_to_an_object() -> None:
    # {"key":1} with the result {"label":1} becomes {"key":1,"SageMakerOutput":{"label":1}}
    plan = RecordPlan(
        split_type="Line",
        content_type="application/jsonlines",
        join_source="Input",
        assemble_with="Line",
    )
    _, out = transform(plan, b'{"key":1}\n', lambda _: (b'{"label":1}', "application/json"))
    assert json.loads(out) == {"key": 1, "SageMakerOutput": {"label": 1}}


def test_json_join_wraps_an_input_that_is_not_an_object() -> None:
    plan = jsonl_plan(join_source="Input")
    _, out = transform(plan, b"[1,2]\n[3,4]\n", json_label)
    assert [json.loads(line) for line in out.splitlines()] == [
        {"SageMakerInput": [1, 2], "SageMakerOutput": {"label": 3}},
        {"SageMakerInput": [3, 4], "SageMakerOutput": {"label": 7}},
    ]


def test_json_id_attribute_excluded_from_the_model_and_kept_in_the_output() -> None:
    # InputFilter "$.features", JoinSource Input, OutputFilter "$['id','SageMakerOutput']"
    plan = jsonl_plan(
        input_filter="$.features",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
    )
    data = b'{"id":"a","features":[1,2],"x":0}\n{"id":"b","features":[3,4],"x":0}\n'
    sent, out = transform(plan, data, json_label)
    assert sent == [b"[1,2]\n[3,4]\n"]
    assert out == (
        b'{"id":"a","SageMakerOutput":{"label":3}}\n{"id":"b","SageMakerOutput":{"label":7}}\n'
    )


def test_a_json_array_answer_is_one_item_per_record() -> None:
    plan = jsonl_plan(input_filter="$.f", join_source="Input", output_filter="$.SageMakerOutput")
    _, out = transform(plan, b'{"f":[1]}\n{"f":[2]}\n{"f":[3]}\n', json_array)
    assert out == b"1\n2\n3\n"
    predictions = jsonl_plan(join_source="Input", output_filter="$.SageMakerOutput")
    _, out = transform(
        predictions, b"[1]\n[2]\n", lambda _: (b'{"predictions":[0.1,0.2]}', "application/json")
    )
    assert out == b"0.1\n0.2\n"


def test_without_line_assembly_processed_records_keep_the_answers_shape() -> None:
    plan = jsonl_plan(join_source="Input", output_filter="$.SageMakerOutput", assemble_with="None")
    _, out = transform(plan, b"[1]\n[2]\n", json_array)
    assert out == b"[1,2]"
    lines = csv_plan(join_source="Input", assemble_with="None")
    _, out = transform(lines, b"1,2\n3,4\n", csv_sum)
    assert out == b"1,2,3\n3,4,7\n"


def test_answers_in_the_other_format_are_joined_as_values_or_columns() -> None:
    csv_in = csv_plan(join_source="Input", accept="application/json")
    answer = (b'[[0.1, "b"], [0.2, "a"]]', "application/json")
    _, out = transform(csv_in, b"x,1\ny,2\n", lambda _: answer)
    assert out == b"x,1,0.1,b\ny,2,0.2,a\n"
    json_in = jsonl_plan(join_source="Input", accept="text/csv")
    _, out = transform(json_in, b'{"a":1}\n{"a":2}\n', lambda _: (b"0.5\n1,x\n", "text/csv"))
    assert out == b'{"a":1,"SageMakerOutput":0.5}\n{"a":2,"SageMakerOutput":[1,"x"]}\n'


def test_an_output_filter_alone_selects_from_the_answer() -> None:
    plan = csv_plan(output_filter="$[1]")
    _, out = transform(plan, b"1\n2\n", lambda _: (b"a,0.1\nb,0.2\n", "text/csv"))
    assert out == b"0.1\n0.2\n"
    unwrap = jsonl_plan(output_filter="$.predictions")
    answer = (b'{"predictions":[0.1,0.2]}', "application/json")
    _, out = transform(unwrap, b"[1]\n[2]\n", lambda _: answer)
    assert out == b"[0.1,0.2]\n"


def test_csv_fields_keep_their_quoting_through_filter_and_join() -> None:
    plan = csv_plan(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    sent, out = transform(plan, b'"Smith, J",1,2\n', csv_sum)
    assert sent == [b"1,2\n"]
    assert out == b'"Smith, J",3\n'


def test_a_whole_csv_object_is_filtered_and_joined_line_by_line() -> None:
    plan = csv_plan(split_type="None", input_filter="$[1:]", join_source="Input")
    sent, out = transform(plan, b"a,1,2\r\nb,3,4\n", csv_sum)
    assert sent == [b"1,2\n3,4\n"]
    assert out == b"a,1,2,3\nb,3,4,7\n"


def test_a_whole_json_document_is_one_record() -> None:
    plan = RecordPlan(
        content_type="application/json",
        input_filter="$.instances",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
    )
    doc = b'{"id": 7, "instances": [[1, 2], [3, 4]]}'
    sent, out = transform(plan, doc, lambda _: (b"[3, 7]", "application/json"))
    assert sent == [b"[[1,2],[3,4]]"]
    assert json.loads(out) == {"id": 7, "SageMakerOutput": [3, 7]}


def test_an_input_filter_alone_keeps_multirecord_batches_whole() -> None:
    plan = csv_plan(input_filter="$[1:]", max_payload_bytes=24)
    data = b'id1,1,2\r\nid2,3,4\nid3\n\nid4,"5,5",6\nid5,7,8\n'
    sent, out = transform(plan, data, lambda p: (b"x\n" * p.count(b"\n"), "text/csv"))
    # Each line less its first column; a short line gives an empty row; quotes kept.
    assert b"".join(sent) == b'1,2\n3,4\n\n"5,5",6\n7,8\n'
    assert out == b"x\n" * 5


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(["a", "bb", "", "1.5", '"q,q"']), max_size=6), max_size=30),
    st.sampled_from(["$[1:]", "$[2:]", "$[0]", "$[-1]", "$[0,2:]", "$[1:2]"]),
)
def test_column_selection_on_whole_batches_equals_the_csv_module(
    rows: list[list[str]], path: str
) -> None:
    data = "".join(",".join(row) + "\n" for row in rows if ",".join(row)).encode()
    records = [r for r in csv.reader(io.StringIO(data.decode()))]
    expected = []
    compiled = compile_json_path(path, field="f")
    for record in records:
        try:
            expected.append(compiled.apply_row(record))
        except ValueError:
            return  # an index past the end: refused, as tested elsewhere
    plan = csv_plan(input_filter=path, max_payload_bytes=64)
    sent, _ = transform(plan, data, lambda p: (b"0\n" * p.count(b"\n"), "text/csv"))
    got = list(csv.reader(io.StringIO(b"".join(sent).decode())))
    # One empty column is an empty line: the CSV module alone writes it as "".
    assert [row or [""] for row in got] == [row or [""] for row in expected]


# -- JSONPath --------------------------------------------------------------------------------

ROW = ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]


@pytest.mark.parametrize(
    ("path", "columns"),
    [
        ("$", ROW),
        ("$[0]", ["c0"]),
        ("$[-1]", ["c6"]),
        ("$[1,3,5]", ["c1", "c3", "c5"]),
        # SageMaker's slices include their end: "$[1:4] specifies the second through fifth".
        ("$[1:4]", ["c1", "c2", "c3", "c4"]),
        ("$[:5]", ["c0", "c1", "c2", "c3", "c4", "c5"]),
        ("$[5:]", ["c5", "c6"]),
        ("$[0,5:]", ["c0", "c5", "c6"]),
        ("$[2:99]", ["c2", "c3", "c4", "c5", "c6"]),
        ("$[*]", ROW),
    ],
)
def test_csv_columns_by_index(path: str, columns: list[str]) -> None:
    assert compile_json_path(path, field="f").apply_row(ROW) == columns


RECORD = {"id": 1, "features": {"a": 1, "b": [5, 6, 7]}, "SageMakerOutput": 0.5}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", RECORD),
        ("$.id", 1),
        ("$.features.b[-1]", 7),
        ("$.features.*", [1, [5, 6, 7]]),
        ("$['id','SageMakerOutput']", {"id": 1, "SageMakerOutput": 0.5}),
        ('$["id"]', 1),
        ("$.features.['a','b']", {"a": 1, "b": [5, 6, 7]}),
        ("$.features.b[0:1]", [5, 6]),
    ],
)
def test_json_selection(path: str, value: Any) -> None:
    assert compile_json_path(path, field="f").apply(RECORD) == value


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("id", "starts with \\$"),
        ("$..id", "recursive descent"),
        ("$[?(@.id > 1)]", "filter and script expressions"),
        ("$[0:2,246:]", "only one slice"),
        ("$['a','b'].c", "must be the last one"),
        ("$[1:4:2]", "neither quoted names nor indexes"),
        ("$[0", "is not closed"),
        ("$." + "x" * 62, "longer than SageMaker's 63"),
    ],
)
def test_a_path_outside_the_subset_is_refused_with_examples(path: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        compile_json_path(path, field="DataProcessing.InputFilter")
    assert caught.value.field == "DataProcessing.InputFilter"
    assert "$[1:]" in caught.value.message


# -- records the processing cannot handle ------------------------------------------------------


def test_an_input_filter_that_does_not_apply_names_the_record() -> None:
    plan = jsonl_plan(input_filter="$.features")
    with pytest.raises(TransformRecordError, match=r"^in.data record 1: .*no key 'features'") as e:
        transform(plan, b'{"features":[1]}\n{"other":[2]}\n', json_label)
    assert e.value.field == "DataProcessing.InputFilter"
    with pytest.raises(TransformRecordError, match=r"record 0: .*index 9 is outside a list of 2"):
        transform(csv_plan(input_filter="$[9]"), b"1,2\n", csv_sum)


def test_an_output_filter_that_does_not_apply_names_the_record() -> None:
    plan = jsonl_plan(join_source="Input", output_filter="$.id")
    with pytest.raises(TransformRecordError, match=r"^in.data record 1: .*no key 'id'") as e:
        transform(plan, b'{"id":1,"f":[1]}\n{"f":[2]}\n', lambda _: (b"1\n2\n", "text/csv"))
    assert e.value.field == "DataProcessing.OutputFilter"


def test_an_answer_with_the_wrong_record_count_fails_with_the_records_sent() -> None:
    plan = csv_plan(join_source="Input")
    with pytest.raises(TransformRecordError, match=r"^in.data record 0: .*1 line\(s\)") as e:
        transform(plan, b"1\n2\n3\n", lambda _: (b"0.5\n", "text/csv"))
    assert "3 record(s) sent (records 0-2)" in str(e.value)
    json_plan = jsonl_plan(join_source="Input")
    with pytest.raises(TransformRecordError, match="does not split into the 2 record"):
        transform(json_plan, b"[1]\n[2]\n", lambda _: (b"[1, 2, 3]", "application/json"))


def test_a_name_path_on_a_csv_answer_is_refused_at_the_record() -> None:
    plan = csv_plan(output_filter="$.label", accept=None)
    with pytest.raises(TransformRecordError, match=r"record 0: .*index paths only"):
        transform(plan, b"1\n", lambda _: (b"0.5\n", "text/csv"))


def test_records_that_are_not_json_are_named() -> None:
    with pytest.raises(TransformRecordError, match=r"^in.data record 0: not JSON"):
        transform(jsonl_plan(input_filter="$.a"), b"{oops\n", json_label)


def test_single_record_answers_are_the_whole_answer() -> None:
    plan = jsonl_plan(batch_strategy="SingleRecord", join_source="Input")
    answers = iter([b"[0.1, 0.9]", b"[0.8, 0.2]"])
    _, out = transform(plan, b'{"x":1}\n{"x":2}\n', lambda _: (next(answers), "application/json"))
    assert [json.loads(line)["SageMakerOutput"] for line in out.splitlines()] == [
        [0.1, 0.9],
        [0.8, 0.2],
    ]


def test_the_assembler_can_be_driven_batch_by_batch() -> None:
    plan = csv_plan(join_source="Input", output_filter="$[-1]")
    assembler = OutputAssembler(plan, object_name="in.csv")
    batch = Batch(b"1\n2\n", (b"1", b"2"), 10, 2)
    assert assembler.assemble(batch, b"x\ny", "text/csv; charset=utf-8") == b"x\ny\n"
