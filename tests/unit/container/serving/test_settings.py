"""The serving environment, read in one place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelyard.container.serving_settings import ServingConfigError, ServingSettings


def test_defaults() -> None:
    settings = ServingSettings.from_environ({})
    assert settings.base_dir == Path("/opt/ml")
    assert settings.model_dir == Path("/opt/ml/model")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.workers == len(os.sched_getaffinity(0))
    assert settings.model_timeout_s == 60
    assert settings.max_body_bytes == 6 * 1024 * 1024
    assert settings.default_accept == "application/json"
    assert settings.execution_parameters() == {
        "MaxConcurrentTransforms": settings.workers,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


def test_every_variable() -> None:
    settings = ServingSettings.from_environ(
        {
            "SAGEMAKER_BASE_DIR": "/tmp/ml",
            "SAGEMAKER_BIND_TO_PORT": "9001",
            "MODELYARD_PORT_HTTP": "9002",
            "MODELYARD_BIND_HOST": "0.0.0.0",
            "SAGEMAKER_MODEL_SERVER_WORKERS": "3",
            "SAGEMAKER_MODEL_SERVER_TIMEOUT": "5",
            "SAGEMAKER_MAX_PAYLOAD_IN_MB": "50",
            "SAGEMAKER_PROGRAM": "train.py",
            "SAGEMAKER_FRAMEWORK": "scikit-learn",
            "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "10",
            "SAGEMAKER_BATCH": "true",
            "SAGEMAKER_BATCH_STRATEGY": "SingleRecord",
            "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "2",
        }
    )
    assert settings.code_dir == Path("/tmp/ml/model/code")
    assert (settings.host, settings.port, settings.workers) == ("0.0.0.0", 9001, 3)
    assert (settings.model_timeout_s, settings.max_body_bytes) == (5, 50 * 1024 * 1024)
    assert (settings.program, settings.framework) == ("train.py", "sklearn")
    assert settings.default_accept == "text/csv"
    assert settings.log_level == 10
    assert settings.batch
    assert settings.execution_parameters() == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 50,
    }


def test_the_runtime_port_is_used_without_sagemakers() -> None:
    assert ServingSettings.from_environ({"MODELYARD_PORT_HTTP": "9002"}).port == 9002


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "two"),
        ("SAGEMAKER_MODEL_SERVER_TIMEOUT", "-1"),
        ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "101"),
        ("SAGEMAKER_BIND_TO_PORT", "70000"),
        ("SAGEMAKER_FRAMEWORK", "tensorflow"),
        ("SAGEMAKER_BATCH", "maybe"),
        ("SAGEMAKER_BATCH_STRATEGY", "ALL"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ServingConfigError, match=name):
        ServingSettings.from_environ({name: value})
