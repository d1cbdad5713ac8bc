"""A CreateProcessingJob request: validated, normalized, and read.

:func:`validate_processing_request` checks the request's shape by botocore's model, then
modelyard's own rules, and returns the spec the catalog keeps (defaults filled in).
The controller checks what needs the outside world (the image, the output buckets).
Whether inputs have data is *not* checked at create: as in SageMaker, a missing
prefix or directory makes the job fail with a precise reason.

Differences from SageMaker, on purpose:

- ``RoleArn`` is accepted and ignored (no IAM) and may be left out; so may
  ``ClusterConfig.VolumeSizeInGB``. ``InstanceType`` is any type of
  :mod:`modelyard.jobs.instance_types` (default ``local``), ``InstanceCount`` defaults
  to 1; ``InstancePreferences`` is not supported.
- ``AppSpecification.ImageUri`` is a modelyard image ``name:tag``.
- Every ``LocalPath`` must lie under ``/opt/ml/processing/`` (SageMaker's rule), no two
  may overlap, and its last segment must be 1-64 letters, digits, ``.``, ``-``, ``_``.
- ``S3InputMode`` is ``File`` (default) or ``FastFile`` (read-only, lazily read, as for
  training); ``Pipe`` is refused. ``S3CompressionType=Gzip`` needs Pipe, so is refused.
- ``DatasetDefinition``: ``AthenaDatasetDefinition`` is DuckDB SQL over the store,
  ``RedshiftDatasetDefinition`` SQL on a SQLAlchemy database whose ``ClusterId`` is a
  named connection or a URL (see :mod:`modelyard.data.datasets`); their ``Catalog``,
  ``Database`` (Athena), ``ClusterRoleArn`` and ``DbUser`` may be left out. modelyard adds
  ``FileSystemDatasetDefinition`` (``DirectoryPath``, ``FileSystemAccessMode`` ro | rw,
  optional ``FileSystemId`` / ``FileSystemType``): a directory on this machine's file
  systems bound at ``LocalPath`` and read in place (the EFS / FSx for Lustre case).
  ``InputMode`` Pipe is refused.
- ``FeatureStoreOutput`` is not supported.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from modelyard.data.datasets import ATHENA, REDSHIFT, result_format
from modelyard.errors import ValidationError
from modelyard.ids import ResourceKind, validate_name
from modelyard.jobs.instance_types import instance_profile
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.store.uri import parse_s3_uri

DEFAULT_MAX_RUNTIME_S = 86400
PROCESSING_BASE = PurePosixPath("/opt/ml/processing")
CONTAINER_BASE = PurePosixPath("/opt/ml")
FILE_SYSTEM = "FileSystemDatasetDefinition"
_SEGMENT = re.compile(r"[A-Za-z0-9.\-_]{1,64}")
_DATASET_KINDS = (ATHENA, REDSHIFT, FILE_SYSTEM)

_RELAXED = Relaxed(
    ignore=frozenset(
        {
            "RoleArn",
            "NetworkConfig.VpcConfig",
            # A connection name or a SQLAlchemy URL (longer than SageMaker's 63 characters).
            "ProcessingInputs[].DatasetDefinition.RedshiftDatasetDefinition.ClusterId",
            "ProcessingInputs[].DatasetDefinition.RedshiftDatasetDefinition.ClusterRoleArn",
        }
    ),
    no_enum=frozenset(
        {
            "ProcessingResources.ClusterConfig.InstanceType",
            "ProcessingInputs[].S3Input.S3InputMode",
        }
    ),
    optional=frozenset(
        {
            "RoleArn",
            "ProcessingResources.ClusterConfig.VolumeSizeInGB",
            "ProcessingInputs[].DatasetDefinition.AthenaDatasetDefinition.Catalog",
            "ProcessingInputs[].DatasetDefinition.AthenaDatasetDefinition.Database",
            "ProcessingInputs[].DatasetDefinition.RedshiftDatasetDefinition.ClusterRoleArn",
            "ProcessingInputs[].DatasetDefinition.RedshiftDatasetDefinition.DbUser",
            "ProcessingInputs[].DatasetDefinition.RedshiftDatasetDefinition.Database",
        }
    ),
)


def validate_processing_request(body: object) -> dict[str, Any]:
    """The spec of a valid CreateProcessingJob request; ``ValidationError`` naming the field."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    spec: dict[str, Any] = copy.deepcopy(body)
    file_systems = _pop_file_systems(spec)
    validate_request("CreateProcessingJobRequest", spec, _RELAXED)
    for index, definition in file_systems.items():
        spec["ProcessingInputs"][index]["DatasetDefinition"][FILE_SYSTEM] = definition
    validate_name(spec["ProcessingJobName"], ResourceKind.PROCESSING_JOB, field="ProcessingJobName")
    if not spec["AppSpecification"].get("ImageUri"):
        raise ValidationError(
            "AppSpecification.ImageUri is required: an image name:tag (see 'modelyard images "
            "list')",
            field="AppSpecification.ImageUri",
        )
    _check_resources(spec)
    spec["Environment"] = spec.get("Environment") or {}
    spec["StoppingCondition"] = spec.get("StoppingCondition") or {}
    spec["StoppingCondition"].setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S)
    spec["ProcessingInputs"] = spec.get("ProcessingInputs") or []
    config = spec.get("ProcessingOutputConfig") or {"Outputs": []}
    spec["ProcessingOutputConfig"] = config
    paths: list[tuple[PurePosixPath, str]] = []
    _check_inputs(spec["ProcessingInputs"], paths)
    _check_outputs(config.get("Outputs") or [], paths)
    _check_overlaps(paths)
    return spec


def _pop_file_systems(spec: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Take modelyard's FileSystemDatasetDefinition out (botocore does not know it)."""
    found: dict[int, dict[str, Any]] = {}
    inputs = spec.get("ProcessingInputs")
    if not isinstance(inputs, list):
        return found
    for index, item in enumerate(inputs):
        definition = item.get("DatasetDefinition") if isinstance(item, dict) else None
        if isinstance(definition, dict) and FILE_SYSTEM in definition:
            found[index] = _check_file_system(definition.pop(FILE_SYSTEM), index)
    return found


def _check_file_system(value: object, index: int) -> dict[str, Any]:
    field = f"ProcessingInputs.{index}.DatasetDefinition.{FILE_SYSTEM}"
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object", field=field)
    known = {"DirectoryPath", "FileSystemAccessMode", "FileSystemId", "FileSystemType"}
    for key in value:
        if key not in known:
            raise ValidationError(
                f"{field}.{key}: unknown field; {field} accepts {', '.join(sorted(known))}",
                field=f"{field}.{key}",
            )
    directory = value.get("DirectoryPath")
    if not isinstance(directory, str) or not directory.startswith("/"):
        raise ValidationError(
            f"{field}.DirectoryPath must be an absolute directory path on this machine",
            field=f"{field}.DirectoryPath",
        )
    mode = value.setdefault("FileSystemAccessMode", "ro")
    if mode not in ("ro", "rw"):
        raise ValidationError(
            f"{field}.FileSystemAccessMode: {mode!r} is not one of ro, rw",
            field=f"{field}.FileSystemAccessMode",
        )
    return value


def _check_resources(spec: dict[str, Any]) -> None:
    cluster = spec["ProcessingResources"]["ClusterConfig"]
    if cluster.get("InstancePreferences"):
        raise ValidationError(
            "ProcessingResources.ClusterConfig.InstancePreferences is not supported: give "
            "InstanceType and InstanceCount",
            field="ProcessingResources.ClusterConfig.InstancePreferences",
        )
    cluster.setdefault("InstanceType", "local")
    cluster.setdefault("InstanceCount", 1)
    instance_profile(
        cluster["InstanceType"], field="ProcessingResources.ClusterConfig.InstanceType"
    )


def _check_local_path(value: object, field: str, paths: list[tuple[PurePosixPath, str]]) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(
            f"{field} is required: a directory under {PROCESSING_BASE}/", field=field
        )
    path = PurePosixPath(value)
    if (
        not path.is_absolute()
        or ".." in path.parts
        or PROCESSING_BASE not in path.parents
        or not _SEGMENT.fullmatch(path.name)
    ):
        raise ValidationError(
            f"{field}={value!r} must be a directory under {PROCESSING_BASE}/ (e.g. "
            f"{PROCESSING_BASE}/input/data) whose last segment is 1-64 letters, digits, "
            "'.', '-' or '_'",
            field=field,
        )
    paths.append((path, field))


def _check_unique(names: list[str], what: str, prefix: str) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            field = f"{prefix}.{index}.{what}"
            raise ValidationError(f"{field}: {name!r} is given twice", field=field)
        seen.add(name)


def _check_inputs(inputs: list[dict[str, Any]], paths: list[tuple[PurePosixPath, str]]) -> None:
    _check_unique([item["InputName"] for item in inputs], "InputName", "ProcessingInputs")
    for index, item in enumerate(inputs):
        prefix = f"ProcessingInputs.{index}"
        s3_input, dataset = item.get("S3Input"), item.get("DatasetDefinition")
        if (s3_input is None) == (dataset is None):
            raise ValidationError(
                f"{prefix}: give exactly one of S3Input and DatasetDefinition",
                field=f"{prefix}.S3Input",
            )
        if s3_input is not None:
            _check_s3_input(s3_input, f"{prefix}.S3Input", paths)
        else:
            assert dataset is not None
            _check_dataset(dataset, f"{prefix}.DatasetDefinition", paths)


def _check_s3_input(
    s3_input: dict[str, Any], prefix: str, paths: list[tuple[PurePosixPath, str]]
) -> None:
    parse_s3_uri(s3_input["S3Uri"], field=f"{prefix}.S3Uri")
    _check_local_path(s3_input.get("LocalPath"), f"{prefix}.LocalPath", paths)
    mode = s3_input.setdefault("S3InputMode", "File")
    if mode == "Pipe":
        raise ValidationError(
            f"{prefix}.S3InputMode: Pipe is not supported for processing inputs; use File "
            "(copied before the script starts) or FastFile (read lazily)",
            field=f"{prefix}.S3InputMode",
        )
    if mode not in ("File", "FastFile"):
        raise ValidationError(
            f"{prefix}.S3InputMode: {mode!r} is not one of File, FastFile",
            field=f"{prefix}.S3InputMode",
        )
    s3_input.setdefault("S3DataDistributionType", "FullyReplicated")
    compression = s3_input.setdefault("S3CompressionType", "None")
    if compression == "Gzip":
        raise ValidationError(
            f"{prefix}.S3CompressionType: Gzip applies to Pipe mode only, which processing "
            "inputs do not support; leave it None (objects arrive as stored)",
            field=f"{prefix}.S3CompressionType",
        )


def _check_dataset(
    dataset: dict[str, Any], prefix: str, paths: list[tuple[PurePosixPath, str]]
) -> None:
    kinds = [kind for kind in _DATASET_KINDS if dataset.get(kind) is not None]
    if len(kinds) != 1:
        raise ValidationError(
            f"{prefix}: give exactly one of {', '.join(_DATASET_KINDS)}",
            field=prefix,
        )
    kind = kinds[0]
    _check_local_path(dataset.get("LocalPath"), f"{prefix}.LocalPath", paths)
    if dataset.setdefault("InputMode", "File") != "File":
        raise ValidationError(
            f"{prefix}.InputMode: only File is supported (the result is written before the "
            "script starts)",
            field=f"{prefix}.InputMode",
        )
    dataset.setdefault("DataDistributionType", "FullyReplicated")
    definition = dataset[kind]
    if kind == FILE_SYSTEM:
        return
    parse_s3_uri(definition["OutputS3Uri"], field=f"{prefix}.{kind}.OutputS3Uri")
    try:
        result_format(kind, definition)
    except ValueError as exc:
        raise ValidationError(f"{prefix}.{kind}: {exc}", field=f"{prefix}.{kind}") from exc
    if kind == REDSHIFT:
        cluster = definition.get("ClusterId")
        if not isinstance(cluster, str) or not cluster:
            field = f"{prefix}.{kind}.ClusterId"
            raise ValidationError(
                f"{field} is required: a connection name of MODELYARD_SQL_CONNECTIONS or a "
                "SQLAlchemy URL",
                field=field,
            )


def _check_outputs(outputs: list[dict[str, Any]], paths: list[tuple[PurePosixPath, str]]) -> None:
    prefix = "ProcessingOutputConfig.Outputs"
    _check_unique([item["OutputName"] for item in outputs], "OutputName", prefix)
    for index, item in enumerate(outputs):
        where = f"{prefix}.{index}"
        if item.get("FeatureStoreOutput") is not None:
            raise ValidationError(
                f"{where}.FeatureStoreOutput is not supported: use S3Output",
                field=f"{where}.FeatureStoreOutput",
            )
        s3_output = item.get("S3Output")
        if s3_output is None:
            raise ValidationError(f"{where}.S3Output is required", field=f"{where}.S3Output")
        parse_s3_uri(s3_output["S3Uri"], field=f"{where}.S3Output.S3Uri")
        _check_local_path(s3_output.get("LocalPath"), f"{where}.S3Output.LocalPath", paths)


def _check_overlaps(paths: list[tuple[PurePosixPath, str]]) -> None:
    for index, (path, field) in enumerate(paths):
        for other, other_field in paths[:index]:
            if path == other or other in path.parents or path in other.parents:
                raise ValidationError(
                    f"{field}={str(path)!r} overlaps {other_field}={str(other)!r}: every "
                    "input and output needs a directory of its own",
                    field=field,
                )


# -- reading a spec ------------------------------------------------------------------


def host_count(spec: Mapping[str, Any]) -> int:
    return int(spec["ProcessingResources"]["ClusterConfig"]["InstanceCount"])


def instance_type(spec: Mapping[str, Any]) -> str:
    return str(spec["ProcessingResources"]["ClusterConfig"]["InstanceType"])


def image_uri(spec: Mapping[str, Any]) -> str:
    return str(spec["AppSpecification"]["ImageUri"])


def relative_local_path(local_path: str) -> PurePosixPath:
    """``/opt/ml/processing/input/x`` -> ``processing/input/x`` (inside a host directory)."""
    return PurePosixPath(local_path).relative_to(CONTAINER_BASE)


def dataset_kind(dataset: Mapping[str, Any]) -> str:
    return next(kind for kind in _DATASET_KINDS if dataset.get(kind) is not None)


def outputs(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every output's ``OutputName`` with its ``S3Output``, in order."""
    for item in spec["ProcessingOutputConfig"].get("Outputs") or []:
        yield {"OutputName": item["OutputName"], **item["S3Output"]}


def output_buckets(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(field, uri)`` of every place the job writes to in the store."""
    for index, item in enumerate(spec["ProcessingOutputConfig"].get("Outputs") or []):
        field = f"ProcessingOutputConfig.Outputs.{index}.S3Output.S3Uri"
        yield field, item["S3Output"]["S3Uri"]
    for index, item in enumerate(spec["ProcessingInputs"]):
        dataset = item.get("DatasetDefinition")
        if dataset is not None:
            kind = dataset_kind(dataset)
            if kind != FILE_SYSTEM:
                field = f"ProcessingInputs.{index}.DatasetDefinition.{kind}.OutputS3Uri"
                yield field, dataset[kind]["OutputS3Uri"]
