"""The router's two choices, as small pure functions.

- **Which variant**: by weight (share = weight / sum of weights, SageMaker's rule),
  from one uniform draw in ``[0, 1)``. A variant without a routable replica is
  passed over (its share goes to the others) unless the caller named it.
- **Which replica**: the power of two choices over outstanding requests (Ray Serve's
  ``pow_2_router``): two distinct replicas at random, the one with fewer requests in
  flight wins; ties go to the first drawn. With an eject set, replicas the router has
  just seen fail are avoided while any other remains.

Randomness is injected (``draw``, ``randrange``) so tests fix it.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Mapping, Sequence

from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, VariantRoute


def choose_variant(route: EndpointRoute, draw: float) -> VariantRoute | None:
    """The production variant for a uniform ``draw`` in ``[0, 1)``, or None if none can serve.

    Variants with no replica are left out and the others keep their relative weights;
    if every serving variant has weight 0, they share the traffic equally.
    """
    variants = route.variants
    if all(v.replicas for v in variants):
        sums = route.cumulative_weights
        total = sums[-1] if sums else 0.0
        if total > 0:
            index = bisect.bisect_right(sums, draw * total)
            return variants[min(index, len(variants) - 1)]
        serving: Sequence[VariantRoute] = variants
    else:
        serving = [v for v in variants if v.replicas]
        if not serving:
            return None
        total = sum(max(0.0, v.weight) for v in serving)
        if total > 0:
            point = draw * total
            for variant in serving:
                point -= max(0.0, variant.weight)
                if point < 0:
                    return variant
            return serving[-1]
    return serving[min(int(draw * len(serving)), len(serving) - 1)] if serving else None


def choose_replica(
    replicas: Sequence[ReplicaTarget],
    outstanding: Mapping[str, int],
    randrange: Callable[[int], int],
    ejected: Collection[str] = (),
) -> ReplicaTarget | None:
    """Power of two choices by outstanding requests; None when ``replicas`` is empty."""
    if ejected:
        healthy = [r for r in replicas if r.replica_id not in ejected]
        if healthy:
            replicas = healthy
    count = len(replicas)
    if count == 0:
        return None
    if count == 1:
        return replicas[0]
    first = randrange(count)
    second = randrange(count - 1)
    if second >= first:
        second += 1
    a, b = replicas[first], replicas[second]
    return b if outstanding.get(b.replica_id, 0) < outstanding.get(a.replica_id, 0) else a
