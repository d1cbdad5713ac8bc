"""The endpoint controller on fakes: a fake launcher, an inline pool, a fake clock, SQLite.

Everything the controller decides (statuses, replacements, scaling, updates, deletes,
re-adoption after a restart, what the router sees) is checked without a process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.errors import ConflictError, NotFoundError
from modelyard.hosting.deployments import Deployment, VariantLaunch
from modelyard.hosting.endpoints import EndpointController
from modelyard.hosting.replica_set import Health, Probe
from modelyard.hosting.replicas import LaunchRequest
from modelyard.hosting.routing import ReplicaTarget
from modelyard.ids import ResourceKind
from modelyard.jobs.instance_types import instance_profile


class InlinePool:
    """Runs what is submitted at once (results reach the controller at its next tick)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class FakeProcess:
    def __init__(self, replica_id: str, port: int, health: dict[str, Health]) -> None:
        self.replica_id = replica_id
        self.target = ReplicaTarget(replica_id, "127.0.0.1", port)
        self.handle_id = f"handle-{replica_id}"
        self._health = health
        self.stopped = False

    def pid(self) -> int:
        return 1000 + self.target.port

    def probe(self, timeout_s: float) -> Probe:
        if self.stopped:
            return Probe(Health.EXITED, "stopped")
        return Probe(self._health.get(self.replica_id, Health.READY))

    def stop(self, grace_s: float) -> int:
        self.stopped = True
        return 0

    def utilization(self) -> tuple[float, int]:
        return 10.0, 2**20


class FakeLauncher:
    """Launches fake replicas; the health each reports is set per replica id."""

    def __init__(self) -> None:
        self.health: dict[str, Health] = {}
        self.processes: dict[str, FakeProcess] = {}
        self.launches: list[LaunchRequest] = []
        self.fail_launches = False

    def launch(self, request: LaunchRequest) -> FakeProcess:
        if self.fail_launches:
            raise RuntimeError("no room")
        self.launches.append(request)
        process = FakeProcess(request.replica_id, 9000 + len(self.launches), self.health)
        self.processes[request.replica_id] = process
        return process

    def adopt(self, replica_id: str, handle_id: str) -> FakeProcess | None:
        process = self.processes.get(replica_id)
        return process if process is not None and not process.stopped else None

    def find(self, replica_id: str) -> None:
        return None

    def running_for(self, endpoint: str) -> list[Any]:
        return []

    def alive(self) -> list[str]:
        return sorted(r for r, p in self.processes.items() if not p.stopped)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def catalog() -> Iterator[SqlCatalog]:
    with SqlCatalog("sqlite://") as found:
        found.migrate()
        for model in ("m1", "m2"):
            found.create(
                ResourceKind.MODEL,
                model,
                spec={"ModelName": model, "PrimaryContainer": {"Image": "sklearn:1.5"}},
                status="Created",
            )
        found.create(
            ResourceKind.ENDPOINT_CONFIG,
            "two",
            spec={
                "EndpointConfigName": "two",
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": "m1", "InitialInstanceCount": 2},
                ],
            },
            status="Created",
        )
        found.create(
            ResourceKind.ENDPOINT_CONFIG,
            "split",
            spec={
                "EndpointConfigName": "split",
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": "m1", "InitialVariantWeight": 0.7},
                    {"VariantName": "B", "ModelName": "m2", "InitialVariantWeight": 0.3},
                ],
            },
            status="Created",
        )
        yield found


class Harness:
    def __init__(self, catalog: SqlCatalog, settings: Settings, launcher: FakeLauncher) -> None:
        self.catalog = catalog
        self.settings = settings
        self.launcher = launcher
        self.clock = Clock()
        self.controller = self.start()

    def start(self) -> EndpointController:
        controller = EndpointController(
            self.catalog,
            store=None,  # type: ignore[arg-type]  # never touched: launches are prepared here
            runtime=None,  # type: ignore[arg-type]
            images=None,  # type: ignore[arg-type]
            settings=self.settings,
            launcher=self.launcher,  # type: ignore[arg-type]
            clock=self.clock,
        )
        controller.loop.pool = InlinePool()
        controller.loop.prepare_launches = self._launches  # type: ignore[method-assign]
        return controller

    def _launches(self, deployment: Deployment) -> dict[str, VariantLaunch]:
        return {
            v["VariantName"]: VariantLaunch(
                Path("/images/x"), Path("/models/x"), {}, instance_profile("local"), "sklearn:1.5"
            )
            for v in deployment.variant_specs()
        }

    def ticks(self, count: int = 5, seconds: float = 0.5) -> None:
        for _ in range(count):
            self.clock.now += seconds
            self.controller.tick()

    def status(self, name: str) -> str:
        return str(self.controller.describe(name)["EndpointStatus"])

    def routed(self, name: str) -> dict[str, list[str]]:
        route = self.controller.table.get(name)
        if route is None:
            return {}
        return {v.name: [r.replica_id for r in v.replicas] for v in route.variants}


@pytest.fixture
def harness(catalog: SqlCatalog, tmp_path: Path) -> Harness:
    settings = Settings(
        home=tmp_path,
        endpoint_health_check_period_s=1.0,
        endpoint_unhealthy_threshold=2,
        endpoint_startup_timeout_s=10.0,
    )
    return Harness(catalog, settings, FakeLauncher())


def test_an_endpoint_goes_in_service_once_every_replica_answers(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    assert harness.status("ep") == "Creating"
    assert harness.routed("ep") == {}
    harness.ticks()
    assert harness.status("ep") == "InService"
    assert len(harness.routed("ep")["A"]) == 2
    described = harness.controller.describe("ep")
    (variant,) = described["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (2, 2)
    state = harness.catalog.get(ResourceKind.ENDPOINT, "ep").state
    assert set(state["Replicas"]) == set(harness.launcher.alive())
    assert all(entry["HandleId"] for entry in state["Replicas"].values())


def test_a_replica_that_dies_leaves_the_route_and_is_replaced(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    victim = harness.routed("ep")["A"][0]
    harness.launcher.processes[victim].stopped = True
    harness.controller.report_failure(victim)  # the router saw it fail: probed at once
    harness.ticks(2)
    routed = harness.routed("ep")["A"]
    assert victim not in routed
    harness.ticks()
    assert len(harness.routed("ep")["A"]) == 2
    assert len(harness.launcher.launches) == 3
    assert harness.status("ep") == "InService"


def test_replicas_that_never_start_fail_the_endpoint(harness: Harness) -> None:
    harness.launcher.fail_launches = True
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks(10)
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "Failed"
    assert "did not start" in described["FailureReason"]
    assert "no room" in described["FailureReason"]


def test_weights_and_capacities_change_at_run_time(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "split"})
    harness.ticks()
    route = harness.controller.table.get("ep")
    assert route is not None
    assert [v.weight for v in route.variants] == [0.7, 0.3]
    harness.controller.update_weights_and_capacities(
        "ep",
        {
            "DesiredWeightsAndCapacities": [
                {"VariantName": "A", "DesiredWeight": 0.5, "DesiredInstanceCount": 3},
                {"VariantName": "B", "DesiredWeight": 0.5},
            ]
        },
    )
    route = harness.controller.table.get("ep")
    assert route is not None
    assert [v.weight for v in route.variants] == [0.5, 0.5]  # weights at once
    assert harness.status("ep") == "Updating"
    harness.ticks()
    assert harness.status("ep") == "InService"
    assert len(harness.routed("ep")["A"]) == 3
    harness.controller.set_variant("ep", "A", desired_count=1)
    harness.ticks()
    assert len(harness.routed("ep")["A"]) == 1
    assert len(harness.launcher.alive()) == 2
    with pytest.raises(NotFoundError):
        harness.controller.set_variant("ep", "Z", desired_count=1)


def test_an_update_moves_traffic_once_the_new_config_is_up(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    old = set(harness.launcher.alive())
    harness.controller.update("ep", {"EndpointConfigName": "split"})
    assert harness.status("ep") == "Updating"
    assert set(harness.routed("ep")) == {"A"}  # still the old deployment
    harness.ticks()
    assert harness.status("ep") == "InService"
    assert set(harness.routed("ep")) == {"A", "B"}
    assert not old & set(harness.launcher.alive())  # the old replicas are retired
    assert harness.controller.describe("ep")["EndpointConfigName"] == "split"
    harness.controller.update("ep", {"EndpointConfigName": "two"})
    with pytest.raises(ConflictError, match="in-progress"):
        harness.controller.update("ep", {"EndpointConfigName": "split"})


def test_a_failed_update_leaves_the_old_deployment_serving(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    serving = harness.routed("ep")
    harness.launcher.fail_launches = True
    harness.controller.update("ep", {"EndpointConfigName": "split"})
    harness.ticks(10)
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "InService"
    assert "UpdateEndpoint to split failed" in described["FailureReason"]
    assert harness.routed("ep") == serving


def test_a_restarted_controller_readopts_live_replicas(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    serving = harness.routed("ep")
    harness.controller.shutdown()
    restarted = harness.start()
    restarted.reconcile()
    assert restarted.table.get("ep") is None  # nothing routed before a ping answers
    harness.controller = restarted
    harness.ticks(2)
    assert harness.routed("ep") == serving
    assert len(harness.launcher.launches) == 2  # nothing relaunched
    assert harness.status("ep") == "InService"


def test_a_replica_that_died_while_the_server_was_down_is_replaced(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    harness.controller.shutdown()
    harness.launcher.processes[harness.launcher.alive()[0]].stopped = True
    harness.controller = harness.start()
    harness.controller.reconcile()
    harness.ticks()
    assert len(harness.routed("ep")["A"]) == 2
    assert len(harness.launcher.launches) == 3


def test_a_deleted_endpoint_stops_its_replicas_and_goes(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    harness.controller.delete("ep")
    assert harness.controller.table.get("ep") is None  # traffic stops at once
    harness.ticks(2)
    assert harness.launcher.alive() == []
    with pytest.raises(NotFoundError):
        harness.controller.describe("ep")


def test_a_model_that_fails_to_load_is_served_and_said(harness: Harness) -> None:
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.launcher.health.update({})
    harness.ticks(1)
    for replica in harness.launcher.alive():
        harness.launcher.health[replica] = Health.MODEL_FAILED
    harness.ticks()
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "InService"
    assert len(harness.routed("ep")["A"]) == 2
