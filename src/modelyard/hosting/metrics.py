"""Endpoint metrics: SageMaker's per-minute CloudWatch metrics, per endpoint and variant.

The router records every invocation (:meth:`MetricsStore.record_invocation`, a few
additions under an uncontended lock, nothing else on the hot path); the endpoint
controller records replica utilisation (:meth:`MetricsStore.record_utilization`)
and calls :meth:`MetricsStore.flush`, which writes every completed minute to the
catalog as metric points of the endpoint named ``<VariantName>/<MetricName>``,
timestamped at the minute's start (UTC). Readers (the API, autoscaling, alarms)
get persisted minutes and the minutes still in memory alike from
:meth:`MetricsStore.points` / :meth:`MetricsStore.value`.

Loops that must react within seconds (autoscaling, a deployment's alarms, tests that
cannot wait for minutes) read :meth:`MetricsStore.recent`: the same aggregates over the
last N seconds, kept per second in memory for :data:`RECENT_WINDOW_S` seconds.

=========================  ==========================================================
metric                     per minute
=========================  ==========================================================
``Invocations``            requests a variant answered (any status), shadow included
``Invocation4XXErrors``    answers with a 4xx status (the model's, or 424 ModelError
                           counts where the model answered 4xx)
``Invocation5XXErrors``    the model answered 5xx, failed or timed out
``InvocationModelErrors``  the model's answer was not 2xx (SageMaker's definition)
``ModelLatency``           average µs from sending to the replica to its whole answer
``OverheadLatency``        average µs the router added (total minus ModelLatency)
``InvocationsPerInstance`` Invocations / replicas in service that minute
``CPUUtilization``         average % of one core, summed over cores (SageMaker's)
``MemoryUtilization``      average % of the instance's memory (resident set)
=========================  ==========================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from modelyard.catalog.base import Catalog
from modelyard.errors import NotFoundError
from modelyard.ids import ResourceKind

METRIC_NAMES = (
    "Invocations",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "InvocationModelErrors",
    "ModelLatency",
    "OverheadLatency",
    "InvocationsPerInstance",
    "CPUUtilization",
    "MemoryUtilization",
)
MINUTE_S = 60
RECENT_WINDOW_S = 900


@dataclass(slots=True)
class _Bucket:
    invocations: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    model_errors: int = 0
    latency_count: int = 0
    model_latency_us: float = 0.0
    overhead_latency_us: float = 0.0
    instances: int = 0
    utilization_samples: int = 0
    cpu_percent: float = 0.0
    memory_percent: float = 0.0

    def add(self, other: _Bucket) -> None:
        self.invocations += other.invocations
        self.errors_4xx += other.errors_4xx
        self.errors_5xx += other.errors_5xx
        self.model_errors += other.model_errors
        self.latency_count += other.latency_count
        self.model_latency_us += other.model_latency_us
        self.overhead_latency_us += other.overhead_latency_us
        self.instances = max(self.instances, other.instances)
        self.utilization_samples += other.utilization_samples
        self.cpu_percent += other.cpu_percent
        self.memory_percent += other.memory_percent

    def values(self) -> dict[str, float]:
        found: dict[str, float] = {
            "Invocations": float(self.invocations),
            "Invocation4XXErrors": float(self.errors_4xx),
            "Invocation5XXErrors": float(self.errors_5xx),
            "InvocationModelErrors": float(self.model_errors),
        }
        if self.latency_count:
            found["ModelLatency"] = self.model_latency_us / self.latency_count
            found["OverheadLatency"] = self.overhead_latency_us / self.latency_count
        if self.instances:
            found["InvocationsPerInstance"] = self.invocations / self.instances
        if self.utilization_samples:
            found["CPUUtilization"] = self.cpu_percent / self.utilization_samples
            found["MemoryUtilization"] = self.memory_percent / self.utilization_samples
        return found


_Key = tuple[str, str, int]  # endpoint, variant, bucket start (epoch seconds)


class MetricsStore:
    """Per-minute aggregates in memory, completed minutes persisted to the catalog."""

    def __init__(self, catalog: Catalog, *, clock: Callable[[], float] = time.time) -> None:
        self.catalog = catalog
        self.clock = clock
        self._lock = threading.Lock()
        self._minutes: dict[_Key, _Bucket] = {}
        self._seconds: dict[_Key, _Bucket] = {}

    def _buckets(self, endpoint: str, variant: str) -> tuple[_Bucket, _Bucket]:
        """This minute's and this second's buckets (called under the lock)."""
        now = int(self.clock())
        minute_key = (endpoint, variant, now // MINUTE_S * MINUTE_S)
        minute = self._minutes.get(minute_key)
        if minute is None:
            minute = self._minutes[minute_key] = _Bucket()
        second_key = (endpoint, variant, now)
        second = self._seconds.get(second_key)
        if second is None:
            second = self._seconds[second_key] = _Bucket()
        return minute, second

    def record_invocation(
        self,
        endpoint: str,
        variant: str,
        status: int,
        *,
        model_error: bool,
        model_latency_us: float | None,
        overhead_latency_us: float | None,
    ) -> None:
        """One answered request (the hot path's only metric call)."""
        with self._lock:
            for bucket in self._buckets(endpoint, variant):
                bucket.invocations += 1
                if 400 <= status < 500:
                    bucket.errors_4xx += 1
                elif status >= 500:
                    bucket.errors_5xx += 1
                if model_error:
                    bucket.model_errors += 1
                if model_latency_us is not None and overhead_latency_us is not None:
                    bucket.latency_count += 1
                    bucket.model_latency_us += model_latency_us
                    bucket.overhead_latency_us += overhead_latency_us

    def record_utilization(
        self,
        endpoint: str,
        variant: str,
        *,
        instances: int,
        cpu_percent: float,
        memory_percent: float,
    ) -> None:
        """A sample of the variant's replicas: how many serve, their CPU and memory."""
        with self._lock:
            for bucket in self._buckets(endpoint, variant):
                bucket.instances = max(bucket.instances, instances)
                bucket.utilization_samples += 1
                bucket.cpu_percent += cpu_percent
                bucket.memory_percent += memory_percent

    def flush(self, *, everything: bool = False) -> int:
        """Persist completed minutes (every minute with ``everything``); points written."""
        now = int(self.clock())
        current = now // MINUTE_S * MINUTE_S
        with self._lock:
            done = [k for k in self._minutes if everything or k[2] < current]
            taken = {k: self._minutes.pop(k) for k in done}
            for key in [k for k in self._seconds if k[2] <= now - RECENT_WINDOW_S]:
                del self._seconds[key]
        by_endpoint: dict[str, list[tuple[str, datetime, float]]] = {}
        for (endpoint, variant, start), minute in taken.items():
            at = datetime.fromtimestamp(start, UTC)
            points = by_endpoint.setdefault(endpoint, [])
            points.extend(
                (f"{variant}/{name}", at, value) for name, value in minute.values().items()
            )
        written = 0
        for endpoint, points in by_endpoint.items():
            try:
                self.catalog.add_metric_points(ResourceKind.ENDPOINT, endpoint, points)
                written += len(points)
            except NotFoundError:
                continue  # the endpoint was deleted meanwhile: its metrics go with it
        return written

    def forget(self, endpoint: str) -> None:
        """Drop what is still in memory for a deleted endpoint."""
        with self._lock:
            for buckets in (self._minutes, self._seconds):
                for key in [k for k in buckets if k[0] == endpoint]:
                    del buckets[key]

    def points(
        self, endpoint: str, *, metric: str | None = None, variant: str | None = None
    ) -> list[dict[str, Any]]:
        """Every datapoint of the endpoint, persisted and in memory, oldest first.

        Each is ``{"MetricName", "VariantName", "Timestamp", "Value"}``.
        """
        found: list[dict[str, Any]] = []
        for point in self.catalog.metric_points(ResourceKind.ENDPOINT, endpoint):
            variant_name, _, name = point.name.partition("/")
            found.append(
                {
                    "MetricName": name,
                    "VariantName": variant_name,
                    "Timestamp": point.timestamp,
                    "Value": point.value,
                }
            )
        with self._lock:
            pending = [(k, m.values()) for k, m in self._minutes.items() if k[0] == endpoint]
        for (_, variant_name, start), values in pending:
            at = datetime.fromtimestamp(start, UTC)
            for name, value in values.items():
                found.append(
                    {
                        "MetricName": name,
                        "VariantName": variant_name,
                        "Timestamp": at,
                        "Value": value,
                    }
                )
        found = [
            p
            for p in found
            if (metric is None or p["MetricName"] == metric)
            and (variant is None or p["VariantName"] == variant)
        ]
        found.sort(key=lambda p: (_as_utc(p["Timestamp"]), p["VariantName"], p["MetricName"]))
        return found

    def value(self, endpoint: str, variant: str, metric: str, *, since_s: float) -> list[float]:
        """The values of one metric over the last ``since_s`` seconds (autoscaling reads this)."""
        cutoff = self.clock() - since_s
        return [
            float(p["Value"])
            for p in self.points(endpoint, metric=metric, variant=variant)
            if _as_utc(p["Timestamp"]).timestamp() + MINUTE_S > cutoff
        ]

    def recent(
        self, endpoint: str, variant: str, metric: str, *, window_s: float, ago_s: float = 0.0
    ) -> float | None:
        """One metric aggregated over the last ``window_s`` seconds (None: no data).

        Counts are summed over the window, latencies and utilisation averaged over it,
        ``InvocationsPerInstance`` is the window's invocations over the most replicas that
        served in it. The window is at most :data:`RECENT_WINDOW_S` seconds. With ``ago_s``
        the window ends that many seconds ago (an alarm's earlier evaluation periods).
        """
        end = self.clock() - ago_s
        cutoff = end - min(window_s, RECENT_WINDOW_S)
        merged = _Bucket()
        found = False
        with self._lock:
            for (name, variant_name, second), bucket in self._seconds.items():
                if (
                    name == endpoint
                    and variant_name == variant
                    and second + 1 > cutoff
                    and (ago_s <= 0 or second + 1 <= end)
                ):
                    merged.add(bucket)
                    found = True
        return merged.values().get(metric) if found else None


def _as_utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
