"""The replicas of one variant as state: what to launch, probe and stop, decided without I/O.

A :class:`ReplicaSet` holds a desired count (autoscaling and
UpdateEndpointWeightsAndCapacities change it at run time) and the phase of each replica.
The controller (:mod:`.endpoints`) feeds it what it observed (:meth:`ReplicaSet.observe`
with a :class:`Probe` from :mod:`.replicas`) and asks it what to do (:meth:`ReplicaSet.plan`);
the clock is a number the caller passes, so the rules are unit-tested with a fake clock and
fake replicas.

Phases: ``Starting`` (launched, ``/ping`` not answered yet) -> ``Running`` (takes traffic)
-> ``Stopping`` (retired: scaled in, dead, hung, or never came up) -> forgotten once
:meth:`ReplicaSet.stopped` is called.

Rules:

- a Starting replica becomes Running on its first ``/ping`` answer: 200, or 503 with a
  ``ModelError`` (the model failed to load: it serves, every invocation answers 424 with
  the model's error, and :attr:`ReplicaSet.model_error` says so);
- a Starting replica that exits, or has not answered within ``startup_timeout_s``, is
  retired and counts as a startup failure; ``max_startup_failures`` in a row fail the
  variant (:attr:`ReplicaSet.failure_reason`) and stop relaunching;
- a Running replica is probed every ``period_s``; one that has exited is retired at once,
  one whose probes fail ``unhealthy_threshold`` times in a row (hung, or not answering)
  is retired; a replica the router saw fail (:meth:`ReplicaSet.suspect`) is probed at the
  next tick instead of waiting for its period;
- replicas are launched while fewer than ``desired`` are Starting or Running, and the
  extra ones retired (Starting first, then the newest) while more are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class Health(StrEnum):
    """What one probe of a replica saw."""

    STARTING = "Starting"  # the process runs; /ping does not answer (yet)
    READY = "Ready"  # /ping answered 200
    MODEL_FAILED = "ModelFailed"  # /ping answered 503 with the model's load error
    UNRESPONSIVE = "Unresponsive"  # /ping timed out or answered something else
    EXITED = "Exited"  # the process is gone


@dataclass(frozen=True)
class Probe:
    health: Health
    detail: str = ""


class Phase(StrEnum):
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"


@dataclass(frozen=True)
class HealthPolicy:
    """How replicas are watched (the settings' ``endpoint_*`` values by default)."""

    period_s: float = 2.0
    unhealthy_threshold: int = 3
    startup_timeout_s: float = 240.0
    startup_probe_interval_s: float = 0.2
    max_startup_failures: int = 3


@dataclass
class ReplicaState:
    replica_id: str
    phase: Phase
    started_at: float
    last_probe_at: float = -math.inf
    failures: int = 0
    model_error: str | None = None
    stop_reason: str | None = None
    stop_requested: bool = False


@dataclass
class Plan:
    """What the controller should do now."""

    launch: int = 0
    stop: list[tuple[str, str]] = field(default_factory=list)  # (replica id, reason)


class ReplicaSet:
    """The replicas of one variant of one endpoint (see the module doc)."""

    def __init__(self, variant: str, desired: int, policy: HealthPolicy) -> None:
        self.variant = variant
        self.desired = desired
        self.policy = policy
        self.replicas: dict[str, ReplicaState] = {}
        self.startup_failures = 0
        self.failure_reason: str | None = None
        self.last_failure: str | None = None

    # -- what happened -------------------------------------------------------------

    def added(self, replica_id: str, now: float) -> None:
        """A replica was launched (or adopted after a restart): it starts."""
        self.replicas[replica_id] = ReplicaState(replica_id, Phase.STARTING, started_at=now)

    def suspect(self, replica_id: str) -> None:
        """The router saw this replica fail: probe it at the next opportunity."""
        state = self.replicas.get(replica_id)
        if state is not None:
            state.last_probe_at = -math.inf

    def observe(self, replica_id: str, probe: Probe, now: float) -> None:
        state = self.replicas.get(replica_id)
        if state is None or state.phase is Phase.STOPPING:
            return
        state.last_probe_at = now
        health = probe.health
        if state.phase is Phase.STARTING:
            if health in (Health.READY, Health.MODEL_FAILED):
                state.phase = Phase.RUNNING
                state.model_error = probe.detail if health is Health.MODEL_FAILED else None
                self.startup_failures = 0
            elif health is Health.EXITED:
                self._startup_failed(state, f"it exited before answering /ping: {probe.detail}")
            return
        if health is Health.READY:
            state.failures = 0
            state.model_error = None
        elif health is Health.MODEL_FAILED:
            state.failures = 0
            state.model_error = probe.detail
        elif health is Health.EXITED:
            self._retire(state, f"it exited: {probe.detail}")
        else:
            state.failures += 1
            if state.failures >= self.policy.unhealthy_threshold:
                self._retire(
                    state,
                    f"/ping failed {state.failures} times in a row ({probe.detail})",
                )

    def stopped(self, replica_id: str) -> None:
        """The replica's process is gone: forget it."""
        self.replicas.pop(replica_id, None)

    def _retire(self, state: ReplicaState, reason: str) -> None:
        state.phase = Phase.STOPPING
        state.stop_reason = reason
        self.last_failure = reason

    def _startup_failed(self, state: ReplicaState, reason: str) -> None:
        self._retire(state, f"replica {state.replica_id} did not start: {reason}")
        self.startup_failures += 1
        if self.startup_failures >= self.policy.max_startup_failures:
            self.failure_reason = (
                f"variant {self.variant}: {self.startup_failures} replicas in a row did not "
                f"start; the last: {reason}"
            )

    # -- what to do ------------------------------------------------------------------

    def due_probes(self, now: float) -> list[str]:
        """Replicas to probe now: Starting ones often, Running ones every period."""
        due: list[str] = []
        for state in self.replicas.values():
            if state.phase is Phase.STARTING:
                interval = self.policy.startup_probe_interval_s
            elif state.phase is Phase.RUNNING:
                interval = self.policy.period_s
            else:
                continue
            if now - state.last_probe_at >= interval:
                due.append(state.replica_id)
        return due

    def plan(self, now: float) -> Plan:
        plan = Plan()
        for state in self.replicas.values():
            if (
                state.phase is Phase.STARTING
                and now - state.started_at > self.policy.startup_timeout_s
            ):
                self._startup_failed(
                    state, f"no answer to /ping within {self.policy.startup_timeout_s:g} s"
                )
        active = [s for s in self.replicas.values() if s.phase is not Phase.STOPPING]
        excess = len(active) - self.desired
        if excess > 0:
            # Starting ones first (they serve nothing yet), then the newest.
            ranked = sorted(
                enumerate(active),
                key=lambda item: (
                    item[1].phase is not Phase.STARTING,
                    -item[1].started_at,
                    -item[0],
                ),
            )
            for _, state in ranked[:excess]:
                state.phase = Phase.STOPPING
                state.stop_reason = "scaled in"
        elif excess < 0 and self.failure_reason is None:
            plan.launch = -excess
        for state in self.replicas.values():
            if state.phase is Phase.STOPPING and not state.stop_requested:
                state.stop_requested = True
                plan.stop.append((state.replica_id, state.stop_reason or "retired"))
        return plan

    # -- what it looks like ------------------------------------------------------------

    def routable(self) -> list[str]:
        """Replicas that take traffic, oldest first."""
        running = [s for s in self.replicas.values() if s.phase is Phase.RUNNING]
        return [s.replica_id for s in sorted(running, key=lambda s: s.started_at)]

    @property
    def running_count(self) -> int:
        return sum(1 for s in self.replicas.values() if s.phase is Phase.RUNNING)

    @property
    def is_up(self) -> bool:
        """Every desired replica is Running."""
        return self.running_count >= self.desired

    @property
    def model_error(self) -> str | None:
        """The model's load error, if every Running replica reports one."""
        running = [s for s in self.replicas.values() if s.phase is Phase.RUNNING]
        if running and all(s.model_error for s in running):
            return running[0].model_error
        return None

    def reset_failures(self) -> None:
        """Try again (a new deployment of the variant)."""
        self.startup_failures = 0
        self.failure_reason = None
