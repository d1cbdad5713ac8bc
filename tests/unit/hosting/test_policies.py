"""The router's choices with a fixed random generator: weights, least outstanding, ejection."""

from __future__ import annotations

import random
from collections import Counter

from modelyard.hosting.policies import choose_replica, choose_variant
from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, VariantRoute


def replicas(prefix: str, count: int) -> tuple[ReplicaTarget, ...]:
    return tuple(ReplicaTarget(f"{prefix}{i}", "127.0.0.1", 9000 + i) for i in range(count))


def route(*variants: VariantRoute) -> EndpointRoute:
    return EndpointRoute("ep", variants)


def variant_for(split: EndpointRoute, draw: float) -> str:
    chosen = choose_variant(split, draw)
    assert chosen is not None
    return chosen.name


def replica_for(
    pool: tuple[ReplicaTarget, ...],
    outstanding: dict[str, int],
    rng: random.Random,
    ejected: frozenset[str] = frozenset(),
) -> str:
    chosen = choose_replica(pool, outstanding, rng.randrange, ejected)
    assert chosen is not None
    return chosen.replica_id


def test_a_70_30_split_is_observed_within_tolerance() -> None:
    rng = random.Random(7)
    split = route(
        VariantRoute("A", 0.7, replicas("a", 1)), VariantRoute("B", 0.3, replicas("b", 1))
    )
    counts = Counter(variant_for(split, rng.random()) for _ in range(10_000))
    assert abs(counts["A"] / 10_000 - 0.7) < 0.02
    assert abs(counts["B"] / 10_000 - 0.3) < 0.02


def test_weights_are_relative_and_zero_weight_gets_nothing() -> None:
    rng = random.Random(1)
    split = route(
        VariantRoute("A", 2.0, replicas("a", 1)),
        VariantRoute("B", 0.0, replicas("b", 1)),
        VariantRoute("C", 6.0, replicas("c", 1)),
    )
    counts = Counter(variant_for(split, rng.random()) for _ in range(8_000))
    assert counts["B"] == 0
    assert abs(counts["C"] / 8_000 - 0.75) < 0.02


def test_a_variant_without_replicas_gives_its_share_to_the_others() -> None:
    split = route(VariantRoute("A", 0.7, ()), VariantRoute("B", 0.3, replicas("b", 2)))
    assert {variant_for(split, d / 10) for d in range(10)} == {"B"}
    assert choose_variant(route(VariantRoute("A", 1.0, ())), 0.5) is None


def test_all_weights_zero_share_equally() -> None:
    split = route(
        VariantRoute("A", 0.0, replicas("a", 1)), VariantRoute("B", 0.0, replicas("b", 1))
    )
    assert variant_for(split, 0.2) == "A"
    assert variant_for(split, 0.7) == "B"


def test_power_of_two_choices_prefers_the_less_loaded_replica() -> None:
    rng = random.Random(3)
    pool = replicas("r", 2)
    outstanding = {"r0": 5, "r1": 0}
    assert {replica_for(pool, outstanding, rng) for _ in range(50)} == {"r1"}


def test_least_outstanding_spreads_load_under_concurrency() -> None:
    rng = random.Random(11)
    pool = replicas("r", 4)
    outstanding: dict[str, int] = {}
    for _ in range(400):  # requests that never finish: in flight piles up
        chosen = choose_replica(pool, outstanding, rng.randrange)
        assert chosen is not None
        outstanding[chosen.replica_id] = outstanding.get(chosen.replica_id, 0) + 1
    assert max(outstanding.values()) - min(outstanding.values()) <= 3


def test_ejected_replicas_are_avoided_while_others_remain() -> None:
    rng = random.Random(5)
    pool = replicas("r", 3)
    chosen = {replica_for(pool, {}, rng, frozenset({"r0"})) for _ in range(60)}
    assert chosen == {"r1", "r2"}
    only = replicas("r", 1)
    assert choose_replica(only, {}, rng.randrange, {"r0"}) == only[0]
    assert choose_replica((), {}, rng.randrange) is None
