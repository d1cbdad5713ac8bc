"""The blue/green state machine on a number clock: every policy, alarms, timeouts, rollbacks."""

from __future__ import annotations

from typing import Any

import pytest

from modelyard.errors import ValidationError
from modelyard.hosting.deployment import Action, Phase, Rollout, TrafficPolicy


def blue_green(
    kind: str,
    *,
    wait: int = 10,
    size: tuple[str, int] | None = None,
    bake: int = 0,
    timeout: int | None = None,
    alarms: tuple[str, ...] = (),
) -> dict[str, Any]:
    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": wait}
    if size is not None:
        key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
        routing[key] = {"Type": size[0], "Value": size[1]}
    policy: dict[str, Any] = {
        "TrafficRoutingConfiguration": routing,
        "TerminationWaitInSeconds": bake,
    }
    if timeout is not None:
        policy["MaximumExecutionTimeoutInSeconds"] = timeout
    config: dict[str, Any] = {"BlueGreenUpdatePolicy": policy}
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


class Run:
    """Drives a rollout: the new fleet is up from ``up_at``; an alarm fires from ``alarm_at``."""

    def __init__(self, rollout: Rollout, up_at: float = 5.0, alarm_at: float | None = None) -> None:
        self.rollout = rollout
        self.up_at = up_at
        self.alarm_at = alarm_at
        self.now = 0.0
        self.alarm_checks: list[float] = []
        self.failure: str | None = None

    def _alarm(self) -> str | None:
        self.alarm_checks.append(self.now)
        if self.alarm_at is not None and self.now >= self.alarm_at:
            return "rolled back: alarm errors is in ALARM"
        return None

    def tick(self, seconds: float = 1.0) -> Action:
        self.now += seconds
        outcome = self.rollout.advance(
            self.now, new_fleet_up=self.now >= self.up_at, failure=self.failure, alarm=self._alarm
        )
        self.reason = outcome.reason
        return outcome.action

    def until_done(self, limit: int = 1000) -> tuple[Action, list[tuple[float, float]]]:
        """Tick each second until promoted or rolled back; the (time, share) changes seen."""
        shares: list[tuple[float, float]] = []
        for _ in range(limit):
            action = self.tick()
            share = self.rollout.new_share
            if not shares or shares[-1][1] != share:
                shares.append((self.now, share))
            if action is not Action.CONTINUE:
                return action, shares
        raise AssertionError("the rollout never finished")


def test_without_a_deployment_config_traffic_moves_at_once_when_the_new_fleet_is_up() -> None:
    run = Run(Rollout.start(None, capacity=2, now=0.0))
    assert run.tick() is Action.CONTINUE
    assert run.rollout.new_share == 0.0
    action, shares = run.until_done()
    assert action is Action.PROMOTE
    assert shares[-1] == (5.0, 1.0)


def test_all_at_once_bakes_with_the_old_fleet_warm_then_promotes() -> None:
    run = Run(Rollout.start(blue_green("ALL_AT_ONCE", bake=20), capacity=1, now=0.0))
    action, shares = run.until_done()
    assert action is Action.PROMOTE
    assert shares == [(1.0, 0.0), (5.0, 1.0)]
    assert run.now == 25.0
    assert run.alarm_checks[0] == 5.0  # watched through the whole bake


def test_canary_takes_its_share_then_the_rest_after_the_wait() -> None:
    config = blue_green("CANARY", wait=30, size=("CAPACITY_PERCENT", 20), bake=10)
    run = Run(Rollout.start(config, capacity=4, now=0.0))
    action, shares = run.until_done()
    assert action is Action.PROMOTE
    assert shares == [(1.0, 0.0), (5.0, 0.2), (35.0, 1.0)]
    assert run.now == 45.0
    assert run.rollout.phase is Phase.BAKING


def test_a_canary_of_instances_is_their_share_of_the_new_fleet() -> None:
    config = blue_green("CANARY", size=("INSTANCE_COUNT", 1))
    assert Rollout.start(config, capacity=4, now=0.0).shares == [0.25, 1.0]
    with pytest.raises(ValidationError, match="at most 50%") as caught:
        Rollout.start(config, capacity=1, now=0.0)
    assert str(caught.value.field).endswith("TrafficRoutingConfiguration.CanarySize")


def test_linear_moves_equal_steps_each_wait() -> None:
    config = blue_green("LINEAR", wait=10, size=("CAPACITY_PERCENT", 25), bake=5)
    run = Run(Rollout.start(config, capacity=4, now=0.0), up_at=1.0)
    action, shares = run.until_done()
    assert action is Action.PROMOTE
    assert shares == [(1.0, 0.25), (11.0, 0.5), (21.0, 0.75), (31.0, 1.0)]
    assert run.now == 36.0


def test_a_linear_step_that_does_not_divide_the_fleet_ends_at_all_of_it() -> None:
    config = blue_green("LINEAR", size=("CAPACITY_PERCENT", 40))
    assert Rollout.start(config, capacity=5, now=0.0).shares == [0.4, 0.8, 1.0]
    with pytest.raises(ValidationError, match="10%-50%"):
        Rollout.start(blue_green("LINEAR", size=("CAPACITY_PERCENT", 60)), capacity=5, now=0.0)


def test_an_alarm_during_the_canary_rolls_back() -> None:
    config = blue_green("CANARY", wait=30, size=("CAPACITY_PERCENT", 10), alarms=("errors",))
    run = Run(Rollout.start(config, capacity=2, now=0.0), alarm_at=12.0)
    action, shares = run.until_done()
    assert action is Action.ROLL_BACK
    assert run.now == 12.0
    assert shares[-1] == (5.0, 0.1)  # it never went further than the canary
    assert run.reason == "rolled back: alarm errors is in ALARM"


def test_an_alarm_during_the_bake_rolls_back() -> None:
    config = blue_green("ALL_AT_ONCE", bake=60, alarms=("errors",))
    run = Run(Rollout.start(config, capacity=2, now=0.0), alarm_at=40.0)
    action, _ = run.until_done()
    assert action is Action.ROLL_BACK
    assert run.now == 40.0
    assert run.rollout.phase is Phase.BAKING


def test_alarms_are_not_read_before_the_new_fleet_takes_traffic() -> None:
    config = blue_green("CANARY", size=("CAPACITY_PERCENT", 10), alarms=("errors",))
    run = Run(Rollout.start(config, capacity=2, now=0.0), up_at=50.0, alarm_at=0.0)
    for _ in range(50):
        assert run.tick() is Action.CONTINUE
    assert run.alarm_checks == []
    assert run.tick() is Action.ROLL_BACK


def test_a_failed_new_fleet_rolls_back_at_any_phase() -> None:
    run = Run(Rollout.start(blue_green("ALL_AT_ONCE", bake=60), capacity=1, now=0.0))
    run.tick()
    run.failure = "variant AllTraffic: 3 replicas in a row did not start"
    assert run.tick() is Action.ROLL_BACK
    assert run.reason == "failed: variant AllTraffic: 3 replicas in a row did not start"


def test_the_maximum_execution_timeout_rolls_back() -> None:
    config = blue_green("CANARY", wait=300, size=("CAPACITY_PERCENT", 10), timeout=600)
    run = Run(Rollout.start(config, capacity=2, now=0.0), up_at=400.0)
    action, _ = run.until_done()
    assert action is Action.ROLL_BACK
    assert run.now == 600.0
    assert "MaximumExecutionTimeoutInSeconds=600" in str(run.reason)


def test_a_timeout_shorter_than_the_waits_is_refused() -> None:
    config = blue_green("CANARY", wait=500, size=("CAPACITY_PERCENT", 10), bake=200, timeout=600)
    with pytest.raises(ValidationError, match="must exceed") as caught:
        Rollout.start(config, capacity=2, now=0.0)
    assert str(caught.value.field).endswith("MaximumExecutionTimeoutInSeconds")


@pytest.mark.parametrize("at", [2.0, 10.0, 40.0, 70.0], ids=["launch", "canary", "all", "bake"])
def test_a_rollback_request_is_honoured_at_every_stage(at: float) -> None:
    config = blue_green("CANARY", wait=30, size=("CAPACITY_PERCENT", 10), bake=60)
    run = Run(Rollout.start(config, capacity=2, now=0.0))
    while run.now < at - 1:
        assert run.tick() is Action.CONTINUE
    run.rollout.request_rollback("rolled back: requested by a manual rollback")
    assert run.tick() is Action.ROLL_BACK
    assert run.reason == "rolled back: requested by a manual rollback"


def test_a_rollout_read_back_from_the_catalog_resumes_where_it_was() -> None:
    config = blue_green("LINEAR", wait=10, size=("CAPACITY_PERCENT", 50), bake=30)
    run = Run(Rollout.start(config, capacity=2, now=0.0), up_at=1.0)
    for _ in range(3):
        run.tick()
    assert (run.rollout.phase, run.rollout.new_share) == (Phase.SHIFTING, 0.5)
    resumed = Run(Rollout.from_state(run.rollout.to_state()))
    resumed.now = run.now + 100.0  # the server was down for 100 s
    assert resumed.tick() is Action.CONTINUE
    assert (resumed.rollout.phase, resumed.rollout.new_share) == (Phase.BAKING, 1.0)
    assert resumed.tick(30.0) is Action.PROMOTE


def test_rolling_updates_and_a_missing_size_are_refused_with_the_field() -> None:
    with pytest.raises(ValidationError, match="BlueGreenUpdatePolicy") as caught:
        TrafficPolicy.parse(
            {"RollingUpdatePolicy": {"MaximumBatchSize": {}, "WaitIntervalInSeconds": 1}}
        )
    assert caught.value.field == "DeploymentConfig.RollingUpdatePolicy"
    with pytest.raises(ValidationError, match="needs CanarySize") as caught:
        TrafficPolicy.parse(blue_green("CANARY"))
    assert str(caught.value.field).endswith("CanarySize")
