"""CreateTransformJob requests: what is accepted, what is refused and how it is said."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard.errors import ValidationError
from modelyard.jobs.transform_inputs import object_name
from modelyard.jobs.transform_spec import validate_transform_request


def request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "TransformJobName": "batch-1",
        "ModelName": "iris",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/in/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": "s3://data/out/", "KmsKeyId": "ignored"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "Tags": [{"Key": "team", "Value": "ml"}],
    }
    body.update(changes)
    return body


def test_a_valid_request_keeps_its_fields_and_gets_an_environment() -> None:
    spec = validate_transform_request(request())
    assert spec["TransformJobName"] == "batch-1"
    assert spec["Environment"] == {}
    assert "MaxConcurrentTransforms" not in spec  # asked from the container when it runs


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"TransformJobName": "no_underscores"}, "TransformJobName", "does not match"),
        ({"ModelName": "bad model"}, "ModelName", "does not match"),
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB", "over SageMaker's limit"),
        (
            {"MaxPayloadInMB": 20, "MaxConcurrentTransforms": 6},
            "MaxConcurrentTransforms",
            "6 x 20",
        ),
        ({"BatchStrategy": "Everything"}, "BatchStrategy", "MultiRecord"),
        (
            {"TransformResources": {"InstanceType": "ml.huge", "InstanceCount": 1}},
            "TransformResources.InstanceType",
            "not an instance type",
        ),
        (
            {"TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 0}},
            "TransformResources.InstanceCount",
            "below the minimum 1",
        ),
        (
            {"TransformOutput": {"S3OutputPath": "/tmp/out"}},
            "TransformOutput.S3OutputPath",
            "does not match",
        ),
        (
            {"DataCaptureConfig": {"DestinationS3Uri": "s3://data/capture/"}},
            "DataCaptureConfig",
            "not supported",
        ),
    ],
)
def test_bad_requests_name_the_field(changes: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        validate_transform_request(request(**changes))
    assert caught.value.field == field


def test_an_augmented_manifest_is_refused_naming_what_to_use() -> None:
    body = request()
    body["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"] = "AugmentedManifestFile"
    with pytest.raises(ValidationError, match="S3Prefix") as caught:
        validate_transform_request(body)
    assert caught.value.field == "TransformInput.DataSource.S3DataSource.S3DataType"


def test_a_missing_required_field_is_named() -> None:
    body = request()
    del body["TransformOutput"]
    with pytest.raises(ValidationError) as caught:
        validate_transform_request(body)
    assert caught.value.field == "TransformOutput"


@pytest.mark.parametrize(
    ("key", "prefix", "name"),
    [
        ("in/a.csv", "in/", "a.csv"),
        ("in/a.csv", "in", "a.csv"),
        ("in/deep/b.csv", "in", "deep/b.csv"),
        ("in/part-1.csv", "in/part", "part-1.csv"),
        ("in/a.csv", "in/a.csv", "a.csv"),
        ("a.csv", "", "a.csv"),
    ],
)
def test_outputs_are_named_below_the_input_prefix(key: str, prefix: str, name: str) -> None:
    assert object_name(key, prefix) == name
