"""The training SDK's public names, where sagemaker code looks for them: a decision, held here."""

from __future__ import annotations

import importlib

import pytest

import modelyard

PUBLIC = {
    "modelyard.estimator": ["Estimator", "EstimatorBase", "Framework", "TrainingJob"],
    "modelyard.inputs": ["FileSystemInput", "ShuffleConfig", "TrainingInput"],
    "modelyard.image_uris": ["retrieve"],
    "modelyard.exceptions": ["UnexpectedStatusException"],
    "modelyard.sklearn": ["SKLearn", "SKLearnModel", "SKLearnPredictor", "SKLearnProcessor"],
    "modelyard.sklearn.estimator": ["SKLearn"],
    "modelyard.xgboost": ["XGBoost", "XGBoostModel", "XGBoostPredictor"],
    "modelyard.xgboost.estimator": ["XGBoost"],
    "modelyard.pytorch": ["PyTorch", "PyTorchModel", "PyTorchPredictor"],
    "modelyard.pytorch.estimator": ["PyTorch"],
    "modelyard.jobs": [
        "InstanceProfile",
        "Job",
        "JobController",
        "JobFailedError",
        "MetricParser",
        "Outcome",
        "Phases",
        "TrainingController",
        "instance_profile",
        "instance_profiles",
        "validate_training_request",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_the_package_root_resolves_sagemakers_top_level_names_lazily() -> None:
    assert sorted(modelyard.__all__) == [
        "Session",
        "TrainingInput",
        "__version__",
        "get_execution_role",
    ]
    assert modelyard.TrainingInput is importlib.import_module("modelyard.inputs").TrainingInput
    assert modelyard.get_execution_role().startswith("arn:aws:iam::")


def test_an_unexpected_status_is_a_value_error_and_a_modelyard_error() -> None:
    from modelyard.errors import ModelyardError
    from modelyard.exceptions import UnexpectedStatusException

    error = UnexpectedStatusException("Failed", ["Completed", "Stopped"], "Failed")
    assert isinstance(error, ValueError)
    assert isinstance(error, ModelyardError)
    assert error.actual_status == "Failed"
