"""CreateTrainingJob validation (botocore's shapes plus modelyard's rules), describe shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from modelyard.catalog.base import MetricPoint, StatusEvent
from modelyard.errors import ValidationError
from modelyard.jobs import instance_profile, instance_profiles, validate_training_request
from modelyard.jobs.metrics import MetricParser
from modelyard.jobs.shapes import sagemaker_shapes
from modelyard.jobs.training_describe import final_metrics, transitions
from modelyard.jobs.training_spec import checkpoint_relative_path, hyperparameter


def minimal() -> dict[str, Any]:
    return {
        "TrainingJobName": "job-1",
        "AlgorithmSpecification": {"TrainingImage": "toolkit:test"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
    }


def test_defaults_are_filled_in_and_the_role_may_be_left_out() -> None:
    spec = validate_training_request(minimal())
    assert spec["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert spec["ResourceConfig"] == {"InstanceType": "local", "InstanceCount": 1}
    assert spec["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert spec["HyperParameters"] == {}
    assert "RoleArn" not in spec


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"HyperParameters": {"lr": 0.1}}, "HyperParameters.lr"),
        ({"HyperParameters": {f"k{i}": "1" for i in range(101)}}, "HyperParameters"),
        ({"HyperParameters": {"x": "v" * 2501}}, "HyperParameters.x"),
        ({"ResourceConfig": {"InstanceCount": 0}}, "ResourceConfig.InstanceCount"),
        ({"ResourceConfig": {"InstanceCount": True}}, "ResourceConfig.InstanceCount"),
        ({"Environment": {"A": 1}}, "Environment.A"),
        (
            {"AlgorithmSpecification": {"AlgorithmName": "xgboost"}},
            "AlgorithmSpecification.AlgorithmName",
        ),
        (
            {"AlgorithmSpecification": {"TrainingImage": "x", "TrainingInputMode": "Stream"}},
            "AlgorithmSpecification.TrainingInputMode",
        ),
        ({"OutputDataConfig": {"S3OutputPath": "/local/dir"}}, "OutputDataConfig.S3OutputPath"),
        (
            {"CheckpointConfig": {"S3Uri": "s3://bkt/c", "LocalPath": "/tmp/ckpt"}},
            "CheckpointConfig.LocalPath",
        ),
        ({"OutputDataConfig": None, "TrainingJobName": "ok"}, "OutputDataConfig"),
    ],
)
def test_bad_fields_are_named(change: dict[str, Any], field: str) -> None:
    body = {**minimal(), **change}
    with pytest.raises(ValidationError) as refused:
        validate_training_request(body)
    assert refused.value.field == field, refused.value


def test_hyperparameters_the_sdk_json_encoded_are_read_back() -> None:
    spec = {"HyperParameters": {"sagemaker_program": '"train.py"', "raw": "train.py"}}
    assert hyperparameter(spec, "sagemaker_program") == "train.py"
    assert hyperparameter(spec, "raw") == "train.py"
    assert hyperparameter(spec, "missing") is None


def test_checkpoint_paths_land_in_the_job_directory() -> None:
    assert str(checkpoint_relative_path("/opt/ml/checkpoints")) == "checkpoints"
    assert str(checkpoint_relative_path("state/ckpt")) == "state/ckpt"
    with pytest.raises(ValidationError):
        checkpoint_relative_path("/opt/ml/../etc")


def test_every_ml_instance_type_is_one_sagemaker_knows() -> None:
    shapes = sagemaker_shapes()
    known = (
        set(shapes["TrainingInstanceType"]["enum"])
        | set(shapes["ProductionVariantInstanceType"]["enum"])  # endpoints use the table too
        | {"local"}
    )
    unknown = {name for name in instance_profiles() if name not in known}
    assert not unknown
    assert instance_profile("ml.m5.large").resources.cpus == 2
    assert instance_profile("ml.m5.large").resources.memory_mb == 8192
    assert instance_profile("local").resources.cpus is None


def test_metric_regexes_take_their_first_group() -> None:
    parser = MetricParser(
        [{"Name": "loss", "Regex": r"loss=([0-9.e-]+)"}, {"Name": "acc", "Regex": "acc: (\\S+)"}]
    )
    found = [(name, value) for name, _, value in parser.parse("loss=0.25 acc: 0.9 loss=1e-3")]
    assert found == [("loss", 0.25), ("loss", 0.001), ("acc", 0.9)]
    assert parser.parse("acc: nan") == []


def test_secondary_status_transitions_chain_their_times() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        StatusEvent("InProgress", None, None, t0),
        StatusEvent("InProgress", "Starting", "Starting the training job", t0),
        StatusEvent("InProgress", "Training", None, t0 + timedelta(seconds=2)),
        StatusEvent("Stopping", "MaxRuntimeExceeded", "too long", t0 + timedelta(seconds=5)),
        StatusEvent("Stopped", "MaxRuntimeExceeded", None, t0 + timedelta(seconds=6)),
    ]
    steps = transitions(events, ended=True)
    assert [s["Status"] for s in steps] == ["Starting", "Training", "MaxRuntimeExceeded"]
    assert steps[0]["EndTime"] == steps[1]["StartTime"]
    assert steps[1]["StatusMessage"].startswith("Training image download completed")
    assert steps[2]["EndTime"] == steps[2]["StartTime"]
    points = [
        MetricPoint("acc", t0, 0.5),
        MetricPoint("acc", t0 + timedelta(seconds=1), 0.7),
        MetricPoint("loss", t0, 2.0),
    ]
    assert [(m["MetricName"], m["Value"]) for m in final_metrics(points)] == [
        ("acc", 0.7),
        ("loss", 2.0),
    ]
