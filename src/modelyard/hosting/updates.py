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

from typing import TYPE_CHECKING, Any

from modelyard.catalog.base import ResourceRecord
from modelyard.errors import ConflictError, ValidationError
from modelyard.hosting.advance import roll_back
from modelyard.hosting.alarms import AlarmRegistry
from modelyard.hosting.deployment import Rollout
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.ids import utcnow

if TYPE_CHECKING:
    from modelyard.hosting.reconciler import Reconciler

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


def begin(
    loop: Reconciler,
    state: EndpointState,
    deployment: Deployment,
    request: dict[str, Any],
    saved: dict[str, Any],
    alarms: AlarmRegistry | None,
) -> ResourceRecord:
    """UpdateEndpoint checked (its options, the fleet's sizes) and recorded: ``Updating``."""
    assert state.active is not None  # the caller checked it is InService
    config = deployment_config(request, saved.get("LastDeploymentConfig"), alarms)
    retain_variant_properties(deployment, state.active, request)
    rollout = start_rollout(deployment, config, loop.wall_clock())
    changes: dict[str, Any] = {"Pending": deployment.to_state(), "Rollout": rollout.to_state()}
    if request.get("DeploymentConfig"):
        changes["LastDeploymentConfig"] = config
    return _start(loop, state, deployment, rollout, changes)


def roll_back_or_redeploy(
    loop: Reconciler, state: EndpointState, saved: dict[str, Any]
) -> tuple[str, str]:
    """A manual rollback (see the module doc): its kind and the config that will serve."""
    if state.pending is not None and state.active is not None and state.rollout is not None:
        roll_back(loop, state, MANUAL_ROLLBACK)
        return "TrafficShift", state.active.config_name
    deployment = previous_deployment(state, loop.status.get(state.name), saved)
    rollout = start_rollout(deployment, None, loop.wall_clock())
    _start(
        loop,
        state,
        deployment,
        rollout,
        {"Pending": deployment.to_state(), "Rollout": rollout.to_state()},
    )
    return "Redeploy", deployment.config_name


def _start(
    loop: Reconciler,
    state: EndpointState,
    deployment: Deployment,
    rollout: Rollout,
    changes: dict[str, Any],
) -> ResourceRecord:
    record = loop.transition(state, "Updating", state_updates=changes)
    deployment.build_sets(loop.policy)
    state.pending = deployment
    state.rollout = rollout
    return record
