"""Endpoint autoscaling: Application Auto Scaling's model for SageMaker variants.

A *scalable target* (``endpoint/<name>/variant/<variant>``, dimension
``sagemaker:variant:DesiredInstanceCount``) bounds a variant's replica count; its
*target-tracking policies* hold a metric at a value; *scaling activities* record what
changed, why, when and whether it is done. All three live in the endpoint's catalog
state beside it, so a restart keeps them and deleting the endpoint removes them; the
API's operations on them are :class:`~.autoscaling_registry.ScalingRegistry`'s.

The loop (its own thread, every ``autoscaling_interval_s``) reads each policy's metric
over ``autoscaling_evaluation_window_s`` (and the longer ``autoscaling_scale_in_window_s``
for scale-in) from :meth:`~.metrics.MetricsStore.recent`, decides with
:func:`~.autoscaling_policy.decide` and calls
:meth:`~.endpoints.EndpointController.set_variant`: the replica set launches replicas
that take traffic once ``/ping`` answers, or retires the newest, which leave the route
and drain before they stop (:mod:`.reconciler`). It acts only on an endpoint that is
``InService`` with no update in progress.

``InvocationsPerInstance`` is the window's invocations normalised to per minute, over
the variant's *desired* count: a replica still starting does not inflate the reading
into a second scale-out, and ``ceil(current * metric / target)`` is then simply the
replicas the load needs.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelyard.config import Settings
from modelyard.errors import NotFoundError
from modelyard.hosting import autoscaling_requests as requests
from modelyard.hosting.autoscaling_policy import Direction, History, Metric, Reading
from modelyard.hosting.autoscaling_policy import decide as decide_capacity
from modelyard.hosting.autoscaling_registry import (
    KIND,
    NOT_SCALED_CODES,
    POLICIES,
    TARGETS,
    ScalingRegistry,
)
from modelyard.hosting.autoscaling_requests import VariantId

if TYPE_CHECKING:
    from modelyard.hosting.endpoints import EndpointController

log = logging.getLogger(__name__)

#: Utilisation is sampled every few seconds: a shorter window would often hold none.
UTILIZATION_WINDOW_FLOOR_S = 12.0


@dataclass
class _Watch:
    """What the loop remembers of one target between ticks (not persisted)."""

    since: float
    history: History = field(default_factory=History)
    #: the NotScaledReason last recorded (recorded again only once it changes)
    held: str | None = None


class AutoscalingController:
    """The loop over every scalable target (see the module doc); the API's operations are
    its :attr:`registry`'s (:class:`~.autoscaling_registry.ScalingRegistry`)."""

    def __init__(
        self,
        endpoints: EndpointController,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoints = endpoints
        self.catalog = endpoints.catalog
        self.metrics = endpoints.metrics
        self.settings = settings
        self.clock = clock
        self.registry = ScalingRegistry(endpoints, settings, on_change=self._changed)
        self._watches: dict[tuple[str, str, str], _Watch] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="autoscaling", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("the autoscaling loop failed; it carries on")
            self._wake.wait(self.settings.autoscaling_interval_s)
            self._wake.clear()

    def tick(self) -> None:
        """Evaluate every scalable target once (the loop calls it; tests may too)."""
        seen: set[tuple[str, str, str]] = set()
        for record in self.registry.records():
            for variant, target in (record.state.get(TARGETS) or {}).items():
                seen.add((record.name, variant, str(target.get("CreationTime"))))
                try:
                    self._evaluate(record.name, variant)
                except NotFoundError:
                    continue  # deleted meanwhile
                except Exception:
                    log.exception("autoscaling %s/%s failed", record.name, variant)
        with self.registry.lock:
            for key in [k for k in self._watches if k not in seen]:
                del self._watches[key]

    def _changed(self, endpoint: str, variant: str) -> None:
        """A target's bounds or policies changed: they hold at once."""
        self._evaluate(endpoint, variant)
        self._wake.set()

    def _evaluate(self, endpoint: str, variant: str) -> None:
        with self.registry.lock:
            record = self.catalog.get(KIND, endpoint)
            target = (record.state.get(TARGETS) or {}).get(variant)
            if target is None or record.status != "InService":
                return
            described = self.endpoints.describe(endpoint)
            if described["EndpointStatus"] != "InService" or "PendingDeploymentSummary" in (
                described
            ):
                return
            summary = next(
                (
                    v
                    for v in described.get("ProductionVariants") or []
                    if v["VariantName"] == variant
                ),
                None,
            )
            if summary is None:
                return
            current = int(summary["DesiredInstanceCount"])
            self.registry.settle(record, variant, summary)
            now = self.clock()
            key = (endpoint, variant, str(target.get("CreationTime")))
            watch = self._watches.setdefault(key, _Watch(since=now))
            stored = (record.state.get(POLICIES) or {}).get(variant) or {}
            policies = [requests.policy_of(p) for p in stored.values()]
            readings = {
                p.name: self._reading(endpoint, variant, p.metric, current) for p in policies
            }
            decision = decide_capacity(
                current,
                requests.bounds_of(target),
                policies,
                readings,
                watch.history,
                now,
                scale_in_ready=now - watch.since >= self.settings.autoscaling_scale_in_window_s,
            )
            if decision.direction is None or decision.desired == current:
                if decision.not_scaled in NOT_SCALED_CODES and decision.not_scaled != watch.held:
                    self.registry.not_scaled(
                        endpoint, VariantId(endpoint, variant), current, decision
                    )
                watch.held = decision.not_scaled
                return
            watch.held = None
            self.endpoints.set_variant(endpoint, variant, desired_count=decision.desired)
            if decision.direction is Direction.OUT:
                watch.history.last_scale_out_at = now
            elif decision.direction is Direction.IN:
                watch.history.last_scale_in_at = now
            self.registry.started(endpoint, VariantId(endpoint, variant), current, decision)

    def _reading(self, endpoint: str, variant: str, metric: Metric, current: int) -> Reading:
        short_s = self.settings.autoscaling_evaluation_window_s
        long_s = max(short_s, self.settings.autoscaling_scale_in_window_s)
        if metric is Metric.INVOCATIONS_PER_INSTANCE:
            return Reading(
                self._per_minute(endpoint, variant, short_s, current),
                self._per_minute(endpoint, variant, long_s, current),
            )
        return Reading(
            self.metrics.recent(
                endpoint, variant, metric.value, window_s=max(short_s, UTILIZATION_WINDOW_FLOOR_S)
            ),
            self.metrics.recent(
                endpoint, variant, metric.value, window_s=max(long_s, UTILIZATION_WINDOW_FLOOR_S)
            ),
        )

    def _per_minute(self, endpoint: str, variant: str, window_s: float, current: int) -> float:
        """Invocations per minute per desired replica over the window (none counted: 0)."""
        count = self.metrics.recent(endpoint, variant, "Invocations", window_s=window_s) or 0.0
        now = self.metrics.clock()
        span_s = now - math.floor(now - window_s)  # whole seconds are counted, the last in part
        return count * 60.0 / span_s / max(1, current)
