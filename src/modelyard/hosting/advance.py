"""Moving an endpoint forward at each tick: creation, updates (blue/green) and rollbacks.

The reconciler (:mod:`.reconciler`) has brought replicas in line with what is wanted; this
decides what the endpoint serves and which status it has:

- CreateEndpoint: ``Creating`` -> ``InService`` once the deployment is up, ``Failed`` if it
  fails;
- UpdateEndpoint: ``Updating`` while the :class:`~.deployment.Rollout` launches the new
  fleet, shifts traffic and bakes; promoted, the old fleet retires and is remembered as
  ``Previous`` (what a manual rollback after the bake redeploys); rolled back, the new
  fleet retires, the old serves everything and the endpoint is ``InService`` with a
  ``FailureReason`` saying why (``RollingBack`` while the old fleet is not up, then
  ``InService``, or ``UpdateRollbackFailed`` if it cannot come back);
- every finished update goes to the endpoint's ``DeploymentHistory``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.hosting.alarms import dimension
from modelyard.hosting.deployment import HISTORY_LENGTH, Action, Rollout
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.ids import ResourceKind, utcnow

if TYPE_CHECKING:
    from modelyard.hosting.reconciler import Reconciler

KIND = ResourceKind.ENDPOINT


def advance(loop: Reconciler, state: EndpointState) -> None:
    """One step of the endpoint's lifecycle (called at every tick, under the loop's lock)."""
    status = loop.status.get(state.name)
    pending = state.pending
    active = state.active
    if pending is not None and active is None:
        _advance_creation(loop, state, pending)
    elif pending is not None:
        _advance_update(loop, state, pending)
    elif active is None:
        return
    elif status == "Failed":
        loop.retire(state, active)
    elif status == "RollingBack" and active.failure_reason is not None:
        loop.transition(
            state,
            "UpdateRollbackFailed",
            failure_reason=f"the previous config {active.config_name} did not come back: "
            f"{active.failure_reason}"[:1024],
        )
    elif status in ("Updating", "RollingBack") and active.is_up:
        loop.transition(state, "InService")


def _advance_creation(loop: Reconciler, state: EndpointState, pending: Deployment) -> None:
    reason = pending.failure_reason
    if reason is not None:
        loop.retire(state, pending)
        state.pending = None
        loop.transition(state, "Failed", failure_reason=reason, state_updates={"Pending": None})
    elif pending.is_up:
        state.active = pending
        state.pending = None
        loop.transition(
            state,
            "InService",
            state_updates={
                "Active": pending.to_state(),
                "Pending": None,
                "DeploymentHistory": _history(loop, state, pending, "Succeeded", None),
            },
        )


def _advance_update(loop: Reconciler, state: EndpointState, pending: Deployment) -> None:
    rollout = state.rollout
    if rollout is None:  # recorded by a server that had no rollouts: all at once
        rollout = state.rollout = Rollout.start(None, _capacity(pending), loop.wall_clock())
    before = rollout.to_state()
    outcome = rollout.advance(
        loop.wall_clock(),
        new_fleet_up=pending.is_up,
        failure=pending.failure_reason,
        alarm=lambda: tripped_alarm(loop, state, pending, rollout),
    )
    if outcome.action is Action.PROMOTE:
        promote(loop, state, pending)
    elif outcome.action is Action.ROLL_BACK:
        roll_back(loop, state, outcome.reason or "rolled back")
    elif rollout.to_state() != before:
        loop.catalog.update(KIND, state.name, state_updates={"Rollout": rollout.to_state()})


def tripped_alarm(
    loop: Reconciler, state: EndpointState, pending: Deployment, rollout: Rollout
) -> str | None:
    """Why the update must roll back: an alarm of its AutoRollbackConfiguration in ALARM.

    An alarm on this endpoint is evaluated over the new fleet's variants; one on another
    endpoint over what that endpoint serves. An alarm deleted meanwhile is skipped.
    """
    alarms = loop.alarms
    if alarms is None:
        return None
    for name in rollout.policy.alarms:
        spec = alarms.spec(name)
        if spec is None:
            continue
        fleet = state.fleet(pending) if dimension(spec, "EndpointName") == state.name else None
        evaluation = alarms.evaluate(spec, fleet)
        if evaluation.state == "ALARM":
            return f"rolled back: alarm {name} is in ALARM ({evaluation.reason})"
    return None


def promote(loop: Reconciler, state: EndpointState, pending: Deployment) -> None:
    """The new fleet is the endpoint; the old one retires and is remembered for a rollback."""
    previous = state.active
    rollout = state.rollout
    if previous is not None:
        loop.retire(state, previous)
    state.active = pending
    state.pending = None
    state.rollout = None
    loop.transition(
        state,
        "InService",
        failure_reason="",
        state_updates={
            "Active": pending.to_state(),
            "Pending": None,
            "Rollout": None,
            "Previous": _snapshot(previous) if previous is not None else None,
            "DeploymentHistory": _history(loop, state, pending, "Succeeded", None, rollout),
        },
    )


def roll_back(loop: Reconciler, state: EndpointState, reason: str) -> None:
    """All traffic to the old fleet now; the new fleet retires."""
    pending = state.pending
    if pending is None:
        return
    rollout = state.rollout
    loop.retire(state, pending)
    state.pending = None
    state.rollout = None
    active = state.active
    message = f"UpdateEndpoint to {pending.config_name} {reason}"[:1024]
    loop.transition(
        state,
        "InService" if active is not None and active.is_up else "RollingBack",
        failure_reason=message,
        state_updates={
            "Pending": None,
            "Rollout": None,
            "DeploymentHistory": _history(
                loop,
                state,
                pending,
                "Failed" if reason.startswith("failed") else "RolledBack",
                message,
                rollout,
            ),
        },
    )
    loop.publish(state)


def _snapshot(deployment: Deployment) -> dict[str, Any]:
    """What a later rollback redeploys: the config and models as they were deployed."""
    data = deployment.to_state()
    data["Variants"] = {
        name: {"DesiredInstanceCount": count, "DesiredWeight": deployment.weights[name]}
        for name, count in _initial_counts(deployment).items()
    }
    return data


def _initial_counts(deployment: Deployment) -> dict[str, int]:
    return {
        v["VariantName"]: int(v.get("InitialInstanceCount", 1)) for v in deployment.variant_specs()
    }


def _capacity(deployment: Deployment) -> int:
    return sum(deployment.desired.get(n, 0) for n in deployment.production_names())


def _history(
    loop: Reconciler,
    state: EndpointState,
    deployment: Deployment,
    outcome: str,
    reason: str | None,
    rollout: Rollout | None = None,
) -> list[dict[str, Any]]:
    """The endpoint's ``DeploymentHistory`` with this deployment's outcome appended."""
    record = loop.catalog.get(KIND, state.name)
    history = list(record.state.get("DeploymentHistory") or [])
    entry: dict[str, Any] = {
        "DeploymentId": deployment.deployment_id,
        "EndpointConfigName": deployment.config_name,
        "StartTime": deployment.start_time,
        "EndTime": utcnow().isoformat(),
        "Status": outcome,
    }
    if rollout is not None:
        entry["TrafficRoutingType"] = rollout.policy.routing
    if reason:
        entry["Reason"] = reason
    return [*history, entry][-HISTORY_LENGTH:]
