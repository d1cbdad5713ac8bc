"""What the router knows: an immutable snapshot of every endpoint's routes.

The controller (:mod:`.endpoints`) builds an :class:`EndpointRoute` whenever the
replica set, the weights or the capture settings of an endpoint change, and
publishes it in the :class:`RoutingTable`; the router only ever reads. A publish
swaps one dictionary reference (copy on write, writers serialised by a lock), so
the hot path reads without locking and never sees a half-built endpoint.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ReplicaTarget:
    """Where one replica listens."""

    replica_id: str
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class VariantRoute:
    """A variant as the router sees it: its weight and the replicas that take traffic.

    ``metrics_key`` is the name its metrics are recorded under when it is not ``name``:
    during a blue/green update both fleets may have a variant of the same name.
    """

    name: str
    weight: float
    replicas: tuple[ReplicaTarget, ...] = ()
    metrics_key: str = ""

    @property
    def metrics_name(self) -> str:
        return self.metrics_key or self.name


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """An endpoint's DataCaptureConfig, ready for the hot path."""

    destination: str
    sampling_fraction: float
    capture_input: bool = True
    capture_output: bool = True
    csv_content_types: frozenset[str] = frozenset({"text/csv"})
    json_content_types: frozenset[str] = frozenset({"application/json"})


@dataclass(frozen=True, slots=True)
class ShadowRoute:
    """The shadow variant and the share of production traffic it gets a copy of."""

    variant: VariantRoute
    sampling_fraction: float


@dataclass(frozen=True, slots=True)
class EndpointRoute:
    """Everything the router needs for one endpoint.

    ``cumulative_weights`` are the running sums of the production variants' weights,
    for a weighted choice by bisection.
    """

    name: str
    variants: tuple[VariantRoute, ...]
    shadow: ShadowRoute | None = None
    capture: CaptureSettings | None = None
    cumulative_weights: tuple[float, ...] = field(init=False)
    by_name: Mapping[str, VariantRoute] = field(init=False)

    def __post_init__(self) -> None:
        sums = tuple(itertools.accumulate(max(0.0, v.weight) for v in self.variants))
        object.__setattr__(self, "cumulative_weights", sums)
        names: dict[str, VariantRoute] = {}
        for variant in self.variants:  # two fleets' same-named variants: the heavier one
            known = names.get(variant.name)
            if known is None or variant.weight > known.weight:
                names[variant.name] = variant
        if self.shadow is not None:
            names.setdefault(self.shadow.variant.name, self.shadow.variant)
        object.__setattr__(self, "by_name", names)


class RoutingTable:
    """Endpoint name -> :class:`EndpointRoute`; read lock-free, written copy-on-write."""

    def __init__(self) -> None:
        self._routes: dict[str, EndpointRoute] = {}
        self._write_lock = threading.Lock()

    def get(self, name: str) -> EndpointRoute | None:
        return self._routes.get(name)

    def publish(self, route: EndpointRoute) -> None:
        with self._write_lock:
            routes = dict(self._routes)
            routes[route.name] = route
            self._routes = routes

    def remove(self, name: str) -> None:
        with self._write_lock:
            if name in self._routes:
                routes = dict(self._routes)
                del routes[name]
                self._routes = routes

    def names(self) -> list[str]:
        return sorted(self._routes)
