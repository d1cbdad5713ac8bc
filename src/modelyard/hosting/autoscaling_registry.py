"""Scalable targets, scaling policies and scaling activities, kept beside their endpoint.

Application Auto Scaling's operations for SageMaker variants (RegisterScalableTarget,
PutScalingPolicy, the Describe* calls, ...) over the endpoint's catalog state:
``ScalableTargets`` (variant -> ScalableTarget), ``ScalingPolicies`` (variant -> policy
name -> ScalingPolicy) and ``ScalingActivities`` (newest first, the last
:data:`MAX_ACTIVITIES`), each in the Describe* shape, so a restart keeps them and
deleting the endpoint removes them. Requests are checked by :mod:`.autoscaling_requests`;
a change of bounds or policies is evaluated at once through ``on_change`` (the loop of
:mod:`.autoscaling`), which also records here what it changed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from modelyard.catalog.base import ResourceRecord
from modelyard.config import Settings
from modelyard.errors import NotFoundError, ValidationError
from modelyard.hosting import autoscaling_requests as requests
from modelyard.hosting.autoscaling_policy import Decision
from modelyard.hosting.autoscaling_requests import VariantId
from modelyard.ids import ResourceKind, utcnow
from modelyard.jobs.shapes import validate_request

if TYPE_CHECKING:
    from modelyard.hosting.endpoints import EndpointController

log = logging.getLogger(__name__)

KIND = ResourceKind.ENDPOINT
TARGETS = "ScalableTargets"
POLICIES = "ScalingPolicies"
ACTIVITIES = "ScalingActivities"
MAX_ACTIVITIES = 100
MAX_RESULTS = 50
#: NotScaledReason codes recorded as not-scaled activities (IncludeNotScaledActivities).
NOT_SCALED_CODES = frozenset({"AlreadyAtMaxCapacity", "AlreadyAtMinCapacity"})


class ScalingRegistry:
    """The API's operations on targets, policies and activities (see the module doc)."""

    def __init__(
        self,
        endpoints: EndpointController,
        settings: Settings,
        on_change: Callable[[str, str], None],
    ) -> None:
        self.endpoints = endpoints
        self.catalog = endpoints.catalog
        self.settings = settings
        self.on_change = on_change
        #: held by every write here and by the loop while it evaluates a target
        self.lock = threading.RLock()

    # -- activities ------------------------------------------------------------------------

    def started(self, endpoint: str, variant: VariantId, current: int, decision: Decision) -> None:
        cause = f"{decision.cause}: desired instance count {current} -> {decision.desired}"
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": requests.NAMESPACE,
            "ResourceId": variant.resource_id,
            "ScalableDimension": requests.DIMENSION,
            "Description": f"Setting desired instance count to {decision.desired}.",
            "Cause": cause,
            "StartTime": utcnow().isoformat(),
            "StatusCode": "InProgress",
            "StatusMessage": f"waiting for {decision.desired} replicas in service",
        }
        log.info("autoscaling %s: %s (%s)", variant.resource_id, activity["Description"], cause)
        record = self.catalog.get(KIND, endpoint)
        activities = list(record.state.get(ACTIVITIES) or [])
        for earlier in activities:
            if earlier["ResourceId"] == variant.resource_id and earlier["StatusCode"] in (
                "Pending",
                "InProgress",
            ):
                earlier["StatusCode"] = "Overridden"
                earlier["StatusMessage"] = "a later activity changed the desired count again"
                earlier["EndTime"] = activity["StartTime"]
        activities.insert(0, activity)
        self.catalog.update(KIND, endpoint, state_updates={ACTIVITIES: activities[:MAX_ACTIVITIES]})

    def not_scaled(
        self, endpoint: str, variant: VariantId, current: int, decision: Decision
    ) -> None:
        """A change a policy wanted, held at a bound (a not-scaled activity, as AWS's)."""
        record = self.catalog.get(KIND, endpoint)
        target = (record.state.get(TARGETS) or {}).get(variant.variant) or {}
        direction = "out" if decision.not_scaled == "AlreadyAtMaxCapacity" else "in"
        now = utcnow().isoformat()
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": requests.NAMESPACE,
            "ResourceId": variant.resource_id,
            "ScalableDimension": requests.DIMENSION,
            "Description": f"Attempting to scale {direction} due to {decision.policy}",
            "Cause": decision.cause,
            "StartTime": now,
            "EndTime": now,
            "StatusCode": "Failed",
            "StatusMessage": f"Failed to set desired instance count: {decision.not_scaled}",
            "NotScaledReasons": [
                {
                    "Code": decision.not_scaled,
                    "CurrentCapacity": current,
                    "MinCapacity": target.get("MinCapacity"),
                    "MaxCapacity": target.get("MaxCapacity"),
                }
            ],
        }
        activities = [activity, *(record.state.get(ACTIVITIES) or [])]
        self.catalog.update(KIND, endpoint, state_updates={ACTIVITIES: activities[:MAX_ACTIVITIES]})

    def settle(self, record: ResourceRecord, variant: str, summary: dict[str, Any]) -> None:
        """Mark the variant's activity Successful once its replicas are all in service."""
        resource_id = VariantId(record.name, variant).resource_id
        activities = list(record.state.get(ACTIVITIES) or [])
        changed = False
        for activity in activities:
            if activity["ResourceId"] != resource_id or activity["StatusCode"] != "InProgress":
                continue
            desired = int(summary["DesiredInstanceCount"])
            if int(summary["CurrentInstanceCount"]) == desired:
                activity["StatusCode"] = "Successful"
                activity["StatusMessage"] = (
                    f"Successfully set desired instance count to {desired}. Change successfully "
                    "fulfilled by sagemaker."
                )
                activity["EndTime"] = utcnow().isoformat()
                changed = True
        if changed:
            self.catalog.update(KIND, record.name, state_updates={ACTIVITIES: activities})

    # -- the API's operations ----------------------------------------------------------------

    def register_scalable_target(self, body: object) -> dict[str, Any]:
        """RegisterScalableTarget: a new target, or new bounds / suspension of an existing one."""
        with self.lock:
            variant, bounds = requests.check_register(body, self._existing_target)
            record = self._variant_record(variant)
            targets = dict(record.state.get(TARGETS) or {})
            existing = targets.get(variant.variant)
            suspended = (body.get("SuspendedState") if isinstance(body, dict) else None) or (
                existing or {}
            ).get("SuspendedState")
            target: dict[str, Any] = {
                "ServiceNamespace": requests.NAMESPACE,
                "ResourceId": variant.resource_id,
                "ScalableDimension": requests.DIMENSION,
                "MinCapacity": bounds.min_capacity,
                "MaxCapacity": bounds.max_capacity,
                "RoleARN": (existing or {}).get("RoleARN") or self._role_arn(body),
                "CreationTime": (existing or {}).get("CreationTime") or utcnow().isoformat(),
                "ScalableTargetARN": (existing or {}).get("ScalableTargetARN")
                or self._arn("application-autoscaling", f"scalable-target/{uuid.uuid4().hex}"),
            }
            if suspended:
                target["SuspendedState"] = suspended
            targets[variant.variant] = target
            self.catalog.update(KIND, variant.endpoint, state_updates={TARGETS: targets})
            with contextlib.suppress(NotFoundError):
                self.on_change(variant.endpoint, variant.variant)  # the bounds hold at once
        return {"ScalableTargetARN": target["ScalableTargetARN"]}

    def deregister_scalable_target(self, body: object) -> dict[str, Any]:
        """DeregisterScalableTarget: the target and its policies go; the count stays."""
        with self.lock:
            variant = self._named_target(body, "DeregisterScalableTargetRequest")
            record = self._variant_record(variant, must_serve=False)
            targets = dict(record.state.get(TARGETS) or {})
            if targets.pop(variant.variant, None) is None:
                raise self._no_target(variant)
            policies = dict(record.state.get(POLICIES) or {})
            policies.pop(variant.variant, None)
            self.catalog.update(
                KIND, variant.endpoint, state_updates={TARGETS: targets, POLICIES: policies}
            )
        return {}

    def put_scaling_policy(self, body: object) -> dict[str, Any]:
        """PutScalingPolicy: target tracking on a registered target (same name: replaced)."""
        with self.lock:
            variant, policy = requests.check_policy(body)
            assert isinstance(body, dict)
            record = self._variant_record(variant, must_serve=False)
            if variant.variant not in (record.state.get(TARGETS) or {}):
                raise self._no_target(variant)
            policies = dict(record.state.get(POLICIES) or {})
            mine = dict(policies.get(variant.variant) or {})
            earlier = mine.get(policy.name) or {}
            alarms = earlier.get("Alarms") or self._alarms(variant)
            mine[policy.name] = {
                "PolicyARN": earlier.get("PolicyARN")
                or self._arn(
                    "autoscaling",
                    f"scalingPolicy:{uuid.uuid4()}:resource/sagemaker/{variant.resource_id}:"
                    f"policyName/{policy.name}",
                ),
                "PolicyName": policy.name,
                "ServiceNamespace": requests.NAMESPACE,
                "ResourceId": variant.resource_id,
                "ScalableDimension": requests.DIMENSION,
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": body[
                    "TargetTrackingScalingPolicyConfiguration"
                ],
                "Alarms": alarms,
                "CreationTime": earlier.get("CreationTime") or utcnow().isoformat(),
            }
            policies[variant.variant] = mine
            self.catalog.update(KIND, variant.endpoint, state_updates={POLICIES: policies})
            with contextlib.suppress(NotFoundError):
                self.on_change(variant.endpoint, variant.variant)
        return {"PolicyARN": mine[policy.name]["PolicyARN"], "Alarms": alarms}

    def delete_scaling_policy(self, body: object) -> dict[str, Any]:
        with self.lock:
            variant = self._named_target(body, "DeleteScalingPolicyRequest")
            assert isinstance(body, dict)
            record = self._variant_record(variant, must_serve=False)
            policies = dict(record.state.get(POLICIES) or {})
            mine = dict(policies.get(variant.variant) or {})
            if mine.pop(body["PolicyName"], None) is None:
                raise NotFoundError(
                    f"No scaling policy found for service namespace: sagemaker, resource ID: "
                    f"{variant.resource_id}, scalable dimension: {requests.DIMENSION}, policy "
                    f"name: {body['PolicyName']}",
                    field="PolicyName",
                )
            policies[variant.variant] = mine
            self.catalog.update(KIND, variant.endpoint, state_updates={POLICIES: policies})
        return {}

    def describe_scalable_targets(self, query: dict[str, Any]) -> dict[str, Any]:
        requests.check_namespace(query)
        wanted = set(query.get("ResourceIds") or [])
        found = [
            target
            for record in self.records()
            for target in (record.state.get(TARGETS) or {}).values()
            if not wanted or target["ResourceId"] in wanted
        ]
        if query.get("ScalableDimension") not in (None, requests.DIMENSION):
            found = []
        return _page("ScalableTargets", found, query)

    def describe_scaling_policies(self, query: dict[str, Any]) -> dict[str, Any]:
        requests.check_namespace(query)
        names = set(query.get("PolicyNames") or [])
        resource_id = query.get("ResourceId")
        found = [
            policy
            for record in self.records()
            for by_name in (record.state.get(POLICIES) or {}).values()
            for policy in by_name.values()
            if (not names or policy["PolicyName"] in names)
            and (resource_id is None or policy["ResourceId"] == resource_id)
        ]
        if query.get("ScalableDimension") not in (None, requests.DIMENSION):
            found = []
        return _page("ScalingPolicies", found, query)

    def describe_scaling_activities(self, query: dict[str, Any]) -> dict[str, Any]:
        """Newest first, as Application Auto Scaling lists them."""
        requests.check_namespace(query)
        resource_id = query.get("ResourceId")
        not_scaled = bool(query.get("IncludeNotScaledActivities"))
        found = [
            activity
            for record in self.records()
            for activity in record.state.get(ACTIVITIES) or []
            if (resource_id is None or activity["ResourceId"] == resource_id)
            and (not_scaled or "NotScaledReasons" not in activity)
        ]
        found.sort(key=lambda a: a["StartTime"], reverse=True)
        if query.get("ScalableDimension") not in (None, requests.DIMENSION):
            found = []
        return _page("ScalingActivities", found, query)

    # -- helpers -------------------------------------------------------------------------------

    def records(self) -> Iterator[ResourceRecord]:
        token: str | None = None
        while True:
            page = self.catalog.list(KIND, next_token=token)
            yield from page.records
            token = page.next_token
            if not token:
                return

    def _existing_target(self, variant: VariantId) -> dict[str, Any] | None:
        with contextlib.suppress(NotFoundError):
            record = self.catalog.get(KIND, variant.endpoint)
            found: dict[str, Any] | None = (record.state.get(TARGETS) or {}).get(variant.variant)
            return found
        return None

    def _variant_record(self, variant: VariantId, *, must_serve: bool = True) -> ResourceRecord:
        """The endpoint's record, once the variant is known to be one of its production ones."""
        try:
            described = self.endpoints.describe(variant.endpoint)
        except NotFoundError as exc:
            raise NotFoundError(
                f"ResourceId: endpoint {variant.endpoint!r} does not exist; create it first",
                field="ResourceId",
            ) from exc
        names = [v["VariantName"] for v in described.get("ProductionVariants") or []]
        if must_serve and variant.variant not in names:
            raise NotFoundError(
                f"ResourceId: endpoint {variant.endpoint!r} has no production variant "
                f"{variant.variant!r}; it has {', '.join(names) or 'none yet'}",
                field="ResourceId",
            )
        return self.catalog.get(KIND, variant.endpoint)

    def _named_target(self, body: object, shape: str) -> VariantId:
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        validate_request(shape, body, service=requests.SERVICE)
        return requests.check_dimension(body)

    def _no_target(self, variant: VariantId) -> NotFoundError:
        return NotFoundError(
            f"ResourceId: no scalable target is registered for {variant.resource_id}; "
            "register it first (RegisterScalableTarget)",
            field="ResourceId",
        )

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.settings.region}:{self.settings.account_id}:{resource}"

    def _role_arn(self, body: object) -> str:
        given = body.get("RoleARN") if isinstance(body, dict) else None
        return (
            str(given)
            if given
            else self._arn(
                "iam",
                "role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            )
        )

    def _alarms(self, variant: VariantId) -> list[dict[str, str]]:
        found = []
        for side in ("AlarmHigh", "AlarmLow"):
            name = f"TargetTracking-{variant.resource_id}-{side}-{uuid.uuid4()}"
            found.append({"AlarmName": name, "AlarmARN": self._arn("cloudwatch", f"alarm:{name}")})
        return found


def _page(key: str, items: list[dict[str, Any]], query: dict[str, Any]) -> dict[str, Any]:
    """One page of ``items``; NextToken is the offset of the next one."""
    size = int(query.get("MaxResults") or MAX_RESULTS)
    token = query.get("NextToken")
    start = int(token) if isinstance(token, str) and token.isdigit() else 0
    body: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return body
