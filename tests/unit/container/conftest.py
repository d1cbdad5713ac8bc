"""A job directory per test, written with the platform's own writer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelyard.container.hardware import Hardware
from modelyard.container.jobdir import resource_config, write_job_dir

MACHINE = Hardware(num_cpus=4, num_gpus=0, num_neurons=0)

HYPERPARAMETERS = {
    "epochs": "3",
    "lr": "0.001",
    "flag": "true",
    "name": '"resnet"',
    "plain": "abc",
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": '"s3://bucket/job/source/sourcedir.tar.gz"',
    "sagemaker_region": '"us-west-2"',
    "sagemaker_job_name": '"job-1"',
    "sagemaker_container_log_level": "20",
}

CHANNELS = {
    "train": {
        "ContentType": "text/csv",
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    },
    "test": {
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
    },
}

MakeJob = Callable[..., Path]


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """``make_job(hyperparameters=..., channels=..., current_host=..., instance_count=...)``."""

    def make(
        *,
        hyperparameters: dict[str, str] | None = None,
        channels: dict[str, dict[str, Any]] | None = None,
        current_host: str = "algo-1",
        instance_count: int = 1,
        resource: dict[str, Any] | None = None,
        name: str = "job",
    ) -> Path:
        base = tmp_path / name
        write_job_dir(
            base,
            hyperparameters=HYPERPARAMETERS if hyperparameters is None else hyperparameters,
            input_data_config=CHANNELS if channels is None else channels,
            resource_config=resource
            or resource_config(
                {"InstanceType": "ml.m5.xlarge", "InstanceCount": instance_count},
                current_host,
            ),
        )
        return base

    return make


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
