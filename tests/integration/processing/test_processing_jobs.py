"""Processing jobs on real processes: /opt/ml paths, inputs, outputs, sharding, failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from modelyard.errors import ValidationError
from tests.integration.processing.conftest import (
    BUCKET,
    Plane,
    job_body,
    s3_input,
    s3_output,
)

COPY_AND_DESCRIBE = """
    import json, os, sys
    base = "/opt/ml/processing"
    out = os.path.join(base, "output")
    rows = []
    for name in sorted(os.listdir(os.path.join(base, "input", "data"))):
        with open(os.path.join(base, "input", "data", name)) as fh:
            rows += fh.read().split()
    config = json.load(open("/opt/ml/config/processingjobconfig.json"))
    resources = json.load(open("/opt/ml/config/resourceconfig.json"))
    report = {
        "rows": rows,
        "argv": sys.argv[1:],
        "env": os.environ.get("GREETING"),
        "job": config["ProcessingJobName"],
        "arn": config["ProcessingJobArn"],
        "resources": resources,
        "cwd": os.getcwd(),
    }
    host = resources["current_host"]
    with open(os.path.join(out, f"report-{host}.json"), "w") as fh:
        json.dump(report, fh)
"""


def test_a_script_reads_its_inputs_and_writes_its_outputs_at_opt_ml(plane: Plane) -> None:
    plane.put("data/in/a.csv", "1\n2\n")
    plane.put("data/in/b.csv", "3\n")
    body = job_body(
        "copy-job",
        inputs=[
            plane.script("main", COPY_AND_DESCRIBE),
            s3_input("data", f"s3://{BUCKET}/data/in/", "/opt/ml/processing/input/data"),
        ],
        outputs=[s3_output("report", f"s3://{BUCKET}/out/copy", "/opt/ml/processing/output")],
        Environment={"GREETING": "hello"},
    )
    body["AppSpecification"]["ContainerArguments"] = ["--ratio", "0.2"]
    described = plane.run(body)
    assert described["ProcessingJobStatus"] == "Completed", described
    report = json.loads(plane.text("out/copy/report-algo-1.json"))
    assert report["rows"] == ["1", "2", "3"]
    assert report["argv"] == ["--ratio", "0.2"]
    assert report["env"] == "hello"
    assert report["job"] == "copy-job"
    assert report["arn"] == described["ProcessingJobArn"]
    assert report["resources"] == {"current_host": "algo-1", "hosts": ["algo-1"]}
    assert report["cwd"] == "/opt/ml"
    assert described["ProcessingJobArn"].endswith(":processing-job/copy-job")
    assert described["ProcessingInputs"][1]["S3Input"]["S3InputMode"] == "File"
    assert described["ProcessingStartTime"] <= described["ProcessingEndTime"]
    listed = plane.client.get_json("/processing-jobs", NameContains="copy")
    assert [s["ProcessingJobName"] for s in listed["ProcessingJobSummaries"]] == ["copy-job"]


def test_sharded_inputs_split_objects_across_instances(plane: Plane) -> None:
    for index in range(5):
        plane.put(f"data/shards/part-{index}.csv", f"{index}\n")
    body = job_body(
        "sharded-job",
        instance_count=2,
        inputs=[
            plane.script("main", COPY_AND_DESCRIBE),
            s3_input(
                "data",
                f"s3://{BUCKET}/data/shards/",
                "/opt/ml/processing/input/data",
                S3DataDistributionType="ShardedByS3Key",
                S3InputMode="FastFile",
            ),
        ],
        outputs=[s3_output("report", f"s3://{BUCKET}/out/sharded", "/opt/ml/processing/output")],
    )
    assert plane.run(body)["ProcessingJobStatus"] == "Completed"
    first = json.loads(plane.text("out/sharded/report-algo-1.json"))
    second = json.loads(plane.text("out/sharded/report-algo-2.json"))
    assert first["rows"] == ["0", "2", "4"]
    assert second["rows"] == ["1", "3"]
    assert second["resources"] == {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}
    logs = plane.logs("sharded-job")
    assert logs == "" or all(line.startswith("[algo-") for line in logs.splitlines())


def test_continuous_outputs_upload_while_the_script_runs_and_stop_ends_it(plane: Plane) -> None:
    script = """
        import time
        with open("/opt/ml/processing/events/first.log", "w") as fh:
            fh.write("started\\n")
        time.sleep(120)
    """
    body = job_body(
        "continuous-job",
        inputs=[plane.script("main", script)],
        outputs=[
            s3_output("events", f"s3://{BUCKET}/events", "/opt/ml/processing/events", "Continuous"),
            s3_output("final", f"s3://{BUCKET}/final", "/opt/ml/processing/final"),
        ],
    )
    plane.create(body)
    deadline = time.monotonic() + 60
    while plane.keys("events/") != ["events/first.log"]:
        assert time.monotonic() < deadline, plane.describe("continuous-job")
        time.sleep(0.1)
    assert plane.describe("continuous-job")["ProcessingJobStatus"] == "InProgress"
    assert plane.text("events/first.log") == "started\n"
    plane.client.post_json("/processing-jobs/continuous-job/stop")
    assert plane.wait("continuous-job")["ProcessingJobStatus"] == "Stopped"


def test_a_failing_script_fails_the_job_with_its_last_words(plane: Plane) -> None:
    script = """
        import sys
        print("working")
        raise ValueError("the ratio must be below 1")
    """
    body = job_body(
        "failing-job",
        inputs=[plane.script("main", script)],
        outputs=[s3_output("out", f"s3://{BUCKET}/failed", "/opt/ml/processing/output")],
    )
    described = plane.run(body)
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "AlgorithmError: exit code 1: ValueError: the ratio must be below 1"
    )
    assert "working" in plane.logs("failing-job")


def test_a_missing_input_prefix_fails_the_job_naming_the_input(plane: Plane) -> None:
    body = job_body(
        "missing-input",
        inputs=[
            plane.script("main", "print('never')"),
            s3_input("data", f"s3://{BUCKET}/nothing/here/", "/opt/ml/processing/input/data"),
        ],
    )
    described = plane.run(body)
    assert described["ProcessingJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith(
        f"ClientError: ProcessingInput 'data' (s3://{BUCKET}/nothing/here/) could not be staged"
    )
    assert f"no object matches s3://{BUCKET}/nothing/here/" in reason


def test_a_shared_directory_is_read_in_place_read_only(plane: Plane, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "big.csv").write_text("x,y\n")
    script = """
        import os
        print(open("/opt/ml/processing/input/shared/big.csv").read().strip())
        try:
            open("/opt/ml/processing/input/shared/new.csv", "w")
            print("wrote")
        except OSError:
            print("read-only")
    """
    fs_input = {
        "InputName": "shared",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/shared",
            "FileSystemDatasetDefinition": {"DirectoryPath": str(shared)},
        },
    }
    body = job_body("fs-job", inputs=[plane.script("main", script), fs_input])
    assert plane.run(body)["ProcessingJobStatus"] == "Completed"
    assert plane.logs("fs-job").split() == ["x,y", "read-only"]
    assert sorted(p.name for p in shared.iterdir()) == ["big.csv"]

    fs_input["DatasetDefinition"]["FileSystemDatasetDefinition"]["DirectoryPath"] = "/no/such"
    described = plane.run(job_body("fs-missing", inputs=[fs_input]))
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "ClientError: ProcessingInput 'shared': DirectoryPath '/no/such' does not exist on "
        "this machine"
    )


def _with(body: dict, path: str, value: object) -> dict:
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[keys[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (
            "ProcessingInputs.0.S3Input.LocalPath",
            "/data/in",
            "ProcessingInputs.0.S3Input.LocalPath",
        ),
        (
            "ProcessingInputs.0.S3Input.S3InputMode",
            "Pipe",
            "ProcessingInputs.0.S3Input.S3InputMode",
        ),
        (
            "ProcessingInputs.0.S3Input.LocalPath",
            "/opt/ml/processing/output/x",
            "ProcessingOutputConfig.Outputs.0.S3Output.LocalPath",
        ),
        ("AppSpecification.ImageUri", "nosuch:1", "AppSpecification.ImageUri"),
        ("AppSpecification.Colour", "blue", "AppSpecification.Colour"),
        (
            "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
            "s3://no-such-bucket/x",
            "ProcessingOutputConfig.Outputs.0.S3Output.S3Uri",
        ),
        ("ProcessingJobName", "bad_name", "ProcessingJobName"),
    ],
)
def test_invalid_requests_are_refused_naming_the_field(
    plane: Plane, path: str, value: object, field: str
) -> None:
    body = job_body(
        "refused",
        inputs=[s3_input("data", f"s3://{BUCKET}/data/", "/opt/ml/processing/input/data")],
        outputs=[s3_output("out", f"s3://{BUCKET}/out", "/opt/ml/processing/output")],
    )
    with pytest.raises(ValidationError) as caught:
        plane.create(_with(body, path, value))
    assert caught.value.field == field, caught.value.message
