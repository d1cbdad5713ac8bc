"""A blue/green endpoint update as pure state: traffic steps, bake, alarms, rollback.

UpdateEndpoint with SageMaker's ``DeploymentConfig`` launches the new config's fleet in
full beside the old one (the old keeps serving). Once every new replica answers, traffic
moves in steps of the ``TrafficRoutingConfiguration``:

- ``ALL_AT_ONCE``: everything at once;
- ``CANARY``: ``CanarySize`` of the traffic, then the rest ``WaitIntervalInSeconds`` later;
- ``LINEAR``: ``LinearStepSize`` more every ``WaitIntervalInSeconds`` until all of it.

A size is ``CAPACITY_PERCENT`` (that share of the traffic) or ``INSTANCE_COUNT`` (that many
of the new fleet's instances out of its total, as a share of the traffic). After the last
step the update bakes for ``TerminationWaitInSeconds``: the old fleet stays warm, so a
rollback is a routing change. The ``AutoRollbackConfiguration``'s alarms are evaluated on
the new fleet at every tick of the shift and the bake; one in ``ALARM`` rolls back: all
traffic to the old fleet at once, the new fleet retired. So do a failed new fleet, a
rollback request, and ``MaximumExecutionTimeoutInSeconds`` passed.

An update without ``DeploymentConfig`` is SageMaker's default: all at once, no bake.

:class:`Rollout` decides; :mod:`.reconciler` acts. Times are wall-clock seconds (the
rollout is in the catalog, so a restarted server resumes it where it was) passed in by
the caller, which makes every rule testable with a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from modelyard.errors import ValidationError

#: SageMaker's limits on a canary and on a linear step, as a share of the new fleet.
MAX_CANARY_SHARE = 0.5
LINEAR_SHARE_RANGE = (0.1, 0.5)
#: How many past deployments an endpoint's ``DeploymentHistory`` keeps.
HISTORY_LENGTH = 20


class Phase(StrEnum):
    LAUNCHING = "Launching"  # the new fleet starts; the old one takes all traffic
    SHIFTING = "Shifting"  # traffic moves step by step
    BAKING = "Baking"  # the new fleet takes all traffic; the old one is kept warm


class Action(StrEnum):
    CONTINUE = "Continue"
    PROMOTE = "Promote"  # the new fleet becomes the endpoint; the old one retires
    ROLL_BACK = "RollBack"  # all traffic to the old fleet; the new one retires


@dataclass(frozen=True)
class Outcome:
    action: Action
    reason: str | None = None


CONTINUE = Outcome(Action.CONTINUE)


@dataclass(frozen=True)
class TrafficPolicy:
    """A ``DeploymentConfig`` read and checked (see the module doc)."""

    routing: str = "ALL_AT_ONCE"
    wait_s: float = 0.0
    size_type: str | None = None
    size_value: int | None = None
    termination_wait_s: float = 0.0
    max_execution_s: float | None = None
    alarms: tuple[str, ...] = ()

    @classmethod
    def parse(cls, config: dict[str, Any] | None) -> TrafficPolicy:
        """The policy of a ``DeploymentConfig`` (already checked against SageMaker's shape)."""
        if not config:
            return cls()
        if config.get("RollingUpdatePolicy"):
            raise ValidationError(
                "DeploymentConfig.RollingUpdatePolicy: rolling updates are not supported; use "
                "BlueGreenUpdatePolicy (the new fleet is launched in full beside the old one)",
                field="DeploymentConfig.RollingUpdatePolicy",
            )
        alarms = tuple(
            str(a["AlarmName"])
            for a in (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
        )
        blue_green = config.get("BlueGreenUpdatePolicy")
        if not blue_green:
            return cls(alarms=alarms)
        routing = blue_green["TrafficRoutingConfiguration"]
        kind = routing["Type"]
        size_key = {"CANARY": "CanarySize", "LINEAR": "LinearStepSize"}.get(kind)
        size = routing.get(size_key) if size_key else None
        path = "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"
        if size_key and not size:
            raise ValidationError(
                f"{path}.{size_key}: a {kind} deployment needs {size_key} "
                "({'Type': 'CAPACITY_PERCENT' | 'INSTANCE_COUNT', 'Value': n})",
                field=f"{path}.{size_key}",
            )
        policy = cls(
            routing=kind,
            wait_s=float(routing.get("WaitIntervalInSeconds") or 0),
            size_type=str(size["Type"]) if size else None,
            size_value=int(size["Value"]) if size else None,
            termination_wait_s=float(blue_green.get("TerminationWaitInSeconds") or 0),
            max_execution_s=(
                float(blue_green["MaximumExecutionTimeoutInSeconds"])
                if blue_green.get("MaximumExecutionTimeoutInSeconds")
                else None
            ),
            alarms=alarms,
        )
        return policy

    def shares(self, capacity: int) -> list[float]:
        """The new fleet's share of the traffic at each step (the last is 1.0).

        ``capacity`` is the new fleet's instance count, for ``INSTANCE_COUNT`` sizes.
        """
        if self.routing == "ALL_AT_ONCE" or self.size_value is None:
            return [1.0]
        path = "DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration"
        name = "CanarySize" if self.routing == "CANARY" else "LinearStepSize"
        if self.size_type == "INSTANCE_COUNT":
            share = self.size_value / max(1, capacity)
            unit = f"{self.size_value} of the new fleet's {capacity} instance(s)"
        else:
            share = self.size_value / 100.0
            unit = f"{self.size_value}% of capacity"
        if self.routing == "CANARY":
            if share > MAX_CANARY_SHARE:
                raise ValidationError(
                    f"{path}.{name}: {unit} is more than half of the new fleet; a canary is at "
                    "most 50% (raise InitialInstanceCount or lower the size)",
                    field=f"{path}.{name}",
                )
            return [share, 1.0]
        low, high = LINEAR_SHARE_RANGE
        if not low <= share <= high:
            raise ValidationError(
                f"{path}.{name}: {unit} is outside 10%-50% of the new fleet, SageMaker's "
                "range for a linear step",
                field=f"{path}.{name}",
            )
        shares: list[float] = []
        step = 1
        while step * share < 1.0 - 1e-9:
            shares.append(round(step * share, 6))
            step += 1
        return [*shares, 1.0]


@dataclass
class Rollout:
    """One update's progress; in the endpoint's catalog state as ``Rollout``."""

    deployment_config: dict[str, Any] | None
    shares: list[float]
    started_at: float
    phase: Phase = Phase.LAUNCHING
    step: int = -1
    step_at: float = 0.0
    rollback_requested: str | None = None
    policy: TrafficPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.policy = TrafficPolicy.parse(self.deployment_config)

    @classmethod
    def start(cls, deployment_config: dict[str, Any] | None, capacity: int, now: float) -> Rollout:
        """A new rollout (raises ValidationError when the config does not fit the fleet)."""
        policy = TrafficPolicy.parse(deployment_config)
        shares = policy.shares(capacity)
        waits = (len(shares) - 1) * policy.wait_s + policy.termination_wait_s
        if policy.max_execution_s is not None and policy.max_execution_s <= waits:
            field_path = "DeploymentConfig.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds"
            raise ValidationError(
                f"{field_path}={policy.max_execution_s:g} must exceed the deployment's waits "
                f"({waits:g} s of WaitIntervalInSeconds steps and TerminationWaitInSeconds)",
                field=field_path,
            )
        return cls(deployment_config or None, shares, now)

    @property
    def new_share(self) -> float:
        """The share of the traffic the new fleet takes now."""
        return self.shares[self.step] if self.step >= 0 else 0.0

    def request_rollback(self, reason: str) -> None:
        self.rollback_requested = reason

    def advance(
        self,
        now: float,
        *,
        new_fleet_up: bool,
        failure: str | None,
        alarm: Callable[[], str | None],
    ) -> Outcome:
        """What to do now.

        ``failure`` is the new fleet's failure (None if it is fine); ``alarm`` is called
        (no argument) during the shift and the bake and returns the reason of an alarm in
        ALARM on the new fleet, or None.
        """
        if self.rollback_requested is not None:
            return Outcome(Action.ROLL_BACK, self.rollback_requested)
        if failure is not None:
            return Outcome(Action.ROLL_BACK, f"failed: {failure}")
        limit = self.policy.max_execution_s
        if limit is not None and now - self.started_at >= limit:
            return Outcome(
                Action.ROLL_BACK,
                "rolled back: the deployment did not finish within "
                f"MaximumExecutionTimeoutInSeconds={limit:g}",
            )
        if self.phase is Phase.LAUNCHING:
            if not new_fleet_up:
                return CONTINUE
            if not self._enter_step(0, now):
                return CONTINUE  # traffic starts to move now; alarms watch from the next tick
        reason = alarm()
        if reason is not None:
            return Outcome(Action.ROLL_BACK, reason)
        if self.phase is Phase.SHIFTING and now - self.step_at >= self.policy.wait_s:
            self._enter_step(self.step + 1, now)
        if self.phase is Phase.BAKING and now - self.step_at >= self.policy.termination_wait_s:
            return Outcome(Action.PROMOTE)
        return CONTINUE

    def _enter_step(self, step: int, now: float) -> bool:
        """Move to ``step``; True if it is the last (the bake starts)."""
        self.step = step
        self.step_at = now
        last = step >= len(self.shares) - 1
        self.phase = Phase.BAKING if last else Phase.SHIFTING
        return last

    # -- the catalog's view ------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "DeploymentConfig": self.deployment_config,
            "Shares": self.shares,
            "StartedAt": self.started_at,
            "Phase": self.phase.value,
            "Step": self.step,
            "StepAt": self.step_at,
            "RollbackRequested": self.rollback_requested,
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Rollout:
        return cls(
            deployment_config=data.get("DeploymentConfig"),
            shares=[float(s) for s in data["Shares"]],
            started_at=float(data["StartedAt"]),
            phase=Phase(data["Phase"]),
            step=int(data["Step"]),
            step_at=float(data["StepAt"]),
            rollback_requested=data.get("RollbackRequested"),
        )
