"""What the catalog stores and the operations the controllers use.

A resource row holds the request that created it (``spec``, the Create*
request's fields, PascalCase), the status the state machine guards, and the
controller-owned ``state`` (artifacts, handles, metrics...). ``version`` is
incremented by every write: a write made with a stale ``expected_version`` is
refused with ``ConcurrentUpdateError`` instead of silently losing the other
write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelyard.ids import ResourceKind


@dataclass(frozen=True)
class ResourceRecord:
    kind: ResourceKind
    name: str
    arn: str
    status: str
    spec: dict[str, Any]
    state: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    secondary_status: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class StatusEvent:
    """One status change, for SageMaker's ``SecondaryStatusTransitions`` and audits."""

    status: str
    secondary_status: str | None
    message: str | None
    at: datetime


@dataclass(frozen=True)
class Page:
    records: list[ResourceRecord] = field(default_factory=list)
    next_token: str | None = None
