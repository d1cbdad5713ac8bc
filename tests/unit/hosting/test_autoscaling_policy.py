"""Target tracking's rule with a fake clock and fake metric readings."""

from __future__ import annotations

from modelyard.hosting.autoscaling_policy import (
    Bounds,
    Decision,
    Direction,
    History,
    Metric,
    Reading,
    TargetTrackingPolicy,
    decide,
    wanted,
)

INVOCATIONS = TargetTrackingPolicy(
    "invocations",
    Metric.INVOCATIONS_PER_INSTANCE,
    target_value=100.0,
    scale_out_cooldown_s=60.0,
    scale_in_cooldown_s=300.0,
)
CPU = TargetTrackingPolicy(
    "cpu",
    Metric.CPU_UTILIZATION,
    target_value=50.0,
    scale_out_cooldown_s=60.0,
    scale_in_cooldown_s=120.0,
)
ONE_TO_FOUR = Bounds(1, 4)


def one(
    current: int,
    short: float | None,
    long: float | None = None,
    *,
    policy: TargetTrackingPolicy = INVOCATIONS,
    bounds: Bounds = ONE_TO_FOUR,
    history: History | None = None,
    now: float = 1000.0,
) -> Decision:
    return decide(
        current,
        bounds,
        [policy],
        {policy.name: Reading(short, short if long is None else long)},
        history or History(),
        now,
    )


def test_the_replicas_wanted_are_aws_ceil_of_current_times_metric_over_target() -> None:
    assert wanted(1, 250.0, 100.0) == 3
    assert wanted(2, 100.0, 100.0) == 2  # exactly on target: no change
    assert wanted(2, 50.0000000001, 100.0) == 1  # float noise never adds a replica
    assert wanted(3, 10.0, 100.0) == 1
    assert wanted(2, 0.0, 100.0) == 0


def test_load_above_target_scales_out_at_once_by_as_many_replicas_as_needed() -> None:
    decision = one(1, 250.0)
    assert (decision.desired, decision.direction) == (3, Direction.OUT)
    assert decision.policy == "invocations"
    assert "250 is above the target 100" in decision.cause


def test_scale_out_waits_for_its_cooldown_since_the_last_scale_out() -> None:
    history = History(last_scale_out_at=970.0)
    held = one(2, 180.0, history=history, now=1000.0)
    assert (held.desired, held.direction, held.not_scaled) == (2, None, "ScaleOutCooldown")
    later = one(2, 180.0, history=history, now=1031.0)
    assert (later.desired, later.direction) == (4, Direction.OUT)


def test_scale_in_removes_only_whole_replicas_the_load_no_longer_needs() -> None:
    # 3 replicas at 70/min each = 210/min: 3 replicas are still needed at a target of 100.
    assert one(3, 70.0).desired == 3
    # 3 at 60/min = 180/min: 2 replicas hold it under 100 each.
    decision = one(3, 60.0)
    assert (decision.desired, decision.direction) == (2, Direction.IN)
    assert "below the target" in decision.cause


def test_scale_in_reads_the_larger_of_the_short_and_the_long_window() -> None:
    # Quiet now, but the longer scale-in window still saw the load: no scale-in yet.
    assert one(3, 0.0, long=95.0).desired == 3
    assert one(3, 0.0, long=0.0).desired == 1


def test_scale_in_waits_for_its_cooldown_and_for_a_whole_window_of_data() -> None:
    history = History(last_scale_in_at=800.0)
    held = one(3, 10.0, history=history, now=1000.0)
    assert (held.desired, held.not_scaled) == (3, "ScaleInCooldown")
    assert one(3, 10.0, history=history, now=1101.0).desired == 1
    not_ready = decide(
        3,
        ONE_TO_FOUR,
        [INVOCATIONS],
        {"invocations": Reading(0.0, 0.0)},
        History(),
        0.0,
        scale_in_ready=False,
    )
    assert not_ready.desired == 3


def test_a_scale_out_is_not_held_by_a_recent_scale_in() -> None:
    history = History(last_scale_in_at=999.0)
    assert one(1, 150.0, history=history).desired == 2


def test_the_result_is_clamped_to_min_and_max_and_a_count_outside_is_brought_in() -> None:
    at_max = one(4, 900.0)
    assert (at_max.desired, at_max.not_scaled) == (4, "AlreadyAtMaxCapacity")
    assert one(2, 900.0).desired == 4  # wants 18, gets the maximum
    assert one(3, 0.0, bounds=Bounds(2, 4)).desired == 2  # never below the minimum
    below = one(1, None, bounds=Bounds(2, 4))
    assert (below.desired, below.direction) == (2, Direction.CLAMP)
    above = one(6, 500.0, bounds=Bounds(1, 3))
    assert (above.desired, above.direction) == (3, Direction.CLAMP)
    assert "maximum capacity is 3" in above.cause


def test_disable_scale_in_keeps_the_replicas_but_still_scales_out() -> None:
    keeper = TargetTrackingPolicy(
        "keeper", Metric.INVOCATIONS_PER_INSTANCE, 100.0, 0.0, 0.0, disable_scale_in=True
    )
    assert one(3, 0.0, policy=keeper).desired == 3
    assert one(1, 300.0, policy=keeper).desired == 3


def test_no_data_neither_scales_out_nor_in() -> None:
    assert one(2, None).direction is None
    no_long_window = {"invocations": Reading(10.0, None)}
    assert decide(2, ONE_TO_FOUR, [INVOCATIONS], no_long_window, History(), 1000.0).desired == 2


def test_suspended_scaling_is_held_but_the_bounds_still_clamp() -> None:
    suspended = Bounds(1, 4, scale_out_suspended=True, scale_in_suspended=True)
    assert one(1, 500.0, bounds=suspended).not_scaled == "ScaleOutSuspended"
    assert one(3, 0.0, bounds=suspended).not_scaled == "ScaleInSuspended"
    assert one(6, 0.0, bounds=suspended).desired == 4


def test_with_several_policies_the_most_capacity_wins() -> None:
    readings = {"invocations": Reading(150.0, 150.0), "cpu": Reading(140.0, 140.0)}
    # invocations wants ceil(2*1.5)=3, CPU wants ceil(2*2.8)=6 -> capped at 4.
    decision = decide(2, ONE_TO_FOUR, [INVOCATIONS, CPU], readings, History(), 1000.0)
    assert (decision.desired, decision.policy) == (4, "cpu")


def test_with_several_policies_scale_in_needs_every_one_to_agree() -> None:
    busy_cpu = {"invocations": Reading(0.0, 0.0), "cpu": Reading(45.0, 45.0)}
    # invocations alone would go to 1; CPU at 45% of a 50% target keeps 3 (ceil(3*0.9)).
    assert decide(3, ONE_TO_FOUR, [INVOCATIONS, CPU], busy_cpu, History(), 1000.0).desired == 3
    quiet = {"invocations": Reading(0.0, 0.0), "cpu": Reading(20.0, 20.0)}
    decision = decide(3, ONE_TO_FOUR, [INVOCATIONS, CPU], quiet, History(), 1000.0)
    assert (decision.desired, decision.direction) == (2, Direction.IN)  # CPU still needs 2
    no_cpu_data = {"invocations": Reading(0.0, 0.0)}
    assert decide(3, ONE_TO_FOUR, [INVOCATIONS, CPU], no_cpu_data, History(), 1000.0).desired == 3


def test_cpu_utilisation_is_tracked_like_any_metric() -> None:
    decision = one(2, 90.0, policy=CPU)  # 2 replicas at 90% against 50%: ceil(3.6) = 4
    assert (decision.desired, decision.direction) == (4, Direction.OUT)
    assert one(4, 20.0, policy=CPU).desired == 2  # ceil(4 * 0.4) = 2


def test_a_scale_in_below_the_minimum_is_held_and_said() -> None:
    held = one(2, 0.0, bounds=Bounds(2, 4))
    assert (held.desired, held.direction, held.not_scaled) == (2, None, "AlreadyAtMinCapacity")
