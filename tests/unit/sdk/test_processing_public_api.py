"""The processing SDK's public names, where sagemaker code looks for them: a decision."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "modelyard.processing": [
        "FrameworkProcessor",
        "ProcessingInput",
        "ProcessingJob",
        "ProcessingOutput",
        "Processor",
        "ScriptProcessor",
    ],
    "modelyard.sklearn.processing": ["SKLearnProcessor"],
    "modelyard.spark": ["PySparkProcessor"],
    "modelyard.spark.processing": ["PySparkProcessor"],
    "modelyard.dataset_definition": [
        "AthenaDatasetDefinition",
        "DatasetDefinition",
        "FileSystemDatasetDefinition",
        "RedshiftDatasetDefinition",
        "S3Input",
    ],
    "modelyard.dataset_definition.inputs": [
        "AthenaDatasetDefinition",
        "DatasetDefinition",
        "FileSystemDatasetDefinition",
        "RedshiftDatasetDefinition",
        "S3Input",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None
