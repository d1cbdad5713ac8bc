"""Training jobs end to end over HTTP, on real processes and the toolkit-only image."""

from __future__ import annotations

import json

from modelyard.ids import ResourceKind

from .conftest import BUCKET, Plane, job_body

TRAIN = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
args = parser.parse_args()
print("first line of the script", flush=True)
rows = open(os.path.join(args.train, "data.csv")).read().split()
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={1.0 / (epoch + 1):.4f}", flush=True)
with open(os.path.join(args.model_dir, "model.json"), "w") as f:
    json.dump({"epochs": args.epochs, "rows": len(rows), "job": os.environ["TRAINING_JOB_NAME"],
               "hosts": json.loads(os.environ["SM_HOSTS"]), "env": os.environ.get("GREETING")}, f)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w") as f:
    f.write("all good")
"""


def test_a_script_mode_job_completes_with_its_model_in_the_store(plane: Plane) -> None:
    bundle = plane.bundle("simple", {"train.py": TRAIN})
    body = job_body(
        "simple",
        bundle,
        HyperParameters={"epochs": "3"},
        Environment={"GREETING": "hello"},
        AlgorithmSpecification={
            "MetricDefinitions": [{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}]
        },
    )
    created = plane.create(body)
    assert created["TrainingJobArn"].endswith(":training-job/simple")

    described = plane.wait("simple")
    assert described["TrainingJobStatus"] == "Completed", described
    assert described["SecondaryStatus"] == "Completed"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    model_uri = f"s3://{BUCKET}/output/simple/output/model.tar.gz"
    assert described["ModelArtifacts"] == {"S3ModelArtifacts": model_uri}
    assert described["HyperParameters"]["epochs"] == "3"
    assert described["ResourceConfig"]["InstanceType"] == "local"
    assert described["TrainingTimeInSeconds"] >= 0
    assert described["BillableTimeInSeconds"] == described["TrainingTimeInSeconds"]
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"):
        assert key in described

    model = json.loads(plane.artifact("output/simple/output/model.tar.gz")["model.json"])
    assert model == {"epochs": 3, "rows": 3, "job": "simple", "hosts": ["algo-1"], "env": "hello"}
    output = plane.artifact("output/simple/output/output.tar.gz")
    assert output == {"report.txt": b"all good"}

    host_dir = plane.services.settings.home / "jobs" / "training" / "simple" / "algo-1"
    assert (host_dir / "input" / "config" / "hyperparameters.json").is_file()
    assert list((host_dir / "input" / "data").iterdir()) == []  # staged copies released

    logs = plane.logs("simple")
    assert "first line of the script" in logs
    assert "epoch=2 loss=0.3333" in logs
    assert described["FinalMetricDataList"][0]["MetricName"] == "train:loss"
    assert described["FinalMetricDataList"][0]["Value"] == 0.3333
    series = plane.client.get_json("/training-jobs/simple/metrics")["Metrics"]
    assert [p["Value"] for p in series] == [1.0, 0.5, 0.3333]


def test_a_script_that_raises_fails_the_job_with_its_error(plane: Plane) -> None:
    script = "def train():\n    raise ValueError('the learning rate is far too high')\ntrain()\n"
    plane.create(job_body("broken", plane.bundle("broken", {"train.py": script})))
    described = plane.wait("broken")
    assert described["TrainingJobStatus"] == "Failed"
    assert described["SecondaryStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: ")
    assert "ValueError: the learning rate is far too high" in reason
    assert "exit code: 1" in reason
    assert "ModelArtifacts" not in described


def test_two_hosts_each_get_their_own_job_directory(plane: Plane) -> None:
    bundle = plane.bundle("pair", {"train.py": TRAIN})
    body = job_body(
        "pair", bundle, HyperParameters={"epochs": "1"}, ResourceConfig={"InstanceCount": 2}
    )
    plane.create(body)
    described = plane.wait("pair")
    assert described["TrainingJobStatus"] == "Completed", described
    model = json.loads(plane.artifact("output/pair/output/model.tar.gz")["model.json"])
    assert model["hosts"] == ["algo-1", "algo-2"]
    logs = plane.logs("pair")
    assert "[algo-1] first line of the script" in logs
    assert "[algo-2] first line of the script" in logs
    home = plane.services.settings.home / "jobs" / "training" / "pair"
    current = {
        host: json.loads((home / host / "input/config/resourceconfig.json").read_text())[
            "current_host"
        ]
        for host in ("algo-1", "algo-2")
    }
    assert current == {"algo-1": "algo-1", "algo-2": "algo-2"}


def test_listing_filters_like_list_training_jobs(plane: Plane) -> None:
    bundle = plane.bundle("listed", {"train.py": "print('ok')\n"})
    for name in ("listed-a", "listed-b", "other"):
        plane.create(job_body(name, bundle))
    for name in ("listed-a", "listed-b", "other"):
        plane.wait(name)
    page = plane.client.get_json(
        "/training-jobs", NameContains="listed", SortBy="Name", SortOrder="Ascending"
    )
    names = [s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
    assert names == ["listed-a", "listed-b"]
    assert page["TrainingJobSummaries"][0]["TrainingJobStatus"] == "Completed"
    first = plane.client.get_json("/training-jobs", MaxResults=1, SortBy="Name")
    assert len(first["TrainingJobSummaries"]) == 1
    assert first["NextToken"]
    completed = plane.client.get_json("/training-jobs", StatusEquals="Completed")
    assert len(completed["TrainingJobSummaries"]) == 3
    assert plane.services.catalog.get(ResourceKind.TRAINING_JOB, "other").status == "Completed"


PIPE_READER = """
import os
data = os.path.dirname(os.environ["SM_CHANNEL_TRAIN"])
for epoch in range(2):
    with open(os.path.join(data, f"train_{epoch}"), "rb") as fifo:
        print(f"epoch {epoch}: {len(fifo.read())} bytes", flush=True)
"""


def test_a_pipe_mode_channel_streams_each_epoch_through_a_fifo(plane: Plane) -> None:
    plane.put("data/train/more.csv", b"7,8\n")
    bundle = plane.bundle("piped", {"train.py": PIPE_READER})
    plane.create(job_body("piped", bundle, AlgorithmSpecification={"TrainingInputMode": "Pipe"}))
    described = plane.wait("piped")
    assert described["TrainingJobStatus"] == "Completed", described
    logs = plane.logs("piped")
    assert "epoch 0: 16 bytes" in logs
    assert "epoch 1: 16 bytes" in logs


def test_a_fastfile_channel_is_read_in_place_of_a_copy(plane: Plane) -> None:
    script = "import os\nprint(open(os.environ['SM_CHANNEL_TRAIN'] + '/data.csv').read().split())\n"
    bundle = plane.bundle("lazy", {"train.py": script})
    plane.create(job_body("lazy", bundle, AlgorithmSpecification={"TrainingInputMode": "FastFile"}))
    described = plane.wait("lazy")
    assert described["TrainingJobStatus"] == "Completed", described
    assert "['1,2', '3,4', '5,6']" in plane.logs("lazy")
