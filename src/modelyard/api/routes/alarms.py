"""``/alarms``: CloudWatch metric alarms on endpoint metrics (PutMetricAlarm, DescribeAlarms,
DeleteAlarms), what an update's ``AutoRollbackConfiguration`` names.

Every rule lives in :class:`modelyard.hosting.alarms.AlarmRegistry`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep
from modelyard.errors import ValidationError

router = APIRouter()

_EXAMPLE = {
    "MetricName": "Invocation5XXErrors",
    "Namespace": "AWS/SageMaker",
    "Statistic": "Average",
    "Dimensions": [
        {"Name": "EndpointName", "Value": "my-endpoint"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ],
    "Period": 10,
    "EvaluationPeriods": 1,
    "Threshold": 0.05,
    "ComparisonOperator": "GreaterThanThreshold",
}


@router.put("/alarms/{name}")
def put_alarm(
    name: str, services: ServicesDep, body: dict[str, Any] = Body(..., examples=[_EXAMPLE])
) -> dict[str, Any]:
    """PutMetricAlarm: create or replace the alarm; its description, state evaluated now."""
    if body.get("AlarmName", name) != name:
        raise ValidationError(
            f"AlarmName={body['AlarmName']!r} differs from the alarm in the path ({name!r})",
            field="AlarmName",
        )
    return services.endpoints.alarms.put({**body, "AlarmName": name})


@router.get("/alarms")
def describe_alarms(
    services: ServicesDep,
    prefix: str | None = Query(None, alias="AlarmNamePrefix"),
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"] | None = Query(None, alias="StateValue"),
) -> dict[str, Any]:
    """DescribeAlarms: ``MetricAlarms``, each with its ``StateValue`` evaluated now."""
    return services.endpoints.alarms.list(prefix, state)


@router.get("/alarms/{name}")
def describe_alarm(name: str, services: ServicesDep) -> dict[str, Any]:
    """One alarm (DescribeAlarms' ``MetricAlarm``), its state evaluated now."""
    return services.endpoints.alarms.describe(name)


@router.delete("/alarms/{name}")
def delete_alarm(name: str, services: ServicesDep) -> dict[str, Any]:
    """DeleteAlarms for one alarm; an update that names it no longer watches it."""
    services.endpoints.alarms.delete(name)
    return {}
