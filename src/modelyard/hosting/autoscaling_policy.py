"""Target tracking as Application Auto Scaling does it for SageMaker variants, without I/O.

A scalable target bounds a variant's replica count (:class:`Bounds`); each of its
target-tracking policies (:class:`TargetTrackingPolicy`) names a metric and the value
to hold it at. :func:`decide` is the whole rule, given the current desired count, the
policies' readings and the cooldown history, so it is unit-tested with a fake clock
and fake metrics:

- a policy wants ``ceil(current * metric / target)`` replicas (AWS's formula: for
  ``SageMakerVariantInvocationsPerInstance`` that is the replicas needed to keep each
  below the target);
- scale-out is fast: the policy asking for the most replicas wins, once its
  ``ScaleOutCooldown`` since the last scale-out has passed;
- scale-in is conservative: only when *every* policy agrees (a policy with
  ``DisableScaleIn`` or without data vetoes it), with the larger of the short and the
  long (scale-in window) readings, so only whole replicas the load no longer needs are
  removed, once the longest ``ScaleInCooldown`` since the last scale-in has passed;
- the result is clamped to ``[MinCapacity, MaxCapacity]``; a count outside the bounds
  (a target registered, or its bounds changed) is brought inside them first;
- ``SuspendedState`` stops dynamic scale-out / scale-in, never the clamp.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: Below this, a ratio is taken as whole: float noise never adds a replica.
_EPSILON = 1e-9


class Metric(StrEnum):
    """What a policy tracks (how it is read: :mod:`.autoscaling`)."""

    INVOCATIONS_PER_INSTANCE = "InvocationsPerInstance"  # per minute, per replica
    CPU_UTILIZATION = "CPUUtilization"  # % of one core summed over cores, per replica
    MEMORY_UTILIZATION = "MemoryUtilization"  # % of the instance's memory, per replica


@dataclass(frozen=True)
class Bounds:
    """A scalable target's MinCapacity, MaxCapacity and SuspendedState."""

    min_capacity: int
    max_capacity: int
    scale_out_suspended: bool = False
    scale_in_suspended: bool = False


@dataclass(frozen=True)
class TargetTrackingPolicy:
    """One ``TargetTrackingScaling`` policy, cooldowns in seconds."""

    name: str
    metric: Metric
    target_value: float
    scale_out_cooldown_s: float = 300.0
    scale_in_cooldown_s: float = 300.0
    disable_scale_in: bool = False


@dataclass(frozen=True)
class Reading:
    """A policy's metric over the evaluation window (``short``) and the scale-in window.

    None means no data (nothing sampled yet): such a policy neither scales out nor lets
    the variant scale in.
    """

    short: float | None
    long: float | None = None


@dataclass
class History:
    """When the variant last scaled each way (the cooldowns' clock)."""

    last_scale_out_at: float = -math.inf
    last_scale_in_at: float = -math.inf


class Direction(StrEnum):
    OUT = "out"
    IN = "in"
    CLAMP = "clamp"


@dataclass(frozen=True)
class Decision:
    """What to do: ``desired`` differs from the current count when ``direction`` is set.

    ``not_scaled`` says why a change a policy wanted was held back: Application Auto
    Scaling's NotScaledReason codes at a bound (``AlreadyAtMaxCapacity``,
    ``AlreadyAtMinCapacity``, recorded as not-scaled activities), or ``ScaleOutCooldown``,
    ``ScaleInCooldown``, ``ScaleOutSuspended``, ``ScaleInSuspended`` (only logged).
    """

    desired: int
    direction: Direction | None = None
    policy: str | None = None
    cause: str = ""
    not_scaled: str | None = None


def wanted(current: int, value: float, target: float) -> int:
    """AWS target tracking's capacity for ``value`` against ``target``: ceil(current * v / t)."""
    return max(0, math.ceil(current * value / target - _EPSILON))


def _describe(policy: TargetTrackingPolicy, value: float, where: str) -> str:
    return (
        f"policy {policy.name}: {policy.metric.value} {value:.4g} is {where} the target "
        f"{policy.target_value:g}"
    )


def decide(
    current: int,
    bounds: Bounds,
    policies: Sequence[TargetTrackingPolicy],
    readings: Mapping[str, Reading],
    history: History,
    now: float,
    *,
    scale_in_ready: bool = True,
) -> Decision:
    """The variant's next desired count (see the module doc).

    ``scale_in_ready`` is False until a whole scale-in window has been observed (after a
    server start, or since the target was registered): no data is not low load.
    """
    if current < bounds.min_capacity:
        return Decision(
            bounds.min_capacity,
            Direction.CLAMP,
            cause=f"the minimum capacity is {bounds.min_capacity}",
        )
    if current > bounds.max_capacity:
        return Decision(
            bounds.max_capacity,
            Direction.CLAMP,
            cause=f"the maximum capacity is {bounds.max_capacity}",
        )
    if not policies:
        return Decision(current)
    out = _scale_out(current, bounds, policies, readings, history, now)
    if out is not None:
        return out
    return _scale_in(current, bounds, policies, readings, history, now, scale_in_ready)


def _scale_out(
    current: int,
    bounds: Bounds,
    policies: Sequence[TargetTrackingPolicy],
    readings: Mapping[str, Reading],
    history: History,
    now: float,
) -> Decision | None:
    best: tuple[int, TargetTrackingPolicy, float] | None = None
    for policy in policies:
        value = readings.get(policy.name, Reading(None)).short
        if value is None:
            continue
        count = wanted(current, value, policy.target_value)
        if count > current and (best is None or count > best[0]):
            best = (count, policy, value)
    if best is None:
        return None
    count, policy, value = best
    cause = _describe(policy, value, "above")
    if current >= bounds.max_capacity:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="AlreadyAtMaxCapacity")
    if bounds.scale_out_suspended:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="ScaleOutSuspended")
    if now - history.last_scale_out_at < policy.scale_out_cooldown_s:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="ScaleOutCooldown")
    return Decision(min(count, bounds.max_capacity), Direction.OUT, policy.name, cause)


def _scale_in(
    current: int,
    bounds: Bounds,
    policies: Sequence[TargetTrackingPolicy],
    readings: Mapping[str, Reading],
    history: History,
    now: float,
    scale_in_ready: bool,
) -> Decision:
    if not scale_in_ready:
        return Decision(current)
    counts: list[int] = []
    lowest: tuple[TargetTrackingPolicy, float] | None = None
    for policy in policies:
        reading = readings.get(policy.name, Reading(None))
        if policy.disable_scale_in or reading.short is None or reading.long is None:
            return Decision(current)
        value = max(reading.short, reading.long)
        counts.append(wanted(current, value, policy.target_value))
        if lowest is None:
            lowest = (policy, value)
    if max(counts) >= current or lowest is None:
        return Decision(current)
    policy, value = lowest
    cause = (
        _describe(policy, value, "below")
        if len(policies) == 1
        else f"every policy allows fewer replicas ({', '.join(p.name for p in policies)})"
    )
    count = max(max(counts), bounds.min_capacity)
    if count >= current:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="AlreadyAtMinCapacity")
    if bounds.scale_in_suspended:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="ScaleInSuspended")
    cooldown = max(p.scale_in_cooldown_s for p in policies)
    if now - history.last_scale_in_at < cooldown:
        return Decision(current, policy=policy.name, cause=cause, not_scaled="ScaleInCooldown")
    return Decision(count, Direction.IN, policy.name, cause)
