"""The SM_* environment built from a job directory (the oracle test checks it against
the real toolkit; these pin the behaviour that matters to scripts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard.container.environment import TRAINING_ENV_KEYS, load_environment
from modelyard.container.errors import PlatformError
from modelyard.container.hardware import Hardware

from .conftest import MACHINE, MakeJob


def env_of(base: Path, **extra: str) -> dict[str, str]:
    environ = {"SAGEMAKER_BASE_DIR": str(base), **extra}
    return load_environment(environ, machine=MACHINE).to_env_vars()


def test_paths_and_channels_follow_the_base_dir(make_job: MakeJob) -> None:
    base = make_job()
    env = env_of(base)
    assert env["SM_MODEL_DIR"] == f"{base}/model"
    assert env["SM_INPUT_DIR"] == f"{base}/input"
    assert env["SM_INPUT_CONFIG_DIR"] == f"{base}/input/config"
    assert env["SM_OUTPUT_DIR"] == f"{base}/output"
    assert env["SM_OUTPUT_DATA_DIR"] == f"{base}/output/data"
    assert env["SM_OUTPUT_INTERMEDIATE_DIR"] == f"{base}/output/intermediate"
    assert env["SM_CHANNELS"] == '["test","train"]'
    assert env["SM_CHANNEL_TRAIN"] == f"{base}/input/data/train"
    assert env["SM_CHANNEL_TEST"] == f"{base}/input/data/test"


def test_sagemaker_hyperparameters_are_not_the_users(make_job: MakeJob) -> None:
    env = env_of(make_job())
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 3,
        "flag": True,
        "lr": 0.001,
        "name": "resnet",
        "plain": "abc",
    }
    assert env["SM_HP_EPOCHS"] == "3"
    assert env["SM_HP_NAME"] == "resnet"
    assert env["SM_HP_FLAG"] == "true"
    assert not any(key.startswith("SM_HP_SAGEMAKER") for key in env)
    assert json.loads(env["SM_USER_ARGS"]) == [
        "--epochs", "3", "--flag", "True", "--lr", "0.001", "--name", "resnet", "--plain", "abc",
    ]  # fmt: skip
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert env["SM_MODULE_NAME"] == "train"
    assert env["SM_MODULE_DIR"] == "s3://bucket/job/source/sourcedir.tar.gz"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_FRAMEWORK_PARAMS"] == "{}"


def test_unknown_sagemaker_hyperparameters_are_framework_params(make_job: MakeJob) -> None:
    base = make_job(
        hyperparameters={"sagemaker_program": '"t.py"', "sagemaker_mpi_enabled": "true"}
    )
    env = env_of(base)
    assert env["SM_FRAMEWORK_PARAMS"] == '{"sagemaker_mpi_enabled":true}'
    assert env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["homogeneousCluster"]'


def test_hosts_current_host_and_resource_config(make_job: MakeJob) -> None:
    env = env_of(make_job(current_host="algo-2", instance_count=2))
    assert env["SM_HOSTS"] == '["algo-1","algo-2"]'
    assert env["SM_CURRENT_HOST"] == "algo-2"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.xlarge"
    assert env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert env["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == '["algo-1","algo-2"]'
    assert env["SM_NETWORK_INTERFACE_NAME"] == "eth0"
    assert env["SM_IS_HETERO"] == "false"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-2"
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["master_hostname"] == "algo-1"
    assert training_env["is_master"] is False


def test_hardware_counts(make_job: MakeJob) -> None:
    environ = {"SAGEMAKER_BASE_DIR": str(make_job())}
    env = load_environment(environ, machine=Hardware(8, 2, 0)).to_env_vars()
    assert (env["SM_NUM_CPUS"], env["SM_NUM_GPUS"], env["SM_NUM_NEURONS"]) == ("8", "2", "0")


def test_training_env_has_the_toolkits_keys(make_job: MakeJob) -> None:
    training_env = json.loads(env_of(make_job())["SM_TRAINING_ENV"])
    assert tuple(training_env) == TRAINING_ENV_KEYS
    assert training_env["hyperparameters"]["epochs"] == 3
    assert training_env["job_name"] is None
    assert training_env["framework_module"] is None


def test_environment_variables_the_toolkit_reads(make_job: MakeJob) -> None:
    env = env_of(
        make_job(),
        SAGEMAKER_PROGRAM="other.py",
        TRAINING_JOB_NAME="my-job",
        SAGEMAKER_TRAINING_MODULE="pkg.mod:main",
    )
    assert env["SM_USER_ENTRY_POINT"] == "other.py"
    assert env["SM_MODULE_NAME"] == "other"
    assert env["SM_FRAMEWORK_MODULE"] == "pkg.mod:main"
    assert json.loads(env["SM_TRAINING_ENV"])["job_name"] == "my-job"


def test_no_program_reads_as_the_toolkits_none(make_job: MakeJob) -> None:
    env = env_of(make_job(hyperparameters={"a": "1"}))
    assert env["SM_USER_ENTRY_POINT"] == ""
    assert env["SM_MODULE_NAME"] == "None"
    assert env["SM_MODULE_DIR"].endswith("/code")


def test_process_variables_beside_sm(make_job: MakeJob) -> None:
    environ = {"SAGEMAKER_BASE_DIR": str(make_job(current_host="algo-2", instance_count=2))}
    extra = load_environment(environ, machine=MACHINE).process_env_vars()
    assert extra == {
        "SAGEMAKER_JOB_NAME": "job-1",
        "CURRENT_HOST": "algo-2",
        "SAGEMAKER_REGION": "us-west-2",
    }


def test_region_falls_back_to_aws_default_region(make_job: MakeJob) -> None:
    environ = {
        "SAGEMAKER_BASE_DIR": str(make_job(hyperparameters={})),
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    extra = load_environment(environ, machine=MACHINE).process_env_vars()
    assert extra["SAGEMAKER_REGION"] == "eu-west-1"
    assert extra["SAGEMAKER_JOB_NAME"] == ""


def test_heterogeneous_cluster(make_job: MakeJob) -> None:
    from modelyard.container.jobdir import resource_config

    resource = resource_config(
        {
            "InstanceGroups": [
                {"InstanceGroupName": "gpu", "InstanceType": "ml.p3.2xlarge", "InstanceCount": 2},
                {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
            ]
        },
        "algo-3",
    )
    hps = {
        "sagemaker_program": '"t.py"',
        "sagemaker_torch_distributed_enabled": "true",
        "sagemaker_distribution_instance_groups": '["gpu"]',
    }
    env = env_of(make_job(hyperparameters=hps, resource=resource))
    assert env["SM_IS_HETERO"] == "true"
    assert env["SM_CURRENT_INSTANCE_GROUP"] == "cpu"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.c5.xlarge"
    assert env["SM_INSTANCE_GROUPS"] == '["gpu","cpu"]'
    assert env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["gpu"]'
    training_env = json.loads(env["SM_TRAINING_ENV"])
    assert training_env["distribution_hosts"] == ["algo-1", "algo-2"]
    assert training_env["master_hostname"] == "algo-1"


def test_missing_job_directory_is_a_platform_error(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="no job directory"):
        load_environment({"SAGEMAKER_BASE_DIR": str(tmp_path / "nope")}, machine=MACHINE)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("resourceconfig.json", None, "has no"),
        ("resourceconfig.json", "{not json", "cannot read"),
        ("resourceconfig.json", '{"hosts": [], "current_host": "algo-1"}', "non-empty"),
        ("resourceconfig.json", '{"hosts": ["algo-1"], "current_host": "algo-9"}', "not one"),
        ("hyperparameters.json", "[]", "not a JSON object"),
        ("inputdataconfig.json", None, "has no"),
    ],
)
def test_broken_config_files_are_platform_errors(
    make_job: MakeJob, name: str, content: str | None, message: str
) -> None:
    base = make_job()
    path = base / "input" / "config" / name
    if content is None:
        path.unlink()
    else:
        path.write_text(content)
    with pytest.raises(PlatformError, match=message):
        load_environment({"SAGEMAKER_BASE_DIR": str(base)}, machine=MACHINE)


def test_loading_has_no_side_effects(make_job: MakeJob) -> None:
    base = make_job()
    before = sorted(p.relative_to(base) for p in base.rglob("*"))
    environ = {"SAGEMAKER_BASE_DIR": str(base)}
    load_environment(environ, machine=MACHINE).to_env_vars()
    assert environ == {"SAGEMAKER_BASE_DIR": str(base)}
    assert sorted(p.relative_to(base) for p in base.rglob("*")) == before
