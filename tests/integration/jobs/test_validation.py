"""A bad CreateTrainingJob request is refused with a 4xx naming the field, and runs nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from modelyard.errors import ConflictError, ModelyardError, ValidationError

from .conftest import BUCKET, Plane, job_body

Body = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Body], None]:
    def mutate(body: Body) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def _drop_program(body: Body) -> None:
    del body["HyperParameters"]["sagemaker_program"]


CASES = [
    (
        "unknown image",
        _set("AlgorithmSpecification.TrainingImage", "nope:1"),
        "AlgorithmSpecification.TrainingImage",
    ),
    (
        "entry point not in the bundle",
        _set("HyperParameters.sagemaker_program", '"missing.py"'),
        "HyperParameters.sagemaker_program",
    ),
    ("no entry point named", _drop_program, "HyperParameters.sagemaker_program"),
    (
        "channel without objects",
        _set("InputDataConfig.0.DataSource.S3DataSource.S3Uri", f"s3://{BUCKET}/empty/"),
        "InputDataConfig.0.DataSource.S3DataSource.S3Uri",
    ),
    ("hyperparameter not a string", _set("HyperParameters.epochs", 3), "HyperParameters.epochs"),
    (
        "hyperparameter not a scalar",
        _set("HyperParameters.layers", [64, 32]),
        "HyperParameters.layers",
    ),
    ("instance count 0", _set("ResourceConfig.InstanceCount", 0), "ResourceConfig.InstanceCount"),
    (
        "unknown instance type",
        _set("ResourceConfig.InstanceType", "ml.z9.huge"),
        "ResourceConfig.InstanceType",
    ),
    (
        "bad channel name",
        _set("InputDataConfig.0.ChannelName", "tr ain"),
        "InputDataConfig.0.ChannelName",
    ),
    (
        "too many channels",
        _set(
            "InputDataConfig",
            [
                {
                    "ChannelName": f"c{i}",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://{BUCKET}/data/train/",
                        }
                    },
                }
                for i in range(21)
            ],
        ),
        "InputDataConfig",
    ),
    ("unknown field", _set("Colour", "blue"), "Colour"),
    (
        "output bucket missing",
        _set("OutputDataConfig.S3OutputPath", "s3://no-such-bucket/out"),
        "OutputDataConfig.S3OutputPath",
    ),
    ("bad job name", _set("TrainingJobName", "under_score"), "TrainingJobName"),
    (
        "bad metric regex",
        _set("AlgorithmSpecification.MetricDefinitions", [{"Name": "loss", "Regex": "loss=([0-9"}]),
        "AlgorithmSpecification.MetricDefinitions.0.Regex",
    ),
    (
        "max runtime 0",
        _set("StoppingCondition.MaxRuntimeInSeconds", 0),
        "StoppingCondition.MaxRuntimeInSeconds",
    ),
    (
        "hyperparameter key too long",
        _set("HyperParameters." + "k" * 257, "1"),
        "HyperParameters." + "k" * 257,
    ),
]


@pytest.mark.parametrize(("mutate", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_request_is_refused_naming_the_field_and_runs_nothing(
    plane: Plane, mutate: Callable[[Body], None], field: str
) -> None:
    bundle = plane.bundle("bad", {"train.py": "print('never')\n"})
    body = job_body("bad", bundle)
    mutate(body)
    with pytest.raises(ValidationError) as refused:
        plane.create(body)
    assert refused.value.field == field, refused.value
    assert plane.client.get_json("/training-jobs")["TrainingJobSummaries"] == []
    assert plane.services.runtime.list() == []
    assert not (plane.services.settings.home / "jobs").exists()


def test_a_name_already_used_is_a_conflict(plane: Plane) -> None:
    bundle = plane.bundle("twice", {"train.py": "print('once')\n"})
    plane.create(job_body("twice", bundle))
    plane.wait("twice")
    with pytest.raises(ConflictError) as refused:
        plane.create(job_body("twice", bundle))
    assert refused.value.field == "TrainingJobName"
    assert refused.value.http_status == 409
    assert len(plane.services.runtime.list()) == 1


def test_errors_of_unknown_jobs_are_404(plane: Plane) -> None:
    for method, path in (
        ("GET", "/training-jobs/ghost"),
        ("POST", "/training-jobs/ghost/stop"),
        ("GET", "/training-jobs/ghost/logs"),
        ("GET", "/training-jobs/ghost/metrics"),
    ):
        with pytest.raises(ModelyardError) as missing:
            plane.client.request(method, path)
        assert missing.value.http_status == 404, path
