"""Metric alarms on endpoint metrics: PutMetricAlarm's checks and CloudWatch's evaluation rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.errors import NotFoundError, ValidationError
from modelyard.hosting.alarms import AlarmRegistry, check_alarm
from modelyard.hosting.metrics import MetricsStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def metrics(clock: Clock) -> Iterator[MetricsStore]:
    with SqlCatalog("sqlite://") as catalog:
        catalog.migrate()
        yield MetricsStore(catalog, clock=clock)


@pytest.fixture
def registry(metrics: MetricsStore) -> AlarmRegistry:
    return AlarmRegistry(metrics.catalog, metrics, lambda endpoint: {"AllTraffic": "AllTraffic"})


def alarm(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AlarmName": "ep-5xx",
        "MetricName": "Invocation5XXErrors",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
        "Dimensions": [
            {"Name": "EndpointName", "Value": "ep"},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ],
        "Period": 10,
        "EvaluationPeriods": 1,
        "Threshold": 0.2,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    body.update(changes)
    return body


def invoke(metrics: MetricsStore, status: int, count: int = 1, latency_us: float = 1000.0) -> None:
    for _ in range(count):
        metrics.record_invocation(
            "ep",
            "AllTraffic",
            status,
            model_error=status >= 400,
            model_latency_us=latency_us,
            overhead_latency_us=10.0,
        )


def test_a_5xx_rate_alarm_goes_from_no_data_to_ok_to_alarm(
    registry: AlarmRegistry, metrics: MetricsStore, clock: Clock
) -> None:
    described = registry.put(alarm())
    assert described["StateValue"] == "INSUFFICIENT_DATA"
    assert described["AlarmArn"] == "arn:aws:cloudwatch:local:000000000000:alarm:ep-5xx"
    invoke(metrics, 200, 9)
    invoke(metrics, 500, 1)
    assert registry.describe("ep-5xx")["StateValue"] == "OK"  # 10% of invocations
    invoke(metrics, 500, 3)
    described = registry.describe("ep-5xx")
    assert described["StateValue"] == "ALARM"  # 4 of 13
    assert "Invocation5XXErrors (Average) on variant AllTraffic" in described["StateReason"]
    clock.now += 11
    assert registry.describe("ep-5xx")["StateValue"] == "INSUFFICIENT_DATA"  # the period passed


def test_datapoints_to_alarm_of_evaluation_periods(
    registry: AlarmRegistry, metrics: MetricsStore, clock: Clock
) -> None:
    registry.put(
        alarm(Statistic="Sum", Threshold=0, EvaluationPeriods=3, DatapointsToAlarm=2, Period=5)
    )
    invoke(metrics, 500)
    clock.now += 5
    invoke(metrics, 200)
    clock.now += 5
    invoke(metrics, 200)
    assert registry.describe("ep-5xx")["StateValue"] == "OK"  # 1 of 3 periods breached
    invoke(metrics, 500)
    assert registry.describe("ep-5xx")["StateValue"] == "ALARM"  # 2 of 3


def test_model_latency_and_missing_data_treatments(
    registry: AlarmRegistry, metrics: MetricsStore
) -> None:
    latency = alarm(
        AlarmName="slow", MetricName="ModelLatency", Threshold=50_000, Statistic="Average"
    )
    registry.put(latency)
    registry.put({**latency, "AlarmName": "slow-strict", "TreatMissingData": "breaching"})
    registry.put({**latency, "AlarmName": "slow-lenient", "TreatMissingData": "notBreaching"})
    states = {a["AlarmName"]: a["StateValue"] for a in registry.list()["MetricAlarms"]}
    assert states == {"slow": "INSUFFICIENT_DATA", "slow-strict": "ALARM", "slow-lenient": "OK"}
    invoke(metrics, 200, 2, latency_us=80_000.0)
    assert registry.describe("slow")["StateValue"] == "ALARM"
    alarming = registry.list(prefix="slow-", state="ALARM")["MetricAlarms"]
    assert [a["AlarmName"] for a in alarming] == ["slow-lenient", "slow-strict"]


def test_an_alarm_is_replaced_and_deleted_by_name(registry: AlarmRegistry) -> None:
    registry.put(alarm())
    registry.put(alarm(Threshold=0.5))
    assert registry.describe("ep-5xx")["Threshold"] == 0.5
    registry.delete("ep-5xx")
    with pytest.raises(NotFoundError, match="ep-5xx"):
        registry.describe("ep-5xx")
    assert registry.spec("ep-5xx") is None


@pytest.mark.parametrize(
    ("changes", "field", "hint"),
    [
        ({"MetricName": "Latency"}, "MetricName", "one of Invocations"),
        ({"Statistic": "Maximum"}, "Statistic", "Average, SampleCount, Sum"),
        ({"ExtendedStatistic": "p99"}, "ExtendedStatistic", "percentiles"),
        ({"Metrics": [{"Id": "m1"}]}, "Metrics", "Invocation5XXErrors with Statistic Average"),
        ({"Namespace": "AWS/EC2"}, "Namespace", "AWS/SageMaker"),
        ({"Dimensions": [{"Name": "VariantName", "Value": "A"}]}, "Dimensions", "EndpointName"),
        ({"Period": 0}, "Period", "seconds"),
        ({"EvaluationPeriods": 1000}, "EvaluationPeriods", "at most"),
        ({"DatapointsToAlarm": 2}, "DatapointsToAlarm", "EvaluationPeriods"),
        ({"ComparisonOperator": "Above"}, "ComparisonOperator", "GreaterThanThreshold"),
        ({"TreatMissingData": "zero"}, "TreatMissingData", "notBreaching"),
        ({"Threshold": "high"}, "Threshold", "wrong type"),
        ({"AlarmName": "a b"}, "AlarmName", "URL path"),
        ({"Color": "red"}, "Color", "not a field"),
    ],
)
def test_a_bad_alarm_is_refused_naming_the_field(
    changes: dict[str, Any], field: str, hint: str
) -> None:
    with pytest.raises(ValidationError, match=hint) as caught:
        check_alarm(alarm(**changes))
    assert caught.value.field == field
