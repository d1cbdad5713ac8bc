"""UpdateEndpoint's deployment options and the manual rollback, checked before anything moves.

- ``DeploymentConfig`` (blue/green, :mod:`.deployment`); with ``RetainDeploymentConfig``
  and none given, the endpoint's ``LastDeploymentConfig`` is used again. Every alarm its
  ``AutoRollbackConfiguration`` names must exist (PutMetricAlarm first).
- ``RetainAllVariantProperties``: a variant the new config names as the serving one does
  keeps its current instance count and weight (what autoscaling or
  UpdateEndpointWeightsAndCapacities set), except the properties
  ``ExcludeRetainedVariantProperties`` lists. Without it the new fleet starts at the new
  config's ``InitialInstanceCount`` and ``InitialVariantWeight``, as on SageMaker.
- A manual rollback (``modelyard endpoints rollback``) during an update sends all
  traffic back to the old fleet at once (it is warm until the end of the bake); after
  it, it redeploys the previous config, all at once, from the snapshot taken when it was
  replaced (so it works even if that config or its models were deleted since).
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ConflictError, ValidationError
from modelyard.hosting.alarms import AlarmRegistry
from modelyard.hosting.deployment import Rollout
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.ids import utcnow

MANUAL_ROLLBACK = "rolled back: requested by a manual rollback"


def deployment_config(
    request: dict[str, Any], last: dict[str, Any] | None, alarms: AlarmRegistry | None
) -> dict[str, Any] | None:
    """The DeploymentConfig this update follows (its alarms checked)."""
    config = request.get("DeploymentConfig")
    if not config and request.get("RetainDeploymentConfig"):
        config = last
    if not config:
        return None
    names = (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    for index, entry in enumerate(names):
        if alarms is None or alarms.spec(entry["AlarmName"]) is None:
            field = f"DeploymentConfig.AutoRollbackConfiguration.Alarms.{index}.AlarmName"
            raise ValidationError(
                f"{field}: no alarm {entry['AlarmName']!r}; create it first "
                "(modelyard alarms put, or PUT /alarms/{name})",
                field=field,
            )
    return dict(config)


def retain_variant_properties(
    deployment: Deployment, active: Deployment, request: dict[str, Any]
) -> None:
    """RetainAllVariantProperties: same-named variants keep their count and weight."""
    if not request.get("RetainAllVariantProperties"):
        return
    excluded = {
        p.get("VariantPropertyType") for p in request.get("ExcludeRetainedVariantProperties") or []
    }
    for name in deployment.desired:
        if name not in active.desired:
            continue
        if "DesiredInstanceCount" not in excluded:
            deployment.desired[name] = active.desired[name]
        if "DesiredWeight" not in excluded:
            deployment.weights[name] = active.weights[name]


def start_rollout(deployment: Deployment, config: dict[str, Any] | None, now: float) -> Rollout:
    capacity = sum(deployment.desired.get(n, 0) for n in deployment.production_names())
    return Rollout.start(config, capacity, now)


def previous_deployment(
    state: EndpointState, status: str | None, saved: dict[str, Any]
) -> Deployment:
    """The deployment a rollback after the bake redeploys, or a 409 saying why there is none."""
    if status != "InService" or state.active is None:
        raise ConflictError(
            f"endpoint {state.name!r} is {status}: nothing to roll back (a rollback acts during "
            "an update, or once the endpoint is InService after one)",
            field="EndpointName",
        )
    previous = saved.get("Previous")
    if not previous:
        raise ConflictError(
            f"endpoint {state.name!r} has no previous config to roll back to: it has only ever "
            f"served {state.active.config_name}",
            field="EndpointName",
        )
    snapshot = Deployment.from_state(previous)
    return Deployment.new(
        snapshot.config_name, snapshot.config, snapshot.models, utcnow().isoformat()
    )
