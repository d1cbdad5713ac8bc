"""A CreateTransformJob request: validated, normalized, and read.

:func:`validate_transform_request` checks the request's shape by botocore's model, then
modelyard's own rules, and returns the spec the catalog keeps. The controller checks
what needs the outside world (the model, the input objects, the output bucket).

``MaxConcurrentTransforms``, ``BatchStrategy`` and ``MaxPayloadInMB`` are kept as given:
when one is left out, the job asks the model's container (``GET
/execution-parameters``) once it runs, as SageMaker does, and describe shows the value
it used.

Differences from SageMaker, on purpose:

- ``TransformResources.InstanceType`` is any type of :mod:`modelyard.jobs.instance_types`
  (``local`` is this machine); each instance is one replica process of the model.
- ``S3DataType`` is ``S3Prefix`` or ``ManifestFile``; ``AugmentedManifestFile`` and
  ``Converse`` are refused, as is ``DataCaptureConfig``.
- KMS keys (``KmsKeyId``, ``VolumeKmsKeyId``), ``Tags``, ``ExperimentConfig`` and
  ``TransformAmiVersion`` are accepted and ignored (nothing is encrypted here).
"""

from __future__ import annotations

import copy
from typing import Any

from modelyard.errors import ValidationError
from modelyard.ids import ResourceKind, validate_name
from modelyard.jobs.instance_types import InstanceProfile, instance_profile
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.jobs.transform_records import MAX_PAYLOAD_MB, RecordPlan
from modelyard.store.uri import S3Uri, parse_s3_uri

INPUT_URI_FIELD = "TransformInput.DataSource.S3DataSource.S3Uri"
OUTPUT_URI_FIELD = "TransformOutput.S3OutputPath"
INSTANCE_TYPE_FIELD = "TransformResources.InstanceType"
#: SageMaker's default ``ModelClientConfig``: 600 s per invocation, 3 retries.
DEFAULT_INVOCATION_TIMEOUT_S = 600
DEFAULT_INVOCATION_RETRIES = 3
DATA_TYPES = ("S3Prefix", "ManifestFile")

_RELAXED = Relaxed(
    ignore=frozenset(
        {
            "Tags",
            "ExperimentConfig",
            "TransformOutput.KmsKeyId",
            "TransformResources.VolumeKmsKeyId",
            "TransformResources.TransformAmiVersion",
        }
    ),
    no_enum=frozenset({INSTANCE_TYPE_FIELD}),
)


def validate_transform_request(body: object) -> dict[str, Any]:
    """The spec of a valid CreateTransformJob request; ``ValidationError`` naming the field."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    spec: dict[str, Any] = copy.deepcopy(body)
    validate_request("CreateTransformJobRequest", spec, _RELAXED)
    validate_name(spec["TransformJobName"], ResourceKind.TRANSFORM_JOB, field="TransformJobName")
    if not spec["ModelName"]:
        raise ValidationError(
            "ModelName is required: the name of a model (see 'modelyard models list')",
            field="ModelName",
        )
    if spec.get("DataCaptureConfig") is not None:
        raise ValidationError(
            "DataCaptureConfig is not supported: the job's inputs and outputs are in the "
            "store already (TransformInput, TransformOutput.S3OutputPath)",
            field="DataCaptureConfig",
        )
    source = spec["TransformInput"]["DataSource"]["S3DataSource"]
    if source["S3DataType"] not in DATA_TYPES:
        raise ValidationError(
            f"TransformInput.DataSource.S3DataSource.S3DataType={source['S3DataType']!r} is "
            "not supported: use S3Prefix (every object under a prefix) or ManifestFile",
            field="TransformInput.DataSource.S3DataSource.S3DataType",
        )
    input_uri(spec)
    output_uri(spec)
    profile(spec)
    _check_payload(spec)
    spec["Environment"] = spec.get("Environment") or {}
    RecordPlan.from_request(spec).validate()
    return spec


def _check_payload(spec: dict[str, Any]) -> None:
    payload = spec.get("MaxPayloadInMB")
    if payload is not None and payload > MAX_PAYLOAD_MB:
        raise ValidationError(
            f"MaxPayloadInMB={payload} is over SageMaker's limit of {MAX_PAYLOAD_MB} MB",
            field="MaxPayloadInMB",
        )
    concurrent = spec.get("MaxConcurrentTransforms")
    if concurrent is not None and concurrent < 1:
        raise ValidationError(
            f"MaxConcurrentTransforms={concurrent}: give at least 1 (or leave it out: the "
            "model's container proposes one)",
            field="MaxConcurrentTransforms",
        )
    if payload and concurrent and payload * concurrent > MAX_PAYLOAD_MB:
        raise ValidationError(
            f"MaxConcurrentTransforms x MaxPayloadInMB = {concurrent} x {payload} is over "
            f"{MAX_PAYLOAD_MB} MB: lower one of them",
            field="MaxConcurrentTransforms",
        )


def input_uri(spec: dict[str, Any]) -> S3Uri:
    uri = spec["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    return parse_s3_uri(uri, field=INPUT_URI_FIELD)


def data_type(spec: dict[str, Any]) -> str:
    return str(spec["TransformInput"]["DataSource"]["S3DataSource"]["S3DataType"])


def output_uri(spec: dict[str, Any]) -> S3Uri:
    return parse_s3_uri(spec["TransformOutput"]["S3OutputPath"], field=OUTPUT_URI_FIELD)


def profile(spec: dict[str, Any]) -> InstanceProfile:
    return instance_profile(spec["TransformResources"]["InstanceType"], field=INSTANCE_TYPE_FIELD)


def instance_count(spec: dict[str, Any]) -> int:
    return int(spec["TransformResources"]["InstanceCount"])


def gzipped(spec: dict[str, Any]) -> bool:
    return bool(spec["TransformInput"].get("CompressionType") == "Gzip")


def invocation_timeout_s(spec: dict[str, Any]) -> float:
    config = spec.get("ModelClientConfig") or {}
    return float(config.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT_S)


def invocation_retries(spec: dict[str, Any]) -> int:
    config = spec.get("ModelClientConfig") or {}
    retries = config.get("InvocationsMaxRetries")
    return DEFAULT_INVOCATION_RETRIES if retries is None else int(retries)
