"""Resource kinds, names and ARNs, in SageMaker's shapes.

Every resource kind has a REST collection (``training-jobs``), an ARN resource
type (``training-job``) and a name pattern taken from botocore's SageMaker API
model. ARNs look like SageMaker's: ``arn:aws:sagemaker:<region>:<account>:
training-job/<name in lower case>``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from modelyard.errors import InvalidNameError

#: SageMaker's ``EntityName`` pattern (training jobs, endpoints, ...).
ENTITY_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: SageMaker's ``ImageName`` pattern; we also allow it for image tags.
IMAGE_NAME = re.compile(r"[a-zA-Z0-9]([-.]?[a-zA-Z0-9]){0,62}")
#: A tag of ``name:tag`` (container-registry style).
IMAGE_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}")


class ResourceKind(StrEnum):
    """The resources of ARCHITECTURE.md; the value is the ARN resource type."""

    IMAGE = "image"
    PROCESSING_JOB = "processing-job"
    TRAINING_JOB = "training-job"
    TUNING_JOB = "hyper-parameter-tuning-job"
    MODEL = "model"
    ENDPOINT_CONFIG = "endpoint-config"
    ENDPOINT = "endpoint"
    TRANSFORM_JOB = "transform-job"
    COMPILATION_JOB = "compilation-job"
    EDGE_PACKAGING_JOB = "edge-packaging-job"
    DEVICE_FLEET = "device-fleet"
    DEVICE = "device"
    MODEL_PACKAGE_GROUP = "model-package-group"
    MODEL_PACKAGE = "model-package"
    MONITORING_SCHEDULE = "monitoring-schedule"
    PIPELINE = "pipeline"
    PIPELINE_EXECUTION = "pipeline-execution"
    #: A CloudWatch metric alarm on endpoint metrics (a deployment's automatic rollback).
    ALARM = "alarm"

    @property
    def collection(self) -> str:
        """The REST collection name, e.g. ``training-jobs``."""
        return f"{self.value}s"

    @property
    def name_pattern(self) -> re.Pattern[str]:
        return IMAGE_NAME if self is ResourceKind.IMAGE else ENTITY_NAME


@dataclass(frozen=True)
class Identity:
    """Region and account written into ARNs."""

    region: str = "local"
    account_id: str = "000000000000"


def validate_name(name: object, kind: ResourceKind, *, field: str = "Name") -> str:
    """Return ``name`` if it matches SageMaker's pattern for ``kind``, else raise."""
    pattern = kind.name_pattern
    if not isinstance(name, str) or not pattern.fullmatch(name) or len(name) > 63:
        raise InvalidNameError(
            f"{field}={name!r} is not a valid {kind.value} name: use 1-63 letters, digits "
            f"and hyphens, starting and ending with a letter or digit "
            f"(pattern {pattern.pattern})",
            field=field,
        )
    return name


def make_arn(kind: ResourceKind, name: str, identity: Identity | None = None) -> str:
    """SageMaker's ARN for a resource; names are lower-cased as SageMaker does."""
    who = identity or Identity()
    return f"arn:aws:sagemaker:{who.region}:{who.account_id}:{kind.value}/{name.lower()}"


def unique_name_from_base(base: str, max_length: int = 63) -> str:
    """``base-YYYY-MM-DD-HH-MM-SS-mmm``, as sagemaker's ``name_from_base`` makes job names."""
    now = time.time()
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d-%H-%M-%S")
    millis = int(now * 1000) % 1000
    suffix = f"-{stamp}-{millis:03d}"
    trimmed = base[: max_length - len(suffix)].rstrip("-") or "job"
    return f"{trimmed}{suffix}"


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (all modelyard times are UTC)."""
    return datetime.now(UTC)
