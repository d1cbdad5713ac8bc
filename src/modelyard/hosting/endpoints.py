"""The endpoint controller: desired state in the catalog, a loop that makes replicas match.

API operations only record what is wanted (each written to the catalog *before* any
side effect) and wake the loop:

- ``create``: the endpoint is ``Creating`` with a pending deployment of its config;
- ``update``: ``Updating`` with a pending deployment of the new config, launched in full
  beside the serving one; traffic then moves as its ``DeploymentConfig`` says (blue/green:
  all at once, canary, linear; a bake; alarms that roll it back: :mod:`.deployment`);
  a failed or rolled back update leaves the old deployment serving, ``InService`` with a
  reason;
- ``rollback``: back to the previous config, at once during an update, by redeploying it
  after one (:mod:`.updates`);
- ``update_weights_and_capacities``: new desired weights (applied at once) and
  replica counts (``Updating`` until reached); the seam autoscaling uses;
- ``delete``: ``Deleting``, traffic stops, replicas are stopped, then the row goes.

The loop (:mod:`.reconciler`) then makes the replicas match, heals them and moves
the endpoint's status; the router (:mod:`.router`) reads the routes it publishes.
On a server restart :meth:`EndpointController.reconcile` rebuilds every endpoint from
the catalog and re-adopts its live replicas through ``Runtime.adopt`` (their processes
outlive the server); they serve again once a ``/ping`` answers. Shutting the server
down stops the loop, never the replicas.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError
from modelyard.hosting import endpoint_describe, updates
from modelyard.hosting.alarms import AlarmRegistry
from modelyard.hosting.autoscaling import AutoscalingController
from modelyard.hosting.capture import CaptureWriter
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.hosting.endpoint_configs import EndpointConfigRegistry
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.models import ModelRegistry, model_version
from modelyard.hosting.reconciler import Reconciler
from modelyard.hosting.replicas import ReplicaLauncher
from modelyard.hosting.router import Router
from modelyard.hosting.routing import RoutingTable
from modelyard.hosting.shadow import STATE_KEY as SHADOW_STATE_KEY
from modelyard.hosting.shadow import ShadowRecorder
from modelyard.ids import ResourceKind, utcnow, validate_name
from modelyard.images.registry import ImageRegistry
from modelyard.jobs.shapes import Relaxed, validate_request
from modelyard.runtime.base import Runtime
from modelyard.store.base import Store

log = logging.getLogger(__name__)

KIND = ResourceKind.ENDPOINT
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
        wall_clock: Callable[[], float] = time.time,
        max_workers: int = 8,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.images = images
        self.clock = clock
        self.models = ModelRegistry(catalog, store, images)
        self.configs = EndpointConfigRegistry(catalog, store, self.models)
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
        self.loop = Reconciler(
            catalog,
            images,
            launcher or ReplicaLauncher(runtime),
            ModelData(store, settings.home / "hosting" / "models"),
            self.table,
            self.metrics,
            self.shadows,
            settings,
            clock=clock,
            wall_clock=wall_clock,
            max_workers=max_workers,
        )
        self.alarms = AlarmRegistry(catalog, self.metrics, self.serving_fleet)
        self.loop.alarms = self.alarms
        self.loop.in_flight = lambda replica_id: self.router.outstanding.get(replica_id, 0)
        self.autoscaling = AutoscalingController(self, settings, clock=clock)

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Re-adopt what runs (see :meth:`reconcile`) and start the loop."""
        self.reconcile()
        self.capture.start()
        self.loop.start()
        self.autoscaling.start()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and write what is buffered; replicas keep running."""
        self.autoscaling.stop(timeout_s)
        self.loop.stop(timeout_s)
        with contextlib.suppress(Exception):
            self.shadows.persist(self.catalog)
        with contextlib.suppress(Exception):
            self.capture.close()
        with contextlib.suppress(Exception):
            self.metrics.flush(everything=True)

    def reconcile(self) -> None:
        """Rebuild every endpoint from the catalog and re-adopt its live replicas."""
        self.loop.reconcile()
        with self.loop.lock:
            names = list(self.loop.endpoints)
        for name in names:
            with contextlib.suppress(NotFoundError):
                report = self.catalog.get(KIND, name).state.get(SHADOW_STATE_KEY)
                if report:
                    self.shadows.restore(name, report)

    def tick(self) -> None:
        """One pass of the loop (it runs by itself; tests call it)."""
        self.loop.tick()

    # -- the API's operations --------------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        """CreateEndpoint: recorded ``Creating``; replicas start in the background."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        validate_request("CreateEndpointInput", body, _RELAXED)
        name = validate_name(body["EndpointName"], KIND, field="EndpointName")
        deployment = self._new_deployment(body["EndpointConfigName"])
        config = updates.deployment_config(body, None, self.alarms)
        if config is not None:
            updates.start_rollout(deployment, config, 0.0)  # checked now, used by updates
        state_data = {
            "Active": None,
            "Pending": deployment.to_state(),
            "Replicas": {},
            "LastDeploymentConfig": config,
        }
        with self.loop.lock:
            try:
                record = self.catalog.create(
                    KIND, name, spec=dict(body), status="Creating", state=state_data
                )
            except AlreadyExistsError as exc:
                raise AlreadyExistsError(
                    f"Cannot create already existing endpoint {name!r}", field="EndpointName"
                ) from exc
            deployment.build_sets(self.loop.policy)
            self.loop.endpoints[name] = EndpointState(name, pending=deployment)
            self.loop.status[name] = "Creating"
        self.loop.wake()
        return record

    def update(self, name: str, body: object) -> ResourceRecord:
        """UpdateEndpoint: ``Updating`` until the new config's variants are all up."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        request = {"EndpointName": name, **body}
        validate_request("UpdateEndpointInput", request, _RELAXED)
        deployment = self._new_deployment(request["EndpointConfigName"])
        with self.loop.lock:
            state = self._state(name)
            status = self.loop.status.get(name)
            repairable = status in ("InService", "UpdateRollbackFailed")
            if not repairable or state.pending is not None or state.active is None:
                raise ConflictError(
                    f"Cannot update in-progress endpoint {name!r}: it is {status}; wait until "
                    "it is InService",
                    field="EndpointName",
                )
            record = updates.begin(
                self.loop, state, deployment, request, self.get(name).state, self.alarms
            )
        self.loop.wake()
        return record

    def rollback(self, name: str) -> dict[str, Any]:
        """Back to the previous config: at once during an update, by redeploying it after.

        During an update (launch, traffic shift or bake) the old fleet still runs: traffic
        goes back to it now and the new fleet retires. Once an update is done, the config
        it replaced is deployed again, all at once (``Updating`` until it serves).
        """
        with self.loop.lock:
            state = self._state(name)
            kind, target = updates.roll_back_or_redeploy(self.loop, state, self.get(name).state)
            record = self.get(name)
        self.loop.wake()
        return {"EndpointArn": record.arn, "EndpointConfigName": target, "RollbackType": kind}

    def serving_fleet(self, name: str) -> dict[str, str]:
        """What the endpoint serves now: production variant -> its metrics key (for alarms)."""
        with self.loop.lock:
            state = self.loop.endpoints.get(name)
            if state is None or state.active is None:
                return {}
            return state.fleet(state.active)

    def update_weights_and_capacities(self, name: str, body: object) -> ResourceRecord:
        """UpdateEndpointWeightsAndCapacities: weights now, counts by the loop."""
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        request = {"EndpointName": name, **body}
        validate_request("UpdateEndpointWeightsAndCapacitiesInput", request)
        with self.loop.lock:
            state = self._state(name)
            active = state.active
            if active is None or self.loop.status.get(name) != "InService":
                raise ConflictError(
                    f"endpoint {name!r} is {self.loop.status.get(name)}: weights and capacities "
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
            record = self.loop.transition(
                state, "Updating", state_updates={"Active": active.to_state()}
            )
        self.loop.wake()
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
        with self.loop.lock:
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
            self.loop.publish(state)
        self.loop.wake()

    def delete(self, name: str) -> None:
        """DeleteEndpoint: traffic stops now; replicas stop; then the endpoint is gone."""
        with self.loop.lock:
            state = self.loop.endpoints.get(name)
            if state is None:
                self.get(name)  # 404 when absent
                raise ConflictError(f"endpoint {name!r} is being deleted")
            if state.deleting:
                return
            self.loop.transition(state, "Deleting")
            state.deleting = True
            self.loop.publish(state)
        self.loop.wake()

    def get(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError as exc:
            raise NotFoundError(f"Could not find endpoint {name!r}", field="EndpointName") from exc

    def describe(self, name: str) -> dict[str, Any]:
        record = self.get(name)
        with self.loop.lock:
            return endpoint_describe.describe(record, self.loop.endpoints.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {"Endpoints": [endpoint_describe.summary(r) for r in page.records]}
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def replicas(self, name: str) -> list[dict[str, Any]]:
        """Every replica of the endpoint: id, variant, phase, port, pid (for operators)."""
        self.get(name)
        with self.loop.lock:
            state = self.loop.endpoints.get(name)
            if state is None:
                return []
            return endpoint_describe.replica_rows(state)

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
            for state in self.loop.endpoints.values():
                owner = state.owners.get(replica_id)
                if owner is None:
                    continue
                deployment = state.deployment(owner[0])
                if deployment is not None and owner[1] in deployment.sets:
                    deployment.sets[owner[1]].suspect(replica_id)

        self.loop.post(apply)

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
        state = self.loop.endpoints.get(name)
        if state is None:
            self.get(name)
            raise ConflictError(f"endpoint {name!r} is not managed by this server")
        return state
