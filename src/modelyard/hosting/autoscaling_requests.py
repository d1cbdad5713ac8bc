"""Application Auto Scaling's requests for SageMaker variants: checked, and read back.

Requests are checked against botocore's ``application-autoscaling`` model first (names,
types, enums), then against what a SageMaker variant supports here: ServiceNamespace
``sagemaker``, ScalableDimension ``sagemaker:variant:DesiredInstanceCount``, ResourceId
``endpoint/<EndpointName>/variant/<VariantName>``, ``TargetTrackingScaling`` policies on
``SageMakerVariantInvocationsPerInstance`` or on the endpoint's ``CPUUtilization`` /
``MemoryUtilization`` (namespace ``/aws/sagemaker/Endpoints``). Every refusal is a
``ValidationError`` naming the field and how to fix it.

The catalog keeps the Describe* shapes themselves (times as ISO strings), so a stored
policy turns back into a :class:`~.autoscaling_policy.TargetTrackingPolicy` with
:func:`policy_of` and a stored target into :class:`~.autoscaling_policy.Bounds` with
:func:`bounds_of`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelyard.errors import ValidationError
from modelyard.hosting.autoscaling_policy import Bounds, Metric, TargetTrackingPolicy
from modelyard.jobs.shapes import Relaxed, validate_request

SERVICE = "application-autoscaling"
NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
PREDEFINED = "SageMakerVariantInvocationsPerInstance"
UTILIZATION_NAMESPACE = "/aws/sagemaker/Endpoints"
INVOCATIONS_NAMESPACE = "AWS/SageMaker"
#: SageMaker's default cooldowns when a policy names none.
DEFAULT_COOLDOWN_S = 300
#: (Namespace, MetricName) of a CustomizedMetricSpecification -> what is tracked.
CUSTOM_METRICS = {
    (UTILIZATION_NAMESPACE, "CPUUtilization"): Metric.CPU_UTILIZATION,
    (UTILIZATION_NAMESPACE, "MemoryUtilization"): Metric.MEMORY_UTILIZATION,
    (INVOCATIONS_NAMESPACE, "InvocationsPerInstance"): Metric.INVOCATIONS_PER_INSTANCE,
}
_RELAXED = Relaxed(ignore=frozenset({"Tags"}))
_CONFIG = "TargetTrackingScalingPolicyConfiguration"


@dataclass(frozen=True)
class VariantId:
    """The variant a ResourceId names."""

    endpoint: str
    variant: str

    @property
    def resource_id(self) -> str:
        return f"endpoint/{self.endpoint}/variant/{self.variant}"


def parse_resource_id(value: object, field: str = "ResourceId") -> VariantId:
    parts = value.split("/") if isinstance(value, str) else []
    if len(parts) != 4 or parts[0] != "endpoint" or parts[2] != "variant" or not all(parts):
        raise ValidationError(
            f"{field}: {value!r} is not a SageMaker variant; write "
            "'endpoint/<EndpointName>/variant/<VariantName>'",
            field=field,
        )
    return VariantId(parts[1], parts[3])


def check_dimension(body: dict[str, Any]) -> VariantId:
    """ServiceNamespace, ScalableDimension and ResourceId of a request naming one target."""
    check_namespace(body)
    if body.get("ScalableDimension") != DIMENSION:
        raise ValidationError(
            f"ScalableDimension: {body.get('ScalableDimension')!r} cannot be scaled here; "
            f"a SageMaker variant scales by '{DIMENSION}'",
            field="ScalableDimension",
        )
    return parse_resource_id(body.get("ResourceId"))


def check_namespace(body: dict[str, Any]) -> None:
    if body.get("ServiceNamespace") != NAMESPACE:
        raise ValidationError(
            f"ServiceNamespace: {body.get('ServiceNamespace')!r} is not served here; "
            f"use '{NAMESPACE}' (SageMaker endpoint variants)",
            field="ServiceNamespace",
        )


def check_register(
    body: object, existing_of: Callable[[VariantId], dict[str, Any] | None]
) -> tuple[VariantId, Bounds]:
    """RegisterScalableTarget: the variant, and its bounds (an update keeps what is unsaid)."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    validate_request("RegisterScalableTargetRequest", body, _RELAXED, service=SERVICE)
    variant = check_dimension(body)
    existing = existing_of(variant)
    earlier = existing or {}
    low = body.get("MinCapacity")
    low = earlier.get("MinCapacity") if low is None else low
    high = body.get("MaxCapacity")
    high = earlier.get("MaxCapacity") if high is None else high
    for field, value in (("MinCapacity", low), ("MaxCapacity", high)):
        if value is None:
            raise ValidationError(
                f"{field}: is required when a scalable target is first registered",
                field=field,
            )
    assert isinstance(low, int)
    assert isinstance(high, int)
    if low < 1:
        raise ValidationError(
            f"MinCapacity: {low} is below 1; a SageMaker variant keeps at least one replica",
            field="MinCapacity",
        )
    if low > high:
        raise ValidationError(
            f"MinCapacity: {low} is above MaxCapacity {high}; make MinCapacity <= MaxCapacity",
            field="MinCapacity",
        )
    suspended = body.get("SuspendedState") or (existing or {}).get("SuspendedState") or {}
    return variant, Bounds(
        low,
        high,
        scale_out_suspended=bool(suspended.get("DynamicScalingOutSuspended")),
        scale_in_suspended=bool(suspended.get("DynamicScalingInSuspended")),
    )


def check_policy(body: object) -> tuple[VariantId, TargetTrackingPolicy]:
    """PutScalingPolicy: the variant and the target-tracking policy it asks for."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    validate_request("PutScalingPolicyRequest", body, service=SERVICE)
    variant = check_dimension(body)
    policy_type = body.get("PolicyType", "TargetTrackingScaling")
    if policy_type != "TargetTrackingScaling":
        raise ValidationError(
            f"PolicyType: {policy_type!r} is not supported; use 'TargetTrackingScaling' "
            f"with a {_CONFIG}",
            field="PolicyType",
        )
    config = body.get(_CONFIG)
    if not isinstance(config, dict):
        raise ValidationError(
            f"{_CONFIG}: is required for a TargetTrackingScaling policy", field=_CONFIG
        )
    target = float(config["TargetValue"])
    if target <= 0:
        raise ValidationError(
            f"{_CONFIG}.TargetValue: {target:g} must be above 0", field=f"{_CONFIG}.TargetValue"
        )
    cooldowns = {}
    for key in ("ScaleOutCooldown", "ScaleInCooldown"):
        value = config.get(key)
        value = DEFAULT_COOLDOWN_S if value is None else value
        if value < 0:
            raise ValidationError(
                f"{_CONFIG}.{key}: {value} seconds cannot be negative", field=f"{_CONFIG}.{key}"
            )
        cooldowns[key] = float(value)
    return variant, TargetTrackingPolicy(
        name=body["PolicyName"],
        metric=_metric(config, variant),
        target_value=target,
        scale_out_cooldown_s=cooldowns["ScaleOutCooldown"],
        scale_in_cooldown_s=cooldowns["ScaleInCooldown"],
        disable_scale_in=bool(config.get("DisableScaleIn", False)),
    )


def _metric(config: dict[str, Any], variant: VariantId) -> Metric:
    predefined = config.get("PredefinedMetricSpecification")
    custom = config.get("CustomizedMetricSpecification")
    if (predefined is None) == (custom is None):
        raise ValidationError(
            f"{_CONFIG}: give exactly one of PredefinedMetricSpecification and "
            "CustomizedMetricSpecification",
            field=_CONFIG,
        )
    if predefined is not None:
        kind = predefined["PredefinedMetricType"]
        if kind != PREDEFINED:
            raise ValidationError(
                f"{_CONFIG}.PredefinedMetricSpecification.PredefinedMetricType: {kind!r} does "
                f"not apply to a SageMaker variant here; use '{PREDEFINED}', or a "
                "CustomizedMetricSpecification on CPUUtilization",
                field=f"{_CONFIG}.PredefinedMetricSpecification.PredefinedMetricType",
            )
        return Metric.INVOCATIONS_PER_INSTANCE
    assert isinstance(custom, dict)
    where = f"{_CONFIG}.CustomizedMetricSpecification"
    if custom.get("Metrics"):
        raise ValidationError(
            f"{where}.Metrics: metric math is not supported; name one MetricName and Namespace",
            field=f"{where}.Metrics",
        )
    key = (custom.get("Namespace"), custom.get("MetricName"))
    metric = CUSTOM_METRICS.get(key)  # type: ignore[arg-type]
    if metric is None:
        known = ", ".join(f"{name} in {space}" for space, name in CUSTOM_METRICS)
        raise ValidationError(
            f"{where}.MetricName: {key[1]!r} in namespace {key[0]!r} is not a metric "
            f"autoscaling can track; use one of: {known}",
            field=f"{where}.MetricName",
        )
    statistic = custom.get("Statistic", "Average")
    if statistic not in ("Average", "Sum") or (
        metric is not Metric.INVOCATIONS_PER_INSTANCE and statistic != "Average"
    ):
        raise ValidationError(
            f"{where}.Statistic: {statistic!r} is not supported for {key[1]}; use 'Average'",
            field=f"{where}.Statistic",
        )
    expected = {"EndpointName": variant.endpoint, "VariantName": variant.variant}
    for index, dimension in enumerate(custom.get("Dimensions") or []):
        name, value = dimension["Name"], dimension["Value"]
        if name not in expected or expected[name] != value:
            raise ValidationError(
                f"{where}.Dimensions.{index}: {name}={value!r} does not name the policy's "
                f"variant; use EndpointName={variant.endpoint!r} and "
                f"VariantName={variant.variant!r}",
                field=f"{where}.Dimensions.{index}",
            )
    return metric


def bounds_of(target: dict[str, Any]) -> Bounds:
    """A stored ScalableTarget's bounds."""
    suspended = target.get("SuspendedState") or {}
    return Bounds(
        int(target["MinCapacity"]),
        int(target["MaxCapacity"]),
        scale_out_suspended=bool(suspended.get("DynamicScalingOutSuspended")),
        scale_in_suspended=bool(suspended.get("DynamicScalingInSuspended")),
    )


def policy_of(stored: dict[str, Any]) -> TargetTrackingPolicy:
    """A stored ScalingPolicy as the rule reads it (it was checked when put)."""
    _, policy = check_policy(
        {k: v for k, v in stored.items() if k not in ("PolicyARN", "Alarms", "CreationTime")}
    )
    return policy
