"""The endpoint controller: desired state in the catalog, a loop that makes replicas match.

API operations only record what is wanted (each written to the catalog *before* any
side effect) and wake the loop:

- ``create``: the endpoint is ``Creating`` with a pending deployment of its config;
- ``update``: ``Updating`` with a pending deployment of the new config; once every
  new variant is up, traffic moves to it at once and the old replicas are retired
  (a failed update leaves the old deployment serving, ``InService`` with a reason);
- ``update_weights_and_capacities``: new desired weights (applied at once) and
  replica counts (``Updating`` until reached); the seam autoscaling uses;
- ``delete``: ``Deleting``, traffic stops, replicas are stopped, then the row goes.

The loop (one thread, every ``endpoint_reconcile_interval_s``) prepares deployments
(image built, model files fetched, in a worker pool), asks each variant's
:class:`~.replica_set.ReplicaSet` what to do, launches, probes and stops replicas
through :mod:`.replicas` (in the pool: the loop never blocks on a process), moves the
endpoint's status, and publishes the router's view (:mod:`.routing`). Results of the
pool's work come back through an inbox the loop drains, so all state changes happen
in the loop's thread (API calls take the same lock).

On a server restart :meth:`EndpointController.reconcile` rebuilds every endpoint from
the catalog and re-adopts its live replicas through ``Runtime.adopt`` (their processes
outlive the server); they serve again once a ``/ping`` answers. Shutting the server
down stops the loop, never the replicas.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psutil

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from modelyard.hosting import endpoint_describe
from modelyard.hosting.capture import CaptureWriter
from modelyard.hosting.deployments import Deployment, EndpointState, VariantLaunch
from modelyard.hosting.endpoint_configs import EndpointConfigRegistry
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.models import ModelRegistry, containers_of, model_version
from modelyard.hosting.replica_set import Health, HealthPolicy, Phase, Probe, ReplicaSet
from modelyard.hosting.replicas import LaunchRequest, ReplicaLauncher, ReplicaProcess
from modelyard.hosting.router import Router
from modelyard.hosting.routing import RoutingTable
from modelyard.hosting.shadow import ShadowRecorder
from modelyard.ids import ResourceKind, utcnow, validate_name
from modelyard.images.registry import ImageRegistry
from modelyard.jobs.instance_types import instance_profile
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.runtime.base import Runtime
from modelyard.store.base import Store

log = logging.getLogger(__name__)

KIND = ResourceKind.ENDPOINT
UTILIZATION_PERIOD_S = 5.0
METRICS_FLUSH_PERIOD_S = 10.0
FAILED_STOP_GRACE_S = 2.0
_RELAXED = Relaxed(ignore=frozenset({"Tags"}))


class EndpointController:
    """Creates, updates, heals and deletes endpoints (see the module doc)."""

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
        *,
        launcher: ReplicaLauncher | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_workers: int = 8,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.images = images
        self.clock = clock
        self.models = ModelRegistry(catalog, store, images)
        self.configs = EndpointConfigRegistry(catalog, store, self.models)
        self.launcher = launcher or ReplicaLauncher(runtime)
        self.model_data = ModelData(store, settings.home / "hosting" / "models")
        self.policy = HealthPolicy(
            period_s=settings.endpoint_health_check_period_s,
            unhealthy_threshold=settings.endpoint_unhealthy_threshold,
            startup_timeout_s=settings.endpoint_startup_timeout_s,
        )
        self.table = RoutingTable()
        self.metrics = MetricsStore(catalog)
        self.shadows = ShadowRecorder()
        self.capture = CaptureWriter(
            store,
            flush_interval_s=settings.capture_flush_interval_s,
            flush_bytes=settings.capture_flush_bytes,
        )
        self.router = Router(
            self.table,
            self.metrics,
            capture=self.capture,
            shadows=self.shadows,
            timeout_s=settings.invocation_timeout_s + 2.0,
            max_payload_bytes=int(settings.max_invocation_payload_mb * 2**20),
            on_replica_failure=self.report_failure,
        )
        self._endpoints: dict[str, EndpointState] = {}
        self._status: dict[str, str] = {}
        self._lock = threading.RLock()
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._probing: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="endpoints")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_utilization = 0.0
        self._next_flush = 0.0

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Re-adopt what runs (see :meth:`reconcile`) and start the loop."""
        self.reconcile()
        self.capture.start()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="endpoints", daemon=True)
            self._thread.start()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and write what is buffered; replicas keep running."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.capture.close()
        with contextlib.suppress(Exception):
            self.metrics.flush(everything=True)

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
        with self._lock:
            for state in list(self._endpoints.values()):
                try:
                    self._tick_endpoint(state, now)
                except Exception:
                    log.exception("endpoint %s: reconciling failed", state.name)
        if now >= self._next_utilization:
            self._next_utilization = now + UTILIZATION_PERIOD_S
            self._sample_utilization()
        if now >= self._next_flush:
            self._next_flush = now + METRICS_FLUSH_PERIOD_S
            with contextlib.suppress(Exception):
                self.metrics.flush()

    def _drain_inbox(self) -> None:
        with self._lock:
            while True:
                try:
                    apply = self._inbox.get_nowait()
                except queue.Empty:
                    return
                try:
                    apply()
                except Exception:
                    log.exception("applying a replica result failed")

    def _post(self, apply: Callable[[], None]) -> None:
        self._inbox.put(apply)
        self._wake.set()

    # -- the API's operations --------------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        """CreateEndpoint: recorded ``Creating``; replicas start in the background."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        validate_request("CreateEndpointInput", body, _RELAXED)
        _refuse_deployment_config(body)
        name = validate_name(body["EndpointName"], KIND, field="EndpointName")
        deployment = self._new_deployment(body["EndpointConfigName"])
        state_data = {"Active": None, "Pending": deployment.to_state(), "Replicas": {}}
        with self._lock:
            try:
                record = self.catalog.create(
                    KIND, name, spec=dict(body), status="Creating", state=state_data
                )
            except AlreadyExistsError as exc:
                raise AlreadyExistsError(
                    f"Cannot create already existing endpoint {name!r}", field="EndpointName"
                ) from exc
            deployment.build_sets(self.policy)
            self._endpoints[name] = EndpointState(name, pending=deployment)
            self._status[name] = "Creating"
        self._wake.set()
        return record

    def update(self, name: str, body: object) -> ResourceRecord:
        """UpdateEndpoint: ``Updating`` until the new config's variants are all up."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        request = {"EndpointName": name, **body}
        validate_request("UpdateEndpointInput", request, _RELAXED)
        _refuse_deployment_config(request)
        deployment = self._new_deployment(request["EndpointConfigName"])
        with self._lock:
            state = self._state(name)
            status = self._status.get(name)
            if status != "InService" or state.pending is not None:
                raise ConflictError(
                    f"Cannot update in-progress endpoint {name!r}: it is {status}; wait until "
                    "it is InService",
                    field="EndpointName",
                )
            record = self._transition(
                state, "Updating", state_updates={"Pending": deployment.to_state()}
            )
            deployment.build_sets(self.policy)
            state.pending = deployment
        self._wake.set()
        return record

    def update_weights_and_capacities(self, name: str, body: object) -> ResourceRecord:
        """UpdateEndpointWeightsAndCapacities: weights now, counts by the loop."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        request = {"EndpointName": name, **body}
        validate_request("UpdateEndpointWeightsAndCapacitiesInput", request)
        with self._lock:
            state = self._state(name)
            active = state.active
            if active is None or self._status.get(name) != "InService":
                raise ConflictError(
                    f"endpoint {name!r} is {self._status.get(name)}: weights and capacities "
                    "change only while it is InService"
                )
            for index, entry in enumerate(request["DesiredWeightsAndCapacities"]):
                variant = entry["VariantName"]
                if variant not in active.sets:
                    raise ValidationError(
                        f"DesiredWeightsAndCapacities.{index}.VariantName: endpoint {name!r} "
                        f"has no variant {variant!r}",
                        field=f"DesiredWeightsAndCapacities.{index}.VariantName",
                    )
            for entry in request["DesiredWeightsAndCapacities"]:
                self.set_variant(
                    name,
                    entry["VariantName"],
                    desired_count=entry.get("DesiredInstanceCount"),
                    weight=entry.get("DesiredWeight"),
                )
            record = self._transition(
                state, "Updating", state_updates={"Active": active.to_state()}
            )
        self._wake.set()
        return record

    def set_variant(
        self,
        name: str,
        variant: str,
        *,
        desired_count: int | None = None,
        weight: float | None = None,
    ) -> None:
        """Change a serving variant's desired replica count and/or weight, now.

        No status change and no validation beyond existence: the building block of
        UpdateEndpointWeightsAndCapacities, autoscaling and traffic shifting.
        """
        with self._lock:
            state = self._state(name)
            active = state.active
            if active is None or variant not in active.sets:
                raise NotFoundError(f"endpoint {name!r} serves no variant {variant!r}")
            if desired_count is not None:
                active.desired[variant] = int(desired_count)
                active.sets[variant].desired = int(desired_count)
            if weight is not None:
                active.weights[variant] = float(weight)
            self.catalog.update(KIND, name, state_updates={"Active": active.to_state()})
            self._publish(state)
        self._wake.set()

    def delete(self, name: str) -> None:
        """DeleteEndpoint: traffic stops now; replicas stop; then the endpoint is gone."""
        with self._lock:
            state = self._endpoints.get(name)
            if state is None:
                self.get(name)  # 404 when absent
                raise ConflictError(f"endpoint {name!r} is being deleted")
            if state.deleting:
                return
            self._transition(state, "Deleting")
            state.deleting = True
            self._publish(state)
        self._wake.set()

    def get(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError as exc:
            raise NotFoundError(f"Could not find endpoint {name!r}", field="EndpointName") from exc

    def describe(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        with self._lock:
            return endpoint_describe.describe(record, self._endpoints.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {"Endpoints": [endpoint_describe.summary(r) for r in page.records]}
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def replicas(self, name: str) -> list[dict[str, Any]]:
        """Every replica of the endpoint: id, variant, phase, port, pid (for operators)."""
        self.get(name)
        with self._lock:
            state = self._endpoints.get(name)
            if state is None:
                return []
            found: list[dict[str, Any]] = []
            for replica_id, (deployment_id, variant) in state.owners.items():
                deployment = state.deployment(deployment_id)
                replica_set = deployment.sets.get(variant) if deployment else None
                replica = replica_set.replicas.get(replica_id) if replica_set else None
                process = state.processes.get(replica_id)
                found.append(
                    {
                        "ReplicaId": replica_id,
                        "VariantName": variant,
                        "EndpointConfigName": deployment.config_name if deployment else None,
                        "Status": replica.phase.value if replica else "Stopped",
                        "ModelError": replica.model_error if replica else None,
                        "Port": process.target.port if process else None,
                        "Pid": process.pid() if process else None,
                        "HandleId": process.handle_id if process else None,
                        "LaunchedAt": state.launched_at.get(replica_id),
                    }
                )
            return found

    def shadow_report(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        report = self.shadows.report(name)
        if report is None:
            active = record.state.get("Active") or record.state.get("Pending") or {}
            config = active.get("Config") or {}
            shadows = config.get("ShadowProductionVariants") or []
            if not shadows:
                raise ValidationError(
                    f"endpoint {name!r} has no shadow variant: its config names none",
                    field="EndpointName",
                )
            production = (config.get("ProductionVariants") or [{}])[0].get("VariantName", "")
            from modelyard.hosting.shadow import ShadowStats, shadow_report

            report = shadow_report(name, ShadowStats(production, shadows[0]["VariantName"]))
        return report

    def metric_points(
        self, name: str, *, metric: str | None = None, variant: str | None = None
    ) -> list[dict[str, Any]]:
        self.get(name)
        return self.metrics.points(name, metric=metric, variant=variant)

    def report_failure(self, replica_id: str) -> None:
        """The router saw ``replica_id`` fail: probe it now (called from the router's loop)."""

        def apply() -> None:
            for state in self._endpoints.values():
                owner = state.owners.get(replica_id)
                if owner is None:
                    continue
                deployment = state.deployment(owner[0])
                if deployment is not None and owner[1] in deployment.sets:
                    deployment.sets[owner[1]].suspect(replica_id)

        self._post(apply)

    # -- helpers of the operations ------------------------------------------------------

    def _new_deployment(self, config_name: str) -> Deployment:
        config = self.configs.get(config_name)
        models: dict[str, dict[str, Any]] = {}
        for variant in config.spec["ProductionVariants"] + (
            config.spec.get("ShadowProductionVariants") or []
        ):
            model_name = variant["ModelName"]
            try:
                record = self.models.get(model_name)
            except NotFoundError as exc:
                raise ValidationError(
                    f"endpoint config {config_name!r} names model {model_name!r}, which no longer "
                    "exists",
                    field="EndpointConfigName",
                ) from exc
            models[model_name] = {"Spec": record.spec, "Version": model_version(record)}
        return Deployment.new(config_name, config.spec, models, utcnow().isoformat())

    def _state(self, name: str) -> EndpointState:
        state = self._endpoints.get(name)
        if state is None:
            self.get(name)
            raise ConflictError(f"endpoint {name!r} is not managed by this server")
        return state

    def _transition(
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
        self._status[state.name] = status
        log.info(
            "endpoint %s is %s%s",
            state.name,
            status,
            f": {failure_reason}" if failure_reason else "",
        )
        return record

    def _save_replicas(self, state: EndpointState) -> None:
        self.catalog.update(KIND, state.name, state_updates={"Replicas": state.replicas_state()})

    # -- the loop's work -------------------------------------------------------------------

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
        self._publish(state)

    def _prepare(self, deployment: Deployment) -> None:
        if deployment.failure is not None:
            return
        future = deployment.preparing
        if future is None:
            deployment.preparing = self._pool.submit(self._prepare_launches, deployment)
            deployment.preparing.add_done_callback(lambda _: self._wake.set())
            return
        if not future.done():
            return
        deployment.preparing = None
        try:
            deployment.launches = future.result()
        except Exception as exc:
            deployment.failure = f"ClientError: {exc}"[:1024]

    def _prepare_launches(self, deployment: Deployment) -> dict[str, VariantLaunch]:
        """Build the images and fetch the model files (in the pool: may take a while)."""
        launches: dict[str, VariantLaunch] = {}
        for variant in deployment.variant_specs():
            model_name = variant["ModelName"]
            model = deployment.models[model_name]
            containers = containers_of(model["Spec"])
            if len(containers) != 1:
                raise ValidationError(
                    f"model {model_name!r} is an inference pipeline of {len(containers)} "
                    "containers: deploying pipelines is not supported yet"
                )
            container = containers[0]
            image = str(container["Image"])
            image_root = self.images.ensure_ready(image)
            base_dir = self.model_data.prepare(model_name, model["Version"], 0, container)
            launches[variant["VariantName"]] = VariantLaunch(
                image_root=image_root,
                base_dir=base_dir,
                environment={
                    str(k): str(v) for k, v in (container.get("Environment") or {}).items()
                },
                profile=instance_profile(variant.get("InstanceType", "local")),
                image=image,
            )
        return launches

    def _probe(self, state: EndpointState, replica_set: ReplicaSet, now: float) -> None:
        timeout = self.settings.endpoint_health_check_timeout_s
        for replica_id in replica_set.due_probes(now):
            process = state.processes.get(replica_id)
            if process is None or replica_id in self._probing:
                continue
            self._probing.add(replica_id)
            future = self._pool.submit(process.probe, timeout)
            future.add_done_callback(self._probed(replica_set, replica_id))

    def _probed(self, replica_set: ReplicaSet, replica_id: str) -> Callable[[Future[Probe]], None]:
        def done(future: Future[Probe]) -> None:
            self._post(lambda: self._observe(replica_set, replica_id, future))

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
        self._save_replicas(state)  # recorded before the process exists
        request = LaunchRequest(
            replica_id=replica_id,
            endpoint=state.name,
            variant=variant,
            image_root=launch.image_root,
            base_dir=launch.base_dir,
            environment=launch.environment,
            profile=launch.profile,
            model_timeout_s=self.settings.invocation_timeout_s,
        )
        future = self._pool.submit(self.launcher.launch, request)

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
                    self._pool.submit(process.stop, 0.0)
                    return
                state.processes[replica_id] = process
                self._save_replicas(state)

            self._post(apply)

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
                    self._save_replicas(state)

        if process is None:
            forget()  # never launched, or its launch is in flight (then ``launched`` stops it)
            return
        grace = (
            self.settings.endpoint_stop_grace_s if reason == "scaled in" else FAILED_STOP_GRACE_S
        )
        future = self._pool.submit(process.stop, grace)
        future.add_done_callback(lambda _: self._post(forget))

    def _advance(self, state: EndpointState) -> None:
        status = self._status.get(state.name)
        pending = state.pending
        if pending is not None:
            reason = pending.failure_reason
            if reason is not None:
                self._retire(state, pending)
                state.pending = None
                if state.active is None:
                    self._transition(
                        state, "Failed", failure_reason=reason, state_updates={"Pending": None}
                    )
                else:
                    self._transition(
                        state,
                        "InService",
                        failure_reason=f"UpdateEndpoint to {pending.config_name} failed: {reason}",
                        state_updates={"Pending": None},
                    )
            elif pending.is_up:
                if state.active is not None:
                    self._retire(state, state.active)
                state.active = pending
                state.pending = None
                self._transition(
                    state,
                    "InService",
                    state_updates={"Active": pending.to_state(), "Pending": None},
                )
        elif status == "Updating" and state.active is not None and state.active.is_up:
            self._transition(state, "InService")
        elif status == "Failed" and state.active is not None:
            self._retire(state, state.active)
            state.active = None

    def _retire(self, state: EndpointState, deployment: Deployment) -> None:
        for name, replica_set in deployment.sets.items():
            deployment.desired[name] = 0
            replica_set.desired = 0
        if deployment is state.active:
            state.active = None
        if deployment not in state.retiring:
            state.retiring.append(deployment)

    def _publish(self, state: EndpointState) -> None:
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
        self._endpoints.pop(state.name, None)
        self._status.pop(state.name, None)
        log.info("endpoint %s is deleted", state.name)

    def _sample_utilization(self) -> None:
        with self._lock:
            samples = []
            for state in self._endpoints.values():
                active = state.active
                if active is None or active.launches is None:
                    continue
                for variant, replica_set in active.sets.items():
                    processes = [
                        state.processes[r] for r in replica_set.routable() if r in state.processes
                    ]
                    launch = active.launches.get(variant)
                    samples.append((state.name, variant, processes, launch))
        for endpoint, variant, processes, launch in samples:
            if not processes:
                continue
            memory_mb = launch.profile.memory_mb if launch is not None else None
            total_bytes = memory_mb * 2**20 if memory_mb else psutil.virtual_memory().total
            cpu = 0.0
            memory = 0.0
            for process in processes:
                used_cpu, rss = process.utilization()
                cpu += used_cpu
                memory += 100.0 * rss / total_bytes
            count = len(processes)
            self.metrics.record_utilization(
                endpoint,
                variant,
                instances=count,
                cpu_percent=cpu / count,
                memory_percent=memory / count,
            )

    # -- restart -----------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Rebuild every endpoint from the catalog and re-adopt its live replicas."""
        token: str | None = None
        while True:
            page = self.catalog.list(KIND, next_token=token)
            for record in page.records:
                if record.name in self._endpoints:
                    continue
                try:
                    self._readopt(record)
                except Exception:
                    log.exception("endpoint %s: re-adopting after a restart failed", record.name)
            token = page.next_token
            if not token:
                break
        self._wake.set()

    def _readopt(self, record: ResourceRecord) -> None:
        now = self.clock()
        state = EndpointState(record.name)
        data = record.state
        if data.get("Active"):
            state.active = Deployment.from_state(data["Active"])
            state.active.build_sets(self.policy)
        if data.get("Pending"):
            state.pending = Deployment.from_state(data["Pending"])
            state.pending.build_sets(self.policy)
        for replica_id, entry in (data.get("Replicas") or {}).items():
            deployment = state.deployment(entry.get("DeploymentId", ""))
            variant = entry.get("VariantName", "")
            process: ReplicaProcess | None = None
            if entry.get("HandleId"):
                process = self.launcher.adopt(replica_id, entry["HandleId"])
            else:
                handle = self.launcher.find(replica_id)
                if handle is not None:
                    process = self.launcher.adopt(replica_id, handle.id)
            if process is None:
                continue
            if deployment is None or variant not in deployment.sets:
                self._pool.submit(process.stop, FAILED_STOP_GRACE_S)
                continue
            deployment.sets[variant].added(replica_id, now)
            state.processes[replica_id] = process
            state.owners[replica_id] = (deployment.deployment_id, variant)
            state.launched_at[replica_id] = entry.get("LaunchedAt") or utcnow().isoformat()
        known = {p.handle_id for p in state.processes.values()}
        for handle in self.launcher.running_for(record.name):
            if handle.id not in known:
                log.info("endpoint %s: stopping unrecorded replica %s", record.name, handle.id)
                self._pool.submit(handle.stop, FAILED_STOP_GRACE_S)
        with self._lock:
            self._endpoints[record.name] = state
            self._status[record.name] = record.status
            if record.status == "Deleting":
                state.deleting = True
            elif record.status == "Failed":
                for deployment in state.deployments():
                    self._retire(state, deployment)
                state.pending = None
            self._save_replicas(state)
        log.info(
            "endpoint %s (%s): re-adopted %d replica(s)",
            record.name,
            record.status,
            len(state.processes),
        )


def _refuse_deployment_config(body: dict[str, Any]) -> None:
    if body.get("DeploymentConfig"):
        raise ValidationError(
            "DeploymentConfig (blue/green and rolling updates, auto-rollback) is not supported "
            "yet: an update moves all traffic once the new variants are up",
            field="DeploymentConfig",
        )
