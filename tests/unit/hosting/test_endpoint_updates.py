"""Blue/green updates through the controller on fakes: traffic split in the route, alarms on the
new fleet, automatic and manual rollbacks, a restart in the middle of a shift.

The fakes of :mod:`tests.unit.hosting.test_controller` stand for replicas; one fake clock
serves as both the loop's clock and the wall clock the rollout is timed by.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.errors import ConflictError, ValidationError
from modelyard.hosting.endpoints import EndpointController
from modelyard.ids import ResourceKind
from tests.unit.hosting.test_controller import FakeLauncher, Harness, InlinePool


class UpdateHarness(Harness):
    def start(self) -> EndpointController:
        controller = EndpointController(
            self.catalog,
            store=None,  # type: ignore[arg-type]  # never touched: launches are prepared here
            runtime=None,  # type: ignore[arg-type]
            images=None,  # type: ignore[arg-type]
            settings=self.settings,
            launcher=self.launcher,  # type: ignore[arg-type]
            clock=self.clock,
            wall_clock=self.clock,
        )
        controller.loop.pool = InlinePool()
        controller.loop.prepare_launches = self._launches  # type: ignore[method-assign]
        return controller

    def route(self, name: str = "ep") -> list[tuple[str, float, str, int]]:
        """(variant, weight, metrics key, replicas) of each routed production variant."""
        route = self.controller.table.get(name)
        assert route is not None
        return [
            (v.name, round(v.weight, 6), v.metrics_name, len(v.replicas)) for v in route.variants
        ]

    def fail_new_fleet(self, count: int = 5, name: str = "ep") -> None:
        """The new fleet answers ``count`` invocations with a 5xx (what the router records)."""
        key = next(key for _, _, key, _ in self.route(name) if "@" in key)
        for _ in range(count):
            self.controller.metrics.record_invocation(
                name, key, 500, model_error=True, model_latency_us=900.0, overhead_latency_us=50.0
            )


@pytest.fixture
def blue_green_catalog() -> Iterator[SqlCatalog]:
    with SqlCatalog("sqlite://") as found:
        found.migrate()
        for model in ("good", "better"):
            found.create(
                ResourceKind.MODEL,
                model,
                spec={"ModelName": model, "PrimaryContainer": {"Image": "sklearn:1.5"}},
                status="Created",
            )
        for config, model in (("blue", "good"), ("green", "better")):
            found.create(
                ResourceKind.ENDPOINT_CONFIG,
                config,
                spec={
                    "EndpointConfigName": config,
                    "ProductionVariants": [
                        {"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 2}
                    ],
                },
                status="Created",
            )
        yield found


@pytest.fixture
def harness(blue_green_catalog: SqlCatalog, tmp_path: Path) -> UpdateHarness:
    settings = Settings(
        home=tmp_path,
        endpoint_health_check_period_s=1.0,
        endpoint_unhealthy_threshold=2,
        endpoint_startup_timeout_s=10.0,
    )
    found = UpdateHarness(blue_green_catalog, settings, FakeLauncher())
    found.controller.create({"EndpointName": "ep", "EndpointConfigName": "blue"})
    found.ticks()
    assert found.status("ep") == "InService"
    return found


def canary(percent: int = 10, wait: int = 30, bake: int = 20, **extra: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": percent},
                "WaitIntervalInSeconds": wait,
            },
            "TerminationWaitInSeconds": bake,
        },
        **extra,
    }


FIVE_XX_RATE = {
    "AlarmName": "ep-5xx",
    "MetricName": "Invocation5XXErrors",
    "Statistic": "Average",
    "Dimensions": [{"Name": "EndpointName", "Value": "ep"}],
    "Period": 10,
    "EvaluationPeriods": 1,
    "Threshold": 0.1,
    "ComparisonOperator": "GreaterThanThreshold",
}


def test_a_canary_splits_traffic_between_the_fleets_then_bakes_then_promotes(
    harness: UpdateHarness,
) -> None:
    old = set(harness.launcher.alive())
    harness.controller.update("ep", {"EndpointConfigName": "green", "DeploymentConfig": canary()})
    harness.ticks(1)  # the new fleet starts beside the old; the old takes everything
    assert harness.route() == [("AllTraffic", 1.0, "AllTraffic", 2)]
    harness.ticks(3)  # up: the canary takes its share
    (canary_route,) = [r for r in harness.route() if "@" in r[2]]
    assert canary_route[1:] == (0.1, canary_route[2], 2)
    assert harness.route()[0][1] == 0.9
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "Updating"
    assert described["EndpointConfigName"] == "blue"
    assert described["ProductionVariants"][0]["CurrentWeight"] == 0.9
    (pending,) = described["PendingDeploymentSummary"]["ProductionVariants"]
    assert pending["CurrentWeight"] == 0.1
    assert pending["VariantStatus"][0]["Status"] == "ActivatingTraffic"
    assert "10% of the traffic (CANARY step 1 of 2)" in pending["VariantStatus"][0]["StatusMessage"]

    harness.ticks(60)  # 30 s of canary (ticks are 0.5 s), then all of it
    assert [r[1] for r in harness.route()] == [1.0]
    assert "@" in harness.route()[0][2]
    assert old <= set(harness.launcher.alive())  # baking: the old fleet is warm
    new_key = harness.route()[0][2]
    sampled = harness.controller.metrics.recent("ep", new_key, "CPUUtilization", window_s=60)
    assert sampled == 10.0  # the new fleet's own utilisation, for alarms on it
    summary = harness.controller.describe("ep")["PendingDeploymentSummary"]
    (baking,) = summary["ProductionVariants"][0]["VariantStatus"]
    assert baking["Status"] == "Baking"
    assert "all the traffic, baking 20 s" in baking["StatusMessage"]

    harness.ticks(42)
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "green"
    assert "PendingDeploymentSummary" not in described
    assert harness.route() == [("AllTraffic", 1.0, "AllTraffic", 2)]
    assert not old & set(harness.launcher.alive())
    assert described["LastDeploymentConfig"] == canary()
    assert [(h["EndpointConfigName"], h["Status"]) for h in described["DeploymentHistory"]] == [
        ("blue", "Succeeded"),
        ("green", "Succeeded"),
    ]


def test_an_alarm_on_the_new_fleet_rolls_back_by_itself(harness: UpdateHarness) -> None:
    harness.controller.alarms.put(FIVE_XX_RATE)
    serving = harness.route()
    harness.controller.update(
        "ep",
        {
            "EndpointConfigName": "green",
            "DeploymentConfig": canary(
                AutoRollbackConfiguration={"Alarms": [{"AlarmName": "ep-5xx"}]}
            ),
        },
    )
    harness.ticks(4)
    assert len(harness.route()) == 2
    assert harness.controller.alarms.describe("ep-5xx")["StateValue"] == "INSUFFICIENT_DATA"
    harness.fail_new_fleet()
    harness.ticks(1)
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "blue"
    reason = described["FailureReason"]
    assert "UpdateEndpoint to green rolled back: alarm ep-5xx is in ALARM" in reason
    assert harness.route() == serving
    harness.ticks(2)
    assert len(harness.launcher.alive()) == 2  # the new fleet is gone
    assert described["DeploymentHistory"][-1]["Status"] == "RolledBack"


def test_an_alarm_on_the_old_fleet_alone_does_not_roll_back(harness: UpdateHarness) -> None:
    harness.controller.alarms.put(FIVE_XX_RATE)
    harness.controller.update(
        "ep",
        {
            "EndpointConfigName": "green",
            "DeploymentConfig": canary(
                bake=0, AutoRollbackConfiguration={"Alarms": [{"AlarmName": "ep-5xx"}]}
            ),
        },
    )
    harness.ticks(4)
    for _ in range(5):
        harness.controller.metrics.record_invocation(
            "ep", "AllTraffic", 500, model_error=True, model_latency_us=1.0, overhead_latency_us=1.0
        )
    assert harness.controller.alarms.describe("ep-5xx")["StateValue"] == "ALARM"  # as served
    harness.ticks(70)
    described = harness.controller.describe("ep")
    assert described["EndpointConfigName"] == "green"
    assert "FailureReason" not in described


def test_a_manual_rollback_during_the_bake_is_instant(harness: UpdateHarness) -> None:
    serving = harness.route()
    harness.controller.update(
        "ep",
        {
            "EndpointConfigName": "green",
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "ALL_AT_ONCE",
                        "WaitIntervalInSeconds": 0,
                    },
                    "TerminationWaitInSeconds": 600,
                }
            },
        },
    )
    harness.ticks(4)
    assert "@" in harness.route()[0][2]
    answer = harness.controller.rollback("ep")
    assert answer["RollbackType"] == "TrafficShift"
    assert answer["EndpointConfigName"] == "blue"
    assert harness.route() == serving  # before any tick: the old fleet was warm
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "InService"
    assert "requested by a manual rollback" in described["FailureReason"]


def test_a_manual_rollback_after_an_update_redeploys_the_previous_config(
    harness: UpdateHarness,
) -> None:
    with pytest.raises(ConflictError, match="only ever served blue"):
        harness.controller.rollback("ep")
    harness.controller.update("ep", {"EndpointConfigName": "green"})
    harness.ticks()
    assert harness.controller.describe("ep")["EndpointConfigName"] == "green"
    harness.catalog.delete(ResourceKind.ENDPOINT_CONFIG, "blue")  # the snapshot is enough

    answer = harness.controller.rollback("ep")
    assert answer["RollbackType"] == "Redeploy"
    assert harness.status("ep") == "Updating"
    with pytest.raises(ConflictError, match="Updating"):
        harness.controller.update("ep", {"EndpointConfigName": "green"})
    harness.ticks()
    described = harness.controller.describe("ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "blue")
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert harness.controller.rollback("ep")["EndpointConfigName"] == "green"  # and back


def test_a_restart_in_the_middle_of_a_canary_resumes_it(harness: UpdateHarness) -> None:
    harness.controller.update(
        "ep", {"EndpointConfigName": "green", "DeploymentConfig": canary(wait=30, bake=10)}
    )
    harness.ticks(5)
    assert sorted(r[1] for r in harness.route()) == [0.1, 0.9]
    harness.controller.shutdown()
    harness.controller = harness.start()
    harness.controller.reconcile()
    harness.ticks(3)  # adopted replicas answer /ping again
    assert sorted(r[1] for r in harness.route()) == [0.1, 0.9]
    assert harness.status("ep") == "Updating"
    harness.ticks(90)
    described = harness.controller.describe("ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "green")
    assert len(harness.launcher.launches) == 4  # nothing relaunched


def test_update_options_are_checked_and_honoured(harness: UpdateHarness) -> None:
    missing = canary(AutoRollbackConfiguration={"Alarms": [{"AlarmName": "nope"}]})
    with pytest.raises(ValidationError, match="no alarm 'nope'") as caught:
        harness.controller.update(
            "ep", {"EndpointConfigName": "green", "DeploymentConfig": missing}
        )
    assert caught.value.field == "DeploymentConfig.AutoRollbackConfiguration.Alarms.0.AlarmName"
    with pytest.raises(ValidationError, match="at most 50%"):
        harness.controller.update(
            "ep", {"EndpointConfigName": "green", "DeploymentConfig": canary(percent=80)}
        )
    assert harness.status("ep") == "InService"

    harness.controller.set_variant("ep", "AllTraffic", desired_count=3)  # as autoscaling does
    harness.ticks()
    harness.controller.update(
        "ep", {"EndpointConfigName": "green", "RetainAllVariantProperties": True}
    )
    harness.ticks()
    described = harness.controller.describe("ep")
    assert described["EndpointConfigName"] == "green"
    assert described["ProductionVariants"][0]["DesiredInstanceCount"] == 3


def test_an_old_fleet_that_cannot_come_back_fails_the_rollback_and_an_update_repairs_it(
    harness: UpdateHarness,
) -> None:
    harness.controller.update(
        "ep", {"EndpointConfigName": "green", "DeploymentConfig": canary(wait=30)}
    )
    harness.ticks(4)
    state = harness.controller.loop.endpoints["ep"]
    assert state.active is not None
    serving = [r for r, (d, _) in state.owners.items() if d == state.active.deployment_id]
    harness.launcher.fail_launches = True  # the old fleet's replicas will not start again
    for replica_id in serving:
        harness.launcher.processes[replica_id].stopped = True
        harness.controller.report_failure(replica_id)
    harness.ticks(2)
    harness.controller.rollback("ep")
    assert harness.status("ep") == "RollingBack"
    harness.ticks(20)
    described = harness.controller.describe("ep")
    assert described["EndpointStatus"] == "UpdateRollbackFailed"
    assert "the previous config blue did not come back" in described["FailureReason"]

    harness.launcher.fail_launches = False
    harness.controller.update("ep", {"EndpointConfigName": "green"})
    harness.ticks()
    described = harness.controller.describe("ep")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "green")
