"""The endpoint controller's loop: it makes each endpoint's replicas match what is wanted.

Every ``endpoint_reconcile_interval_s`` (and whenever something is posted) the loop:

- prepares new deployments (image built, model files fetched) in a worker pool;
- asks each variant's :class:`~.replica_set.ReplicaSet` what to do, and launches, probes
  and stops replicas through :mod:`.replicas`, in the pool: the loop never blocks on a
  process; results come back through an inbox it drains, so every change of state
  happens in the loop's thread (API calls take the same lock);
- moves the endpoint's status and traffic (:mod:`.advance`: creation, blue/green updates
  and their rollbacks);
- publishes the router's view (:mod:`.routing`) when it changed;
- samples utilisation and flushes metrics now and then.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import NotFoundError
from modelyard.hosting.advance import advance
from modelyard.hosting.alarms import AlarmRegistry
from modelyard.hosting.deployments import Deployment, EndpointState, VariantLaunch
from modelyard.hosting.draining import drain_then_stop
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.preparation import prepare_launches
from modelyard.hosting.readopt import readopt_all
from modelyard.hosting.replica_set import Health, HealthPolicy, Phase, Probe, ReplicaSet
from modelyard.hosting.replicas import LaunchRequest, ReplicaLauncher, ReplicaProcess
from modelyard.hosting.routing import RoutingTable
from modelyard.hosting.shadow import ShadowRecorder
from modelyard.hosting.utilization import sample_utilization
from modelyard.ids import ResourceKind, utcnow
from modelyard.images.registry import ImageRegistry

log = logging.getLogger(__name__)

KIND = ResourceKind.ENDPOINT
UTILIZATION_PERIOD_S = 5.0
METRICS_FLUSH_PERIOD_S = 10.0
FAILED_STOP_GRACE_S = 2.0


class Reconciler:
    """Owns every endpoint's running state and the loop over it (see the module doc)."""

    def __init__(
        self,
        catalog: Catalog,
        images: ImageRegistry,
        launcher: ReplicaLauncher,
        model_data: ModelData,
        table: RoutingTable,
        metrics: MetricsStore,
        shadows: ShadowRecorder,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        max_workers: int = 8,
    ) -> None:
        self.catalog = catalog
        #: an update's steps and bake are timed in wall-clock seconds (they survive a restart)
        self.wall_clock = wall_clock
        #: what a deployment's AutoRollbackConfiguration names (set by the controller)
        self.alarms: AlarmRegistry | None = None
        #: requests in flight per replica id (set by the controller: the router's count)
        self.in_flight: Callable[[str], int] = lambda _replica_id: 0
        self.images = images
        self.launcher = launcher
        self.model_data = model_data
        self.table = table
        self.metrics = metrics
        self.shadows = shadows
        self.settings = settings
        self.clock = clock
        self.policy = HealthPolicy(
            period_s=settings.endpoint_health_check_period_s,
            unhealthy_threshold=settings.endpoint_unhealthy_threshold,
            startup_timeout_s=settings.endpoint_startup_timeout_s,
        )
        self.endpoints: dict[str, EndpointState] = {}
        self.status: dict[str, str] = {}
        self.lock = threading.RLock()
        self.pool: Any = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="endpoints")
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._probing: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_utilization = 0.0
        self._next_flush = 0.0

    # -- the loop ------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="endpoints", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop (never the replicas)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self.pool.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        interval = self.settings.endpoint_reconcile_interval_s
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("the endpoint loop failed; it carries on")
            self._wake.wait(interval)
            self._wake.clear()

    def tick(self) -> None:
        """One pass over every endpoint (the loop calls it; tests may too)."""
        self._drain_inbox()
        now = self.clock()
        with self.lock:
            for state in list(self.endpoints.values()):
                try:
                    self._tick_endpoint(state, now)
                except Exception:
                    log.exception("endpoint %s: reconciling failed", state.name)
        if now >= self._next_utilization:
            self._next_utilization = now + UTILIZATION_PERIOD_S
            with self.lock:
                sample_utilization(list(self.endpoints.values()), self.metrics)
        if now >= self._next_flush:
            self._next_flush = now + METRICS_FLUSH_PERIOD_S
            with contextlib.suppress(Exception):
                self.metrics.flush()
            with contextlib.suppress(Exception):
                self.shadows.persist(self.catalog)

    def _drain_inbox(self) -> None:
        with self.lock:
            while True:
                try:
                    apply = self._inbox.get_nowait()
                except queue.Empty:
                    return
                try:
                    apply()
                except Exception:
                    log.exception("applying a replica result failed")

    def post(self, apply: Callable[[], None]) -> None:
        self._inbox.put(apply)
        self._wake.set()

    def transition(
        self,
        state: EndpointState,
        status: str,
        *,
        failure_reason: str | None = None,
        state_updates: dict[str, Any] | None = None,
    ) -> ResourceRecord:
        record = self.catalog.transition(
            KIND,
            state.name,
            status,
            failure_reason=failure_reason,
            state_updates=state_updates,
        )
        self.status[state.name] = status
        log.info(
            "endpoint %s is %s%s",
            state.name,
            status,
            f": {failure_reason}" if failure_reason else "",
        )
        return record

    def save_replicas(self, state: EndpointState) -> None:
        self.catalog.update(KIND, state.name, state_updates={"Replicas": state.replicas_state()})

    # -- the loop's work -----------------------------------------------------------------

    def _tick_endpoint(self, state: EndpointState, now: float) -> None:
        if state.deleting:
            self._tick_delete(state)
            return
        for deployment in state.deployments():
            if deployment.launches is None:
                self._prepare(deployment)
            for variant, replica_set in deployment.sets.items():
                self._probe(state, replica_set, now)  # adopted replicas need no preparation
                plan = replica_set.plan(now)
                if deployment.launches is not None:
                    for _ in range(plan.launch):
                        self._launch(state, deployment, variant, now)
                for replica_id, reason in plan.stop:
                    self._stop_replica(state, replica_id, reason)
        state.retiring = [d for d in state.retiring if any(s.replicas for s in d.sets.values())]
        self._advance(state)
        self.publish(state)

    def _prepare(self, deployment: Deployment) -> None:
        if deployment.failure is not None:
            return
        future = deployment.preparing
        if future is None:
            deployment.preparing = self.pool.submit(self.prepare_launches, deployment)
            deployment.preparing.add_done_callback(lambda _: self._wake.set())
            return
        if not future.done():
            return
        deployment.preparing = None
        try:
            deployment.launches = future.result()
        except Exception as exc:
            deployment.failure = f"ClientError: {exc}"[:1024]

    def prepare_launches(self, deployment: Deployment) -> dict[str, VariantLaunch]:
        """Images built, model files fetched (in the pool: it may take a while)."""
        return prepare_launches(deployment, self.images, self.model_data)

    def _probe(self, state: EndpointState, replica_set: ReplicaSet, now: float) -> None:
        timeout = self.settings.endpoint_health_check_timeout_s
        for replica_id in replica_set.due_probes(now):
            process = state.processes.get(replica_id)
            if process is None or replica_id in self._probing:
                continue
            self._probing.add(replica_id)
            future = self.pool.submit(process.probe, timeout)
            future.add_done_callback(self._probed(replica_set, replica_id))

    def _probed(self, replica_set: ReplicaSet, replica_id: str) -> Callable[[Future[Probe]], None]:
        def done(future: Future[Probe]) -> None:
            self.post(lambda: self._observe(replica_set, replica_id, future))

        return done

    def _observe(self, replica_set: ReplicaSet, replica_id: str, future: Future[Probe]) -> None:
        self._probing.discard(replica_id)
        try:
            probe = future.result()
        except Exception as exc:
            probe = Probe(Health.UNRESPONSIVE, f"probe failed: {exc}")
        replica_set.observe(replica_id, probe, self.clock())

    def _launch(
        self, state: EndpointState, deployment: Deployment, variant: str, now: float
    ) -> None:
        assert deployment.launches is not None
        launch = deployment.launches[variant]
        replica_set = deployment.sets[variant]
        replica_id = f"{variant.lower()[:20]}-{uuid.uuid4().hex[:10]}"
        replica_set.added(replica_id, now)
        state.owners[replica_id] = (deployment.deployment_id, variant)
        state.launched_at[replica_id] = utcnow().isoformat()
        self.save_replicas(state)  # recorded before the process exists
        request = LaunchRequest(
            replica_id=replica_id,
            endpoint=state.name,
            variant=variant,
            image_root=launch.image_root,
            base_dir=launch.base_dir,
            environment=launch.environment,
            profile=launch.profile,
            model_timeout_s=self.settings.invocation_timeout_s,
            containers=launch.containers,
        )
        future = self.pool.submit(self.launcher.launch, request)

        def launched(f: Future[ReplicaProcess]) -> None:
            def apply() -> None:
                try:
                    process = f.result()
                except Exception as exc:
                    log.error(
                        "endpoint %s: launching replica %s failed: %s", state.name, replica_id, exc
                    )
                    replica_set.observe(
                        replica_id, Probe(Health.EXITED, f"launch failed: {exc}"), self.clock()
                    )
                    return
                if replica_id not in state.owners:  # stopped before it was launched
                    self.pool.submit(process.stop, 0.0)
                    return
                state.processes[replica_id] = process
                self.save_replicas(state)

            self.post(apply)

        future.add_done_callback(launched)

    def _stop_replica(self, state: EndpointState, replica_id: str, reason: str) -> None:
        log.info("endpoint %s: retiring replica %s (%s)", state.name, replica_id, reason)
        process = state.processes.get(replica_id)
        owner = state.owners.get(replica_id)

        def forget() -> None:
            state.processes.pop(replica_id, None)
            state.owners.pop(replica_id, None)
            state.launched_at.pop(replica_id, None)
            if owner is not None:
                deployment = state.deployment(owner[0])
                if deployment is not None and owner[1] in deployment.sets:
                    deployment.sets[owner[1]].stopped(replica_id)
            if not state.deleting or state.owners:
                with contextlib.suppress(NotFoundError):
                    self.save_replicas(state)

        if process is None:
            forget()  # never launched, or its launch is in flight (then ``launched`` stops it)
            return
        if reason == "scaled in":
            self.publish(state)  # out of the route first, then it drains (see .draining)
            future = self.pool.submit(
                functools.partial(
                    drain_then_stop,
                    process,
                    self.in_flight,
                    timeout_s=self.settings.endpoint_drain_timeout_s,
                    grace_s=self.settings.endpoint_stop_grace_s,
                )
            )
        else:
            future = self.pool.submit(process.stop, FAILED_STOP_GRACE_S)
        future.add_done_callback(lambda _: self.post(forget))

    def _advance(self, state: EndpointState) -> None:
        advance(self, state)

    def retire(self, state: EndpointState, deployment: Deployment) -> None:
        for name, replica_set in deployment.sets.items():
            deployment.desired[name] = 0
            replica_set.desired = 0
        if deployment is state.active:
            state.active = None
        if deployment not in state.retiring:
            state.retiring.append(deployment)

    def publish(self, state: EndpointState) -> None:
        route = state.route()
        if route == state.published:
            return
        if route is None:
            self.table.remove(state.name)
        else:
            self.table.publish(route)
        state.published = route

    def _tick_delete(self, state: EndpointState) -> None:
        for replica_id in list(state.owners):
            owner = state.owners[replica_id]
            deployment = state.deployment(owner[0])
            replica_set = deployment.sets.get(owner[1]) if deployment else None
            replica = replica_set.replicas.get(replica_id) if replica_set else None
            if replica is not None and replica.stop_requested:
                continue
            if replica is not None:
                replica.phase = Phase.STOPPING
                replica.stop_requested = True
            self._stop_replica(state, replica_id, "the endpoint is deleted")
        if state.owners:
            return
        with contextlib.suppress(NotFoundError):
            self.metrics.flush(everything=True)
            self.catalog.delete(KIND, state.name)
        self.table.remove(state.name)
        self.metrics.forget(state.name)
        self.shadows.forget(state.name)
        self.endpoints.pop(state.name, None)
        self.status.pop(state.name, None)
        log.info("endpoint %s is deleted", state.name)

    # -- restart ---------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Rebuild every endpoint from the catalog and re-adopt its live replicas."""
        readopt_all(self)
        self._wake.set()
