"""The SDK's estimators against a served control plane: fit, logs, attach, stop, failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelyard
from modelyard.estimator import Estimator
from modelyard.exceptions import UnexpectedStatusException
from modelyard.inputs import FileSystemInput, TrainingInput

from .conftest import BUCKET, TOOLKIT_IMAGE, Plane

TRAIN = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--optimizer", type=str)
args, _ = parser.parse_known_args()
from helpers import describe
channels = {name: sorted(os.listdir(os.environ[f"SM_CHANNEL_{name.upper()}"]))
            for name in json.loads(os.environ["SM_CHANNELS"])}
print(describe(args.epochs, args.optimizer), flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as f:
    json.dump({"epochs": args.epochs, "optimizer": args.optimizer, "channels": channels}, f)
if args.epochs > 100:
    raise SystemExit("too many epochs")
"""


@pytest.fixture
def session(plane: Plane) -> Iterator[modelyard.Session]:
    with modelyard.Session(
        server_url=plane.client.base_url, settings=plane.services.settings
    ) as found:
        yield found


@pytest.fixture
def source(tmp_path: Path) -> Path:
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / "train.py").write_text(TRAIN)
    (directory / "helpers.py").write_text(
        "def describe(epochs, optimizer):\n    return f'epochs={epochs} optimizer={optimizer}'\n"
    )
    return directory


def _estimator(session: modelyard.Session, source: Path, **overrides: object) -> Estimator:
    arguments: dict[str, object] = {
        "image_uri": TOOLKIT_IMAGE,
        "role": "SageMakerRole",
        "instance_count": 1,
        "instance_type": "ml.m5.large",
        "entry_point": "train.py",
        "source_dir": str(source),
        "output_path": f"s3://{BUCKET}/sdk-output",
        "hyperparameters": {"epochs": 3, "optimizer": "adam"},
        "sagemaker_session": session,
        "base_job_name": "sdk",
        **overrides,
    }
    return Estimator(**arguments)  # type: ignore[arg-type]


def test_fit_streams_the_log_and_the_model_lands_under_the_output_path(
    plane: Plane,
    session: modelyard.Session,
    source: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lookup.csv").write_text("a,b\n")
    estimator = _estimator(session, source)
    estimator.fit(
        {
            "train": TrainingInput(f"s3://{BUCKET}/data/train/", content_type="text/csv"),
            "extra": f"file://{shared}",
            "lookup": FileSystemInput("fs-0123456789abcdef", "EFS", str(shared)),
        }
    )
    out = capsys.readouterr().out
    assert "epochs=3 optimizer=adam" in out
    assert "Completed - Training job completed" in out
    job = estimator.latest_training_job
    assert job is not None
    assert job.name.startswith("sdk-")
    assert estimator.model_data == f"s3://{BUCKET}/sdk-output/{job.name}/output/model.tar.gz"
    key = estimator.model_data.removeprefix(f"s3://{BUCKET}/")
    model = json.loads(plane.artifact(key)["model.json"])
    assert model == {
        "epochs": 3,
        "optimizer": "adam",
        "channels": {"extra": ["lookup.csv"], "lookup": ["lookup.csv"], "train": ["data.csv"]},
    }
    assert (shared / "lookup.csv").read_text() == "a,b\n"  # read in place, left in place
    described = estimator.describe()
    assert described["TrainingJobStatus"] == "Completed"
    assert described["TrainingStartTime"].tzinfo is not None  # datetimes, as boto3 gives

    attached = Estimator.attach(job.name, sagemaker_session=session)
    assert attached.model_data == estimator.model_data
    assert attached.hyperparameters()["epochs"] == "3"
    assert attached.instance_type == "ml.m5.large"


def test_a_failed_job_raises_unexpected_status(
    session: modelyard.Session, source: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    estimator = _estimator(session, source, hyperparameters={"epochs": 500, "optimizer": "sgd"})
    with pytest.raises(UnexpectedStatusException) as failed:
        estimator.fit(f"s3://{BUCKET}/data/train/", logs=False)
    assert failed.value.actual_status == "Failed"
    assert "too many epochs" in str(failed.value)
    assert capsys.readouterr().out == ""


def test_fit_without_waiting_then_stop(
    plane: Plane, session: modelyard.Session, tmp_path: Path
) -> None:
    code = tmp_path / "sleepy"
    code.mkdir()
    (code / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    estimator = _estimator(session, code, entry_point="sleep.py", hyperparameters={})
    estimator.fit(wait=False)
    job = estimator.latest_training_job
    assert job is not None
    while job.describe().get("SecondaryStatus") != "Training":
        time.sleep(0.05)
    job.stop()
    assert job.wait(logs="None")["TrainingJobStatus"] == "Stopped"
