"""CreateProcessingJob validation without a server: defaults, modelyard's rules, fields named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from modelyard.errors import ValidationError
from modelyard.jobs.processing_describe import public_spec
from modelyard.jobs.processing_spec import validate_processing_request

BASE: dict[str, Any] = {
    "ProcessingJobName": "job",
    "AppSpecification": {"ImageUri": "sklearn:1.5"},
    "ProcessingResources": {"ClusterConfig": {}},
    "ProcessingInputs": [
        {
            "InputName": "data",
            "S3Input": {
                "S3Uri": "s3://bkt/data/",
                "LocalPath": "/opt/ml/processing/input/data",
                "S3DataType": "S3Prefix",
            },
        }
    ],
}


def body(**changes: Any) -> dict[str, Any]:
    found = copy.deepcopy(BASE)
    found.update(changes)
    return found


def test_defaults_are_filled_in() -> None:
    spec = validate_processing_request(body())
    cluster = spec["ProcessingResources"]["ClusterConfig"]
    assert (cluster["InstanceType"], cluster["InstanceCount"]) == ("local", 1)
    assert spec["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    s3_input = spec["ProcessingInputs"][0]["S3Input"]
    assert s3_input["S3InputMode"] == "File"
    assert s3_input["S3DataDistributionType"] == "FullyReplicated"
    assert spec["ProcessingOutputConfig"] == {"Outputs": []}


def test_a_file_system_definition_is_modelyards_own_member() -> None:
    item = {
        "InputName": "shared",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/shared",
            "FileSystemDatasetDefinition": {"DirectoryPath": "/mnt/fsx/data"},
        },
    }
    spec = validate_processing_request(body(ProcessingInputs=[item]))
    definition = spec["ProcessingInputs"][0]["DatasetDefinition"]
    assert definition["FileSystemDatasetDefinition"]["FileSystemAccessMode"] == "ro"
    assert definition["InputMode"] == "File"


def _athena(**fields: Any) -> dict[str, Any]:
    return {
        "InputName": "q",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/q",
            "AthenaDatasetDefinition": {
                "QueryString": "SELECT 1",
                "OutputS3Uri": "s3://bkt/athena/",
                "OutputFormat": "PARQUET",
                **fields,
            },
        },
    }


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        (
            [_athena(OutputFormat="ORC")],
            "ProcessingInputs.0.DatasetDefinition.AthenaDatasetDefinition",
        ),
        (
            [_athena(OutputCompression="ZLIB")],
            "ProcessingInputs.0.DatasetDefinition.AthenaDatasetDefinition",
        ),
        (
            [
                {
                    **BASE["ProcessingInputs"][0],
                    "S3Input": {
                        **BASE["ProcessingInputs"][0]["S3Input"],
                        "S3CompressionType": "Gzip",
                    },
                }
            ],
            "ProcessingInputs.0.S3Input.S3CompressionType",
        ),
        (
            [{"InputName": "x"}],
            "ProcessingInputs.0.S3Input",
        ),
        (
            [BASE["ProcessingInputs"][0], BASE["ProcessingInputs"][0]],
            "ProcessingInputs.1.InputName",
        ),
    ],
)
def test_unsupported_inputs_are_refused_naming_the_field(
    inputs: list[dict[str, Any]], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_processing_request(body(ProcessingInputs=inputs))
    assert refused.value.field == field


def test_instance_preferences_and_feature_store_outputs_are_refused() -> None:
    resources = {"ClusterConfig": {"InstancePreferences": [{"InstanceType": "ml.m5.large"}]}}
    with pytest.raises(ValidationError, match="InstancePreferences"):
        validate_processing_request(body(ProcessingResources=resources))
    outputs = {"Outputs": [{"OutputName": "fs", "FeatureStoreOutput": {"FeatureGroupName": "g"}}]}
    with pytest.raises(ValidationError, match="FeatureStoreOutput"):
        validate_processing_request(body(ProcessingOutputConfig=outputs))


def test_a_database_password_is_masked_in_what_is_shown() -> None:
    item = {
        "InputName": "w",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/w",
            "RedshiftDatasetDefinition": {
                "ClusterId": "postgresql+psycopg://analyst:hunter2@db.example:5432/sales",
                "Database": "sales",
                "QueryString": "SELECT 1",
                "OutputS3Uri": "s3://bkt/rs/",
                "OutputFormat": "CSV",
            },
        },
    }
    spec = validate_processing_request(body(ProcessingInputs=[item]))
    shown = public_spec(spec)["ProcessingInputs"][0]["DatasetDefinition"]
    assert shown["RedshiftDatasetDefinition"]["ClusterId"] == (
        "postgresql+psycopg://analyst:***@db.example:5432/sales"
    )
    assert (
        "hunter2"
        in spec["ProcessingInputs"][0]["DatasetDefinition"]["RedshiftDatasetDefinition"][
            "ClusterId"
        ]
    )
