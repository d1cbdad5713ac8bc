"""Transform jobs of real sklearn:1.5 replicas through the REST API."""

from __future__ import annotations

import json

from .conftest import Transform

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]]
LABELS = [0, 2, 1]


def csv(rows: list[list[float]]) -> bytes:
    return b"".join(",".join(repr(v) for v in row).encode() + b"\n" for row in rows)


def test_a_csv_prefix_is_transformed_line_by_line_in_input_order(transform: Transform) -> None:
    transform.create_model("iris", transform.artifacts.logistic)
    transform.put("s3://data/iris/part-1.csv", csv(ROWS * 100))
    transform.put("s3://data/iris/nested/part-2.csv", csv(list(reversed(ROWS))))

    described = transform.run(
        "iris-batch",
        "iris",
        "s3://data/iris/",
        ContentType="text/csv",
        SplitType="Line",
        Accept="text/csv",
        AssembleWith="Line",
        InstanceCount=2,
    )

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    first = transform.get("s3://out/iris-batch/part-1.csv.out").decode().split()
    assert [int(float(v)) for v in first] == LABELS * 100
    second = transform.get("s3://out/iris-batch/nested/part-2.csv.out").decode().split()
    assert [int(float(v)) for v in second] == list(reversed(LABELS))
    progress = described["TransformProgress"]
    assert progress.pop("ElapsedSeconds") > 0
    assert progress == {
        "ObjectsDone": 2,
        "ObjectsTotal": 2,
        "RecordsDone": 303,
        "BytesDone": progress["BytesTotal"],
        "BytesTotal": len(csv(ROWS * 100)) + len(csv(ROWS)),
    }
    # Parameters left out came from the container's /execution-parameters.
    assert described["BatchStrategy"] == "MultiRecord"
    assert described["MaxPayloadInMB"] == 6
    assert described["MaxConcurrentTransforms"] >= 1
    logs = transform.logs("iris-batch")
    assert "progress: 2/2 objects, 303 records" in logs
    assert "[algo-1]" in logs
    assert "[algo-2]" in logs


def test_a_record_the_model_rejects_fails_the_job_naming_object_and_record(
    transform: Transform,
) -> None:
    transform.create_model("iris", transform.artifacts.logistic)
    transform.put("s3://data/bad/rows.csv", csv(ROWS) + b"1.0,2.0\n" + csv(ROWS))

    described = transform.run(
        "iris-bad",
        "iris",
        "s3://data/bad/",
        ContentType="text/csv",
        SplitType="Line",
    )

    # The model refused the batch of 7 records; sent again one by one, record 3 is named.
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "ClientError: rows.csv record 3: X has 2 features, but LogisticRegression is "
        "expecting 4 features as input."
    )
    assert not transform.exists("s3://out/iris-bad/rows.csv.out")


def test_bad_requests_are_refused_naming_the_field(transform: Transform) -> None:
    transform.put("s3://data/some/rows.csv", csv(ROWS))
    missing_model = transform.create("no-model", "nothing-here", "s3://data/some/")
    assert missing_model.status_code == 400
    assert missing_model.json()["error"]["field"] == "ModelName"
    assert "nothing-here" in missing_model.json()["error"]["message"]

    transform.create_model("iris", transform.artifacts.logistic)
    empty = transform.create("empty", "iris", "s3://data/nothing/")
    assert empty.status_code == 400
    error = empty.json()["error"]
    assert error["field"] == "TransformInput.DataSource.S3DataSource.S3Uri"
    assert "no objects" in error["message"]

    too_much = transform.create(
        "too-much", "iris", "s3://data/some/", MaxPayloadInMB=60, MaxConcurrentTransforms=2
    )
    assert too_much.status_code == 400
    assert too_much.json()["error"]["field"] == "MaxConcurrentTransforms"


def test_a_record_over_max_payload_fails_the_job_clearly(transform: Transform) -> None:
    transform.create_model("iris", transform.artifacts.logistic)
    big = b"1.0," * (2**20 // 4 + 10) + b"1.0\n"
    transform.put("s3://data/big/rows.csv", csv(ROWS) + big)

    described = transform.run(
        "too-big",
        "iris",
        "s3://data/big/",
        ContentType="text/csv",
        SplitType="Line",
        MaxPayloadInMB=1,
    )

    assert described["TransformJobStatus"] == "Failed"
    assert "rows.csv record 3" in described["FailureReason"]
    assert "MaxPayloadInMB=1" in described["FailureReason"]


def test_whole_json_objects_are_sent_one_request_each(transform: Transform) -> None:
    transform.create_model("iris", transform.artifacts.logistic)
    for index in range(5):
        body = json.dumps(ROWS[index % 3 :] + ROWS[: index % 3]).encode()
        transform.put(f"s3://data/json/doc-{index}.json", body)

    described = transform.run(
        "iris-json",
        "iris",
        "s3://data/json",
        ContentType="application/json",
        Accept="application/json",
        MaxConcurrentTransforms=2,
    )

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    for index in range(5):
        answer = json.loads(transform.get(f"s3://out/iris-json/doc-{index}.json.out"))
        assert answer == LABELS[index % 3 :] + LABELS[: index % 3]
    assert described["TransformProgress"]["RecordsDone"] == 5


def test_a_model_that_cannot_load_fails_the_job_with_its_error(transform: Transform) -> None:
    transform.create_model("broken", transform.artifacts.failing)
    transform.put("s3://data/some/rows.csv", csv(ROWS))

    described = transform.run("broken-batch", "broken", "s3://data/some/", ContentType="text/csv")

    assert described["TransformJobStatus"] == "Failed"
    assert "could not start" in described["FailureReason"]
    assert "the weights file is corrupt" in described["FailureReason"]
