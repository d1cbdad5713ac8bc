"""Training as a user does it: the scikit-learn example through the SDK, and through the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sklearn"


def test_the_sklearn_example_trains_through_the_sdk_and_its_model_predicts(cli: Cli) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py")],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    # Progress and the script's own output stream as sagemaker prints them.
    for step in ("Starting", "Downloading", "Training", "Uploading", "Completed"):
        assert re.search(rf"^\S+ \S+ {step} - ", out, re.MULTILINE), step
    assert "train_accuracy=" in out
    assert re.search(r"^Training seconds: \d+$", out, re.MULTILINE)
    assert re.search(r"^test:accuracy: 0\.9\d*$", out, re.MULTILINE)
    accuracy = float(re.findall(r"held-out accuracy of the downloaded model: ([0-9.]+)", out)[0])
    assert accuracy >= 0.9


def _iris(directory: Path) -> Path:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    frame = load_iris(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=1, stratify=frame["target"])
    (directory / "train").mkdir(parents=True)
    (directory / "test").mkdir()
    train.to_csv(directory / "train" / "train.csv", index=False)
    test.to_csv(directory / "test" / "test.csv", index=False)
    return directory


def test_the_sklearn_example_trains_through_the_cli(cli: Cli, tmp_path: Path) -> None:
    data = _iris(tmp_path / "iris")
    with tarfile.open(tmp_path / "sourcedir.tar.gz", "w:gz") as archive:
        archive.add(EXAMPLE / "train.py", arcname="train.py")
    cli.run("up")
    cli.run("s3", "mb", "s3://data")
    cli.run("s3", "cp", "--recursive", str(data), "s3://data/iris/")
    cli.run("s3", "cp", str(tmp_path / "sourcedir.tar.gz"), "s3://data/code/sourcedir.tar.gz")
    body = {
        "TrainingJobName": "iris-cli",
        "AlgorithmSpecification": {
            "TrainingImage": "sklearn:1.5",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "test:accuracy", "Regex": r"test_accuracy=([0-9.]+)"}],
        },
        "HyperParameters": {
            "sagemaker_program": json.dumps("train.py"),
            "sagemaker_submit_directory": json.dumps("s3://data/code/sourcedir.tar.gz"),
            "n_estimators": "30",
        },
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://data/iris/{name}/"}
                },
            }
            for name in ("train", "test")
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://data/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request = tmp_path / "job.json"
    request.write_text(json.dumps(body))

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**body, "ResourceConfig": {"InstanceCount": 0}}))
    refused = cli.run("training-jobs", "create", "--body", str(bad), check=False)
    assert refused.returncode == 1
    assert "ResourceConfig.InstanceCount" in refused.stderr
    assert "Traceback" not in refused.stderr

    created = cli.run("training-jobs", "create", "--body", str(request)).stdout
    assert "training-job/iris-cli" in created
    log = cli.run("logs", "training-job", "iris-cli", "--follow").stdout
    assert "test_accuracy=" in log
    deadline = time.monotonic() + 60
    while True:  # the log ends when the container exits; the upload follows
        described = json.loads(cli.run("training-jobs", "describe", "iris-cli").stdout)
        if described["TrainingJobStatus"] != "InProgress" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert described["TrainingJobStatus"] == "Completed", described
    listed = json.loads(cli.run("training-jobs", "list", "--json").stdout)
    assert [job["TrainingJobName"] for job in listed] == ["iris-cli"]
    assert "iris-cli" in cli.run("training-jobs", "list").stdout

    model_uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    cli.run("s3", "cp", model_uri, str(tmp_path / "model.tar.gz"))
    with tarfile.open(tmp_path / "model.tar.gz") as archive:
        archive.extractall(tmp_path / "model", filter="data")
    import joblib
    import pandas as pd

    model = joblib.load(tmp_path / "model" / "model.joblib")
    test = pd.read_csv(data / "test" / "test.csv")
    accuracy = (model.predict(test.drop(columns="target")) == test["target"]).mean()
    assert accuracy >= 0.9


@pytest.mark.parametrize(
    ("example", "metric", "good"),
    [
        ("xgboost", "validation:rmse", lambda value: value < 65),
        ("pytorch", "test:accuracy", lambda value: value >= 0.85),
    ],
)
def test_the_framework_examples_train_through_the_sdk(
    cli: Cli, example: str, metric: str, good: Callable[[float], bool]
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / example / "run.py")],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^\S+ \S+ Completed - ", result.stdout, re.MULTILINE)
    value = float(re.findall(rf"^{re.escape(metric)}: ([0-9.]+)$", result.stdout, re.MULTILINE)[0])
    assert good(value), (metric, value)
