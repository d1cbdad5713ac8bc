"""``/autoscaling``: Application Auto Scaling's operations for SageMaker variants over HTTP.

Request bodies and responses are Application Auto Scaling's shapes
(RegisterScalableTarget, PutScalingPolicy, ...); a describe's filters are query
parameters of the same names. Every rule lives in
:class:`modelyard.hosting.autoscaling.AutoscalingController`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep

router = APIRouter()

_TARGET_EXAMPLE = {
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/my-endpoint/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    "MinCapacity": 1,
    "MaxCapacity": 4,
}
_POLICY_EXAMPLE = {
    "PolicyName": "invocations",
    "ServiceNamespace": "sagemaker",
    "ResourceId": "endpoint/my-endpoint/variant/AllTraffic",
    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
    "PolicyType": "TargetTrackingScaling",
    "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 100.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "ScaleOutCooldown": 60,
        "ScaleInCooldown": 300,
    },
}
_NAMESPACE = Query("sagemaker", alias="ServiceNamespace")
_DIMENSION = Query("sagemaker:variant:DesiredInstanceCount", alias="ScalableDimension")


@router.post("/autoscaling/scalable-targets")
def register_scalable_target(
    services: ServicesDep, body: dict[str, Any] = Body(..., examples=[_TARGET_EXAMPLE])
) -> dict[str, Any]:
    """RegisterScalableTarget: bounds a variant's replica count (clamped into them at once)."""
    return services.endpoints.autoscaling.registry.register_scalable_target(body)


@router.get("/autoscaling/scalable-targets")
def describe_scalable_targets(
    services: ServicesDep,
    namespace: str = _NAMESPACE,
    resource_ids: list[str] | None = Query(None, alias="ResourceIds"),
    dimension: str | None = Query(None, alias="ScalableDimension"),
    max_results: int | None = Query(None, ge=1, le=50, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
) -> dict[str, Any]:
    """DescribeScalableTargets: ``ScalableTargets`` (and ``NextToken``)."""
    return services.endpoints.autoscaling.registry.describe_scalable_targets(
        {
            "ServiceNamespace": namespace,
            "ResourceIds": resource_ids,
            "ScalableDimension": dimension,
            "MaxResults": max_results,
            "NextToken": next_token,
        }
    )


@router.delete("/autoscaling/scalable-targets")
def deregister_scalable_target(
    services: ServicesDep,
    resource_id: str = Query(..., alias="ResourceId"),
    namespace: str = _NAMESPACE,
    dimension: str = _DIMENSION,
) -> dict[str, Any]:
    """DeregisterScalableTarget: the target and its policies go; the replica count stays."""
    return services.endpoints.autoscaling.registry.deregister_scalable_target(
        {"ServiceNamespace": namespace, "ResourceId": resource_id, "ScalableDimension": dimension}
    )


@router.post("/autoscaling/scaling-policies")
def put_scaling_policy(
    services: ServicesDep, body: dict[str, Any] = Body(..., examples=[_POLICY_EXAMPLE])
) -> dict[str, Any]:
    """PutScalingPolicy: a target-tracking policy (``PolicyARN``, ``Alarms``)."""
    return services.endpoints.autoscaling.registry.put_scaling_policy(body)


@router.get("/autoscaling/scaling-policies")
def describe_scaling_policies(
    services: ServicesDep,
    namespace: str = _NAMESPACE,
    policy_names: list[str] | None = Query(None, alias="PolicyNames"),
    resource_id: str | None = Query(None, alias="ResourceId"),
    dimension: str | None = Query(None, alias="ScalableDimension"),
    max_results: int | None = Query(None, ge=1, le=50, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
) -> dict[str, Any]:
    """DescribeScalingPolicies: ``ScalingPolicies`` (and ``NextToken``)."""
    return services.endpoints.autoscaling.registry.describe_scaling_policies(
        {
            "ServiceNamespace": namespace,
            "PolicyNames": policy_names,
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
            "MaxResults": max_results,
            "NextToken": next_token,
        }
    )


@router.delete("/autoscaling/scaling-policies")
def delete_scaling_policy(
    services: ServicesDep,
    policy_name: str = Query(..., alias="PolicyName"),
    resource_id: str = Query(..., alias="ResourceId"),
    namespace: str = _NAMESPACE,
    dimension: str = _DIMENSION,
) -> dict[str, Any]:
    """DeleteScalingPolicy."""
    return services.endpoints.autoscaling.registry.delete_scaling_policy(
        {
            "PolicyName": policy_name,
            "ServiceNamespace": namespace,
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
        }
    )


@router.get("/autoscaling/scaling-activities")
def describe_scaling_activities(
    services: ServicesDep,
    namespace: str = _NAMESPACE,
    resource_id: str | None = Query(None, alias="ResourceId"),
    dimension: str | None = Query(None, alias="ScalableDimension"),
    max_results: int | None = Query(None, ge=1, le=50, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
    not_scaled: bool = Query(False, alias="IncludeNotScaledActivities"),
) -> dict[str, Any]:
    """DescribeScalingActivities: what changed, why, when, and its status; newest first.

    With ``IncludeNotScaledActivities``, also the changes held at MinCapacity/MaxCapacity.
    """
    return services.endpoints.autoscaling.registry.describe_scaling_activities(
        {
            "ServiceNamespace": namespace,
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
            "MaxResults": max_results,
            "NextToken": next_token,
            "IncludeNotScaledActivities": not_scaled,
        }
    )
