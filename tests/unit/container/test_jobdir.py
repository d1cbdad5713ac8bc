"""The job directory the platform writes before a container starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.container.jobdir import (
    input_data_config_from_channels,
    resource_config,
    write_job_dir,
)

from .conftest import read_json


def test_resource_config_has_sagemakers_shape_and_key_order() -> None:
    config = resource_config({"InstanceType": "ml.m5.xlarge", "InstanceCount": 2}, "algo-2")
    assert config == {
        "current_host": "algo-2",
        "current_instance_type": "ml.m5.xlarge",
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1", "algo-2"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": "ml.m5.xlarge",
                "hosts": ["algo-1", "algo-2"],
            }
        ],
        "network_interface_name": "eth0",
    }
    assert list(config) == [
        "current_host",
        "current_instance_type",
        "current_group_name",
        "hosts",
        "instance_groups",
        "network_interface_name",
    ]


def test_resource_config_of_a_heterogeneous_cluster() -> None:
    groups = [
        {"InstanceGroupName": "a", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 1},
        {"InstanceGroupName": "b", "InstanceType": "ml.c5.xlarge", "InstanceCount": 2},
    ]
    config = resource_config({"InstanceGroups": groups}, "algo-3")
    assert config["current_group_name"] == "b"
    assert config["current_instance_type"] == "ml.c5.xlarge"
    assert [g["hosts"] for g in config["instance_groups"]] == [["algo-1"], ["algo-2", "algo-3"]]


def test_resource_config_refuses_a_foreign_host() -> None:
    with pytest.raises(ValueError, match="algo-3"):
        resource_config({"InstanceType": "ml.m5.large", "InstanceCount": 2}, "algo-3")


def test_input_data_config_from_the_api_channels() -> None:
    channels = [
        {
            "ChannelName": "train",
            "ContentType": "text/csv",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}},
        },
        {
            "ChannelName": "test",
            "InputMode": "FastFile",
            "RecordWrapperType": "RecordIO",
            "DataSource": {
                "S3DataSource": {"S3Uri": "s3://b/v", "S3DistributionType": "ShardedByS3Key"}
            },
        },
    ]
    assert input_data_config_from_channels(channels) == {
        "train": {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        },
        "test": {
            "TrainingInputMode": "FastFile",
            "S3DistributionType": "ShardedByS3Key",
            "RecordWrapperType": "RecordIO",
        },
    }


def test_write_job_dir_lays_out_opt_ml(tmp_path: Path) -> None:
    resource = resource_config({"InstanceType": "ml.m5.large", "InstanceCount": 1}, "algo-1")
    paths = write_job_dir(
        tmp_path / "ml",
        hyperparameters={"epochs": "2", "sagemaker_program": '"train.py"'},
        input_data_config={"train": {"TrainingInputMode": "File"}},
        resource_config=resource,
    )
    base = tmp_path / "ml"
    for directory in (
        "input/config",
        "input/data/train",
        "code",
        "model",
        "output/data",
        "output/intermediate",
        "checkpoints",
    ):
        assert (base / directory).is_dir(), directory
    assert read_json(paths.hyperparameters_file) == {
        "epochs": "2",
        "sagemaker_program": '"train.py"',
    }
    assert read_json(paths.input_data_config_file) == {"train": {"TrainingInputMode": "File"}}
    assert read_json(paths.resource_config_file) == resource


def test_write_job_dir_sorts_hosts(tmp_path: Path) -> None:
    paths = write_job_dir(
        tmp_path,
        hyperparameters={},
        input_data_config={},
        resource_config={"current_host": "algo-1", "hosts": ["algo-2", "algo-1"]},
    )
    assert read_json(paths.resource_config_file)["hosts"] == ["algo-1", "algo-2"]


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "error"),
    [
        ({"epochs": 3}, {}, TypeError),
        ({}, {"bad/name": {}}, ValueError),
    ],
)
def test_write_job_dir_checks_its_input(
    tmp_path: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, dict[str, str]],
    error: type,
) -> None:
    with pytest.raises(error):
        write_job_dir(
            tmp_path,
            hyperparameters=hyperparameters,
            input_data_config=channels,
            resource_config={"current_host": "algo-1", "hosts": ["algo-1"]},
        )
