"""Rows to records, and the checks on what callers hand the catalog.

Kept apart from :mod:`modelyard.catalog.sql` so that the SQL module holds only
the transactions.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from modelyard.catalog.base import ResourceRecord
from modelyard.catalog.models import Resource
from modelyard.errors import AlreadyExistsError, ConcurrentUpdateError, ValidationError
from modelyard.ids import ResourceKind


def to_record(row: Resource) -> ResourceRecord:
    return ResourceRecord(
        kind=ResourceKind(row.kind),
        name=row.name,
        arn=row.arn,
        status=row.status,
        spec=row.spec,
        state=row.state,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        secondary_status=row.secondary_status,
        failure_reason=row.failure_reason,
    )


def json_object(value: Any, field: str) -> dict[str, Any]:
    """A deep copy of ``value``, which must be a JSON object."""
    if not isinstance(value, dict):
        raise ValidationError(
            f"{field} must be a JSON object, not {type(value).__name__}", field=field
        )
    try:
        copied: dict[str, Any] = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} is not JSON-serializable: {exc}", field=field) from exc
    return copied


def metric_point_values(metric: str, at: datetime, value: float) -> dict[str, Any]:
    if not isinstance(metric, str) or not 1 <= len(metric) <= 255:
        raise ValidationError(
            f"metric name {metric!r} must be a string of 1-255 characters", field="MetricName"
        )
    if not isinstance(at, datetime):
        raise ValidationError(f"metric timestamp {at!r} is not a datetime", field="Timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(
            f"metric {metric} value {value!r} is not a finite number", field="Value"
        )
    return {"name": metric, "timestamp": at, "value": float(value)}


def already_exists(kind: ResourceKind, name: str) -> AlreadyExistsError:
    return AlreadyExistsError(f"{kind.value} {name!r} already exists", field="Name")


def stale_version(
    kind: ResourceKind, name: str, expected_version: int, actual: int | None
) -> ConcurrentUpdateError:
    now = f"is now at version {actual}" if actual is not None else "was changed meanwhile"
    return ConcurrentUpdateError(
        f"{kind.value} {name!r} {now}, not {expected_version}: read it again and retry"
    )
