"""What the catalog stores and the operations the controllers use.

A resource row holds the request that created it (``spec``, the Create*
request's fields, PascalCase), the status the state machine guards, and the
controller-owned ``state`` (artifacts, handles, metrics...). ``version`` is
incremented by every write: a write made with a stale ``expected_version`` is
refused with ``ConcurrentUpdateError`` instead of silently losing the other
write.
"""

from __future__ import annotations

import abc
import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Self

from modelyard.ids import Identity, ResourceKind

SortBy = Literal["CreationTime", "Name", "Status"]
SortOrder = Literal["Ascending", "Descending"]


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


@dataclass(frozen=True)
class MetricPoint:
    """One value of a training metric (``train:loss``...) at a time."""

    name: str
    timestamp: datetime
    value: float


class Catalog(abc.ABC):
    """Where every resource's spec, status and controller state is kept.

    Writes are compare-and-swap on ``version``: with ``expected_version`` a
    stale write raises ``ConcurrentUpdateError``; without it the catalog
    re-reads and retries, re-checking the state machine each time, so no
    write is lost and no illegal transition slips through a race.
    """

    @abc.abstractmethod
    def create(
        self,
        kind: ResourceKind,
        name: str,
        *,
        spec: dict[str, Any],
        status: str | None = None,
        state: dict[str, Any] | None = None,
        identity: Identity | None = None,
    ) -> ResourceRecord:
        """Record a new resource; ``AlreadyExistsError`` (409) if the name is taken."""

    @abc.abstractmethod
    def get(self, kind: ResourceKind, name: str) -> ResourceRecord:
        """The resource, or ``NotFoundError`` (404)."""

    @abc.abstractmethod
    def list(
        self,
        kind: ResourceKind,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        sort_by: SortBy = "CreationTime",
        sort_order: SortOrder = "Descending",
        max_results: int = 100,
        next_token: str | None = None,
    ) -> Page:
        """One page of a kind's resources, with SageMaker's List* filters and order."""

    @abc.abstractmethod
    def transition(
        self,
        kind: ResourceKind,
        name: str,
        status: str,
        *,
        secondary_status: str | None = None,
        failure_reason: str | None = None,
        message: str | None = None,
        state_updates: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> ResourceRecord:
        """Move to ``status`` if the state machine allows it (else 409) and record the event."""

    @abc.abstractmethod
    def update(
        self,
        kind: ResourceKind,
        name: str,
        *,
        state_updates: dict[str, Any] | None = None,
        spec: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> ResourceRecord:
        """Merge ``state_updates`` into the state and/or replace the spec; no status change."""

    @abc.abstractmethod
    def delete(self, kind: ResourceKind, name: str) -> None:
        """Forget the resource, its events and its metrics; ``NotFoundError`` if absent."""

    @abc.abstractmethod
    def events(self, kind: ResourceKind, name: str) -> builtins.list[StatusEvent]:
        """Every status change of the resource, oldest first."""

    @abc.abstractmethod
    def add_metric_points(
        self, kind: ResourceKind, name: str, points: Sequence[tuple[str, datetime, float]]
    ) -> None:
        """Append ``(metric name, timestamp, value)`` points to the resource's series."""

    @abc.abstractmethod
    def metric_points(
        self, kind: ResourceKind, name: str, metric: str | None = None
    ) -> builtins.list[MetricPoint]:
        """The resource's points (of one metric, if given), by metric name then time."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; the catalog is unusable afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
