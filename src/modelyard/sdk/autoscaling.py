"""Application Auto Scaling for endpoint variants, as ``boto3.client("application-autoscaling")``.

The method names and keyword arguments are boto3's, so code written for AWS reads
the same::

    autoscaling = modelyard.Session().autoscaling_client()
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="endpoint/my-endpoint/variant/AllTraffic",
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=4,
    )

Responses are the service's shapes; their times (``CreationTime``, ``StartTime``,
``EndTime``) are ``datetime`` objects as boto3 returns them. Over HTTP only.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelyard.sdk.client import ApiClient

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

_TIMES = ("CreationTime", "StartTime", "EndTime")
_LISTS = ("ScalableTargets", "ScalingPolicies", "ScalingActivities")


def _with_times(body: dict[str, Any]) -> dict[str, Any]:
    for key in _LISTS:
        for item in body.get(key) or []:
            for name in _TIMES:
                if isinstance(item.get(name), str):
                    item[name] = datetime.fromisoformat(item[name])
    return body


class AutoscalingClient:
    """boto3's ``application-autoscaling`` client, for SageMaker endpoint variants here."""

    def __init__(self, session: Session | None = None, *, client: ApiClient | None = None) -> None:
        if client is None:
            from modelyard.sdk.hosting import session_of

            client = session_of(session).client
        self._api = client

    def register_scalable_target(self, **request: Any) -> dict[str, Any]:
        """A variant's MinCapacity/MaxCapacity (and SuspendedState); ``ScalableTargetARN``."""
        found: dict[str, Any] = self._api.post_json("/autoscaling/scalable-targets", request)
        return found

    def deregister_scalable_target(self, **request: Any) -> dict[str, Any]:
        """ServiceNamespace, ResourceId, ScalableDimension: the target and its policies go."""
        self._api.delete("/autoscaling/scalable-targets", **request)
        return {}

    def describe_scalable_targets(self, **query: Any) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get_json("/autoscaling/scalable-targets", **query)
        return _with_times(found)

    def put_scaling_policy(self, **request: Any) -> dict[str, Any]:
        """A TargetTrackingScaling policy; ``PolicyARN`` and ``Alarms``."""
        found: dict[str, Any] = self._api.post_json("/autoscaling/scaling-policies", request)
        return found

    def delete_scaling_policy(self, **request: Any) -> dict[str, Any]:
        """PolicyName, ServiceNamespace, ResourceId, ScalableDimension."""
        self._api.delete("/autoscaling/scaling-policies", **request)
        return {}

    def describe_scaling_policies(self, **query: Any) -> dict[str, Any]:
        found: dict[str, Any] = self._api.get_json("/autoscaling/scaling-policies", **query)
        return _with_times(found)

    def describe_scaling_activities(self, **query: Any) -> dict[str, Any]:
        """Newest first: Description, Cause, StartTime, EndTime, StatusCode."""
        found: dict[str, Any] = self._api.get_json("/autoscaling/scaling-activities", **query)
        return _with_times(found)
