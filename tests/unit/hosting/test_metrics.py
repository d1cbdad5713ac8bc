"""Endpoint metrics: per-minute aggregates, SageMaker's definitions, persisted minutes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.hosting.metrics import MetricsStore
from modelyard.ids import ResourceKind


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def catalog() -> Iterator[SqlCatalog]:
    with SqlCatalog("sqlite://") as found:
        found.migrate()
        found.create(ResourceKind.ENDPOINT, "ep", spec={}, status="Creating")
        yield found


def values(store: MetricsStore, metric: str, variant: str = "A") -> list[float]:
    return [p["Value"] for p in store.points("ep", metric=metric, variant=variant)]


def test_a_minute_aggregates_invocations_errors_and_latencies(catalog: SqlCatalog) -> None:
    store = MetricsStore(catalog, clock=Clock(600.0))
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=800, overhead_latency_us=100
    )
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1200, overhead_latency_us=300
    )
    store.record_invocation(
        "ep", "A", 415, model_error=True, model_latency_us=500, overhead_latency_us=200
    )
    store.record_invocation(
        "ep", "A", 500, model_error=True, model_latency_us=1500, overhead_latency_us=400
    )
    store.record_invocation(
        "ep", "A", 503, model_error=False, model_latency_us=None, overhead_latency_us=None
    )
    store.record_utilization("ep", "A", instances=2, cpu_percent=30.0, memory_percent=10.0)
    store.record_utilization("ep", "A", instances=2, cpu_percent=50.0, memory_percent=20.0)
    assert values(store, "Invocations") == [5.0]
    assert values(store, "Invocation4XXErrors") == [1.0]
    assert values(store, "Invocation5XXErrors") == [2.0]
    assert values(store, "InvocationModelErrors") == [2.0]
    assert values(store, "ModelLatency") == [1000.0]
    assert values(store, "OverheadLatency") == [250.0]
    assert values(store, "InvocationsPerInstance") == [2.5]
    assert values(store, "CPUUtilization") == [40.0]
    assert values(store, "MemoryUtilization") == [15.0]


def test_completed_minutes_are_persisted_and_still_read(catalog: SqlCatalog) -> None:
    clock = Clock(600.0)
    store = MetricsStore(catalog, clock=clock)
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    store.record_invocation(
        "ep", "B", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    assert store.flush() == 0  # the minute is not over
    clock.now = 661.0
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    assert store.flush() > 0
    persisted = {p.name for p in catalog.metric_points(ResourceKind.ENDPOINT, "ep")}
    assert {"A/Invocations", "B/Invocations", "A/ModelLatency"} <= persisted
    assert values(store, "Invocations") == [1.0, 2.0]  # persisted minute, then the current one
    assert [
        p["Timestamp"].minute for p in store.points("ep", metric="Invocations", variant="A")
    ] == [10, 11]
    assert store.value("ep", "A", "Invocations", since_s=120) == [1.0, 2.0]
    assert store.value("ep", "A", "Invocations", since_s=1) == [2.0]  # minutes overlapping
    store.flush(everything=True)
    assert values(store, "Invocations") == [1.0, 2.0]


def test_metrics_of_a_deleted_endpoint_are_dropped(catalog: SqlCatalog) -> None:
    store = MetricsStore(catalog, clock=Clock(0.0))
    store.record_invocation(
        "gone", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    assert store.flush(everything=True) == 0  # no such endpoint: nothing written, no error
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    store.forget("ep")
    assert store.points("ep") == []


def test_recent_aggregates_the_last_seconds_for_loops_that_cannot_wait_a_minute(
    catalog: SqlCatalog,
) -> None:
    clock = Clock(1000.0)
    store = MetricsStore(catalog, clock=clock)
    store.record_invocation(
        "ep", "A", 500, model_error=True, model_latency_us=900, overhead_latency_us=100
    )
    clock.now = 1020.0
    for status in (200, 200, 500):
        store.record_invocation(
            "ep",
            "A",
            status,
            model_error=status >= 500,
            model_latency_us=300,
            overhead_latency_us=100,
        )
    store.record_utilization("ep", "A", instances=2, cpu_percent=80.0, memory_percent=5.0)
    clock.now = 1025.0

    assert store.recent("ep", "A", "Invocations", window_s=10) == 3.0
    assert store.recent("ep", "A", "Invocation5XXErrors", window_s=10) == 1.0
    assert store.recent("ep", "A", "ModelLatency", window_s=10) == 300.0
    assert store.recent("ep", "A", "InvocationsPerInstance", window_s=10) == 1.5
    assert store.recent("ep", "A", "CPUUtilization", window_s=10) == 80.0
    assert store.recent("ep", "A", "Invocations", window_s=60) == 4.0
    assert store.recent("ep", "B", "Invocations", window_s=60) is None


def test_recent_forgets_what_is_older_than_its_window_while_minutes_persist(
    catalog: SqlCatalog,
) -> None:
    clock = Clock(0.0)
    store = MetricsStore(catalog, clock=clock)
    store.record_invocation(
        "ep", "A", 200, model_error=False, model_latency_us=1, overhead_latency_us=1
    )
    clock.now = 2000.0
    store.flush()
    assert store.recent("ep", "A", "Invocations", window_s=900) is None
    assert values(store, "Invocations") == [1.0]
