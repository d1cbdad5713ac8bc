"""Endpoint metrics through the API: SageMaker's names, per variant, the current minute included."""

from __future__ import annotations

from typing import Any

from .conftest import Hosting, csv_rows

ROWS = [[5.1, 3.5, 1.4, 0.2]]


SUMMED = {"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationModelErrors"}


def _latest(hosting: Hosting, name: str) -> dict[str, float]:
    """Counts summed over the minutes the test spans; other metrics: the latest minute's."""
    points: list[dict[str, Any]] = hosting.http.get(f"/endpoints/{name}/metrics").json()["Metrics"]
    latest: dict[str, float] = {}
    for point in points:  # oldest first
        if point["VariantName"] != "AllTraffic":
            continue
        metric = point["MetricName"]
        if metric in SUMMED:
            latest[metric] = latest.get(metric, 0.0) + point["Value"]
        else:
            latest[metric] = point["Value"]
    return latest


def test_invocations_errors_latency_and_utilization_are_recorded(hosting: Hosting) -> None:
    hosting.deploy("measured", hosting.artifacts.logistic, count=2)
    for _ in range(10):
        assert hosting.invoke("measured", csv_rows(ROWS)).status_code == 200
    assert hosting.invoke("measured", b"\x00", "image/png").status_code == 415
    assert hosting.invoke("measured", b"1,2\n").status_code == 424
    assert hosting.invoke("measured", b"1," * (3 * 2**20 + 1)).status_code == 413  # not the model's

    metrics = hosting.wait_until(
        lambda: (found := _latest(hosting, "measured")).get("CPUUtilization") is not None and found,
        timeout_s=30,
        message="no utilization sample",
    )
    assert metrics["Invocations"] == 12
    assert metrics["Invocation4XXErrors"] == 1
    assert metrics["Invocation5XXErrors"] == 1
    assert metrics["InvocationModelErrors"] == 2
    assert 0 < metrics["ModelLatency"] < 1_000_000  # microseconds
    assert 0 < metrics["OverheadLatency"] < metrics["ModelLatency"] * 10
    assert 0 < metrics["InvocationsPerInstance"] <= 6  # 12 over 2 replicas, maybe split
    assert metrics["CPUUtilization"] >= 0
    assert 0 < metrics["MemoryUtilization"] < 100

    one = hosting.http.get(
        "/endpoints/measured/metrics",
        params={"MetricName": "Invocations", "VariantName": "AllTraffic"},
    ).json()["Metrics"]
    assert {p["MetricName"] for p in one} == {"Invocations"}
    assert hosting.http.get("/endpoints/nothing/metrics").status_code == 404
