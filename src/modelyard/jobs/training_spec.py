"""A CreateTrainingJob request: validated, normalized, and read.

:func:`validate_training_request` checks what can be checked without the store or
the catalog (the request's shape, by botocore's model, then modelyard's own rules)
and returns the spec the catalog keeps: the request with its defaults filled in.
The controller then checks what needs the outside world (the image exists, the
channels have objects, the entry point is in the source bundle, the name is free).

Differences from SageMaker, on purpose:

- ``RoleArn`` is accepted and ignored (there is no IAM here), and may be left out.
- ``AlgorithmSpecification.TrainingImage`` is a modelyard image ``name:tag``;
  ``AlgorithmName`` (marketplace and built-in algorithms) is not supported.
- ``ResourceConfig`` defaults to one ``local`` instance; ``InstanceType`` is any type
  of :mod:`modelyard.jobs.instance_types`; ``InstanceGroups`` is not supported yet.
- ``TrainingInputMode`` defaults to ``File``.
- A channel's ``FileSystemDataSource.DirectoryPath`` is a directory on this machine
  (a shared filesystem), read in place; ``FileSystemId`` only needs SageMaker's shape
  (``fs-`` and 8+ hex digits). Channels are checked by the data layer
  (:func:`modelyard.data.validate_channel`).
- ``CheckpointConfig.LocalPath`` is ``/opt/ml/...`` or relative: it is placed in the
  host's job directory (the local runtime cannot mount at ``/opt/ml``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from modelyard.errors import ValidationError
from modelyard.ids import ResourceKind, validate_name
from modelyard.jobs.distribution import check_distribution
from modelyard.jobs.instance_types import instance_profile
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.store.uri import parse_s3_uri

#: SageMaker's default ``MaxRuntimeInSeconds`` (one day).
DEFAULT_MAX_RUNTIME_S = 86400
DEFAULT_CHECKPOINT_PATH = "/opt/ml/checkpoints"
CONTAINER_BASE = PurePosixPath("/opt/ml")

PROGRAM_HP = "sagemaker_program"
SUBMIT_DIR_HP = "sagemaker_submit_directory"

_RELAXED = Relaxed(
    ignore=frozenset(
        {
            "RoleArn",
            "VpcConfig",
        }
    ),
    no_enum=frozenset({"ResourceConfig.InstanceType"}),
    optional=frozenset({"RoleArn", "AlgorithmSpecification.TrainingInputMode"}),
)

_UNSUPPORTED = {
    "AlgorithmSpecification.AlgorithmName": "give a modelyard image as TrainingImage instead "
    "(marketplace and built-in algorithms are not available)",
    "ResourceConfig.InstanceGroups": "heterogeneous clusters are not supported yet: give "
    "InstanceType and InstanceCount",
    "InputDataConfig[].DataSource.DatasetSource": "use S3DataSource or FileSystemDataSource",
}


def validate_training_request(body: object) -> dict[str, Any]:
    """The spec of a valid CreateTrainingJob request; ``ValidationError`` naming the field."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    validate_request("CreateTrainingJobRequest", body, _RELAXED)
    spec: dict[str, Any] = copy.deepcopy(body)
    validate_name(spec["TrainingJobName"], ResourceKind.TRAINING_JOB, field="TrainingJobName")

    algorithm = spec.get("AlgorithmSpecification")
    if not isinstance(algorithm, dict):
        raise ValidationError(
            "AlgorithmSpecification is required: name the TrainingImage (an image name:tag)",
            field="AlgorithmSpecification",
        )
    if algorithm.get("AlgorithmName"):
        _unsupported("AlgorithmSpecification.AlgorithmName")
    if not algorithm.get("TrainingImage"):
        raise ValidationError(
            "AlgorithmSpecification.TrainingImage is required: an image name:tag "
            "(see 'modelyard images list')",
            field="AlgorithmSpecification.TrainingImage",
        )
    algorithm["TrainingInputMode"] = algorithm.get("TrainingInputMode") or "File"
    for index, metric in enumerate(algorithm.get("MetricDefinitions") or []):
        try:
            re.compile(metric["Regex"])
        except re.error as exc:
            field = f"AlgorithmSpecification.MetricDefinitions.{index}.Regex"
            raise ValidationError(
                f"{field}: {metric['Regex']!r} is not a valid regular expression: {exc}",
                field=field,
            ) from exc

    for key in ("HyperParameters", "Environment", "StoppingCondition", "ResourceConfig"):
        if spec.get(key) is None:
            spec[key] = {}
    _check_channels(spec.get("InputDataConfig") or [])
    parse_s3_uri(spec["OutputDataConfig"]["S3OutputPath"], field="OutputDataConfig.S3OutputPath")
    _check_resources(spec)
    check_distribution(spec)
    spec["StoppingCondition"].setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S)
    checkpoint = spec.get("CheckpointConfig")
    if checkpoint is not None:
        parse_s3_uri(checkpoint["S3Uri"], field="CheckpointConfig.S3Uri")
        checkpoint.setdefault("LocalPath", DEFAULT_CHECKPOINT_PATH)
        checkpoint_relative_path(checkpoint["LocalPath"])
    return spec


def _unsupported(path: str, field: str | None = None) -> None:
    field = field or path
    raise ValidationError(f"{field} is not supported: {_UNSUPPORTED[path]}", field=field)


def _check_channels(channels: list[dict[str, Any]]) -> None:
    """Names are unique; each channel's own checks are the data layer's (at create)."""
    seen: set[str] = set()
    for index, channel in enumerate(channels):
        name = channel["ChannelName"]
        if name in seen:
            field = f"InputDataConfig.{index}.ChannelName"
            raise ValidationError(f"{field}: channel {name!r} is given twice", field=field)
        seen.add(name)
        if channel["DataSource"].get("DatasetSource") is not None:
            _unsupported(
                "InputDataConfig[].DataSource.DatasetSource",
                f"InputDataConfig.{index}.DataSource.DatasetSource",
            )


def _check_resources(spec: dict[str, Any]) -> None:
    resource = spec["ResourceConfig"]
    if resource.get("InstanceGroups"):
        _unsupported("ResourceConfig.InstanceGroups")
    resource.setdefault("InstanceType", "local")
    resource.setdefault("InstanceCount", 1)
    instance_profile(resource["InstanceType"])
    if resource["InstanceCount"] < 1:
        raise ValidationError(
            f"ResourceConfig.InstanceCount={resource['InstanceCount']}: a job needs at least "
            "one instance",
            field="ResourceConfig.InstanceCount",
        )


def checkpoint_relative_path(local_path: str) -> PurePosixPath:
    """Where ``CheckpointConfig.LocalPath`` lands inside a host's job directory."""
    path = PurePosixPath(local_path)
    if path.is_absolute():
        try:
            path = path.relative_to(CONTAINER_BASE)
        except ValueError:
            path = PurePosixPath("..")
    if ".." in path.parts or not path.parts:
        raise ValidationError(
            f"CheckpointConfig.LocalPath={local_path!r} must be under /opt/ml (e.g. the "
            "default /opt/ml/checkpoints) or relative to it",
            field="CheckpointConfig.LocalPath",
        )
    return path


# -- reading a spec ----------------------------------------------------------------


def host_count(spec: Mapping[str, Any]) -> int:
    return int(spec["ResourceConfig"]["InstanceCount"])


def training_image(spec: Mapping[str, Any]) -> str:
    return str(spec["AlgorithmSpecification"]["TrainingImage"])


def input_mode(spec: Mapping[str, Any], channel: Mapping[str, Any] | None = None) -> str:
    """The channel's ``InputMode``, else the job's ``TrainingInputMode``."""
    if channel is not None and channel.get("InputMode"):
        return str(channel["InputMode"])
    return str(spec["AlgorithmSpecification"].get("TrainingInputMode") or "File")


def hyperparameter(spec: Mapping[str, Any], name: str) -> str | None:
    """A hyperparameter's value, JSON-decoded when the SDK encoded it (``"\\"train.py\\""``)."""
    raw = spec.get("HyperParameters", {}).get(name)
    if raw is None:
        return None
    try:
        decoded = json.loads(raw)
    except ValueError:
        return str(raw)
    return decoded if isinstance(decoded, str) else str(raw)


def entry_point(spec: Mapping[str, Any]) -> str | None:
    """The script-mode entry point: ``SAGEMAKER_PROGRAM`` or ``sagemaker_program``."""
    return spec.get("Environment", {}).get("SAGEMAKER_PROGRAM") or hyperparameter(spec, PROGRAM_HP)


def submit_directory(spec: Mapping[str, Any]) -> str | None:
    return hyperparameter(spec, SUBMIT_DIR_HP)
