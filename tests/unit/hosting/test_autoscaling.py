"""Autoscaling through the endpoint controller on fakes: targets, policies, activities, restarts.

The controller runs on the fake launcher and clocks of ``test_controller``; invocations
are recorded into its metrics store at a fake wall-clock time, so a minute of load takes
no time at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.errors import NotFoundError, ValidationError
from modelyard.hosting.replica_set import Health
from modelyard.hosting.replicas import LaunchRequest
from modelyard.ids import ResourceKind
from tests.unit.hosting.test_controller import Clock, FakeLauncher, FakeProcess, Harness

RESOURCE = "endpoint/ep/variant/A"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def target(**extra: Any) -> dict[str, Any]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": RESOURCE,
        "ScalableDimension": DIMENSION,
        **extra,
    }


def invocations_policy(value: float = 100.0, **config: Any) -> dict[str, Any]:
    return target(
        PolicyName="invocations",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": value,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleOutCooldown": 10,
            "ScaleInCooldown": 10,
            **config,
        },
    )


@pytest.fixture
def catalog() -> Iterator[SqlCatalog]:
    with SqlCatalog("sqlite://") as found:
        found.migrate()
        found.create(
            ResourceKind.MODEL,
            "m1",
            spec={"ModelName": "m1", "PrimaryContainer": {"Image": "sklearn:1.5"}},
            status="Created",
        )
        found.create(
            ResourceKind.ENDPOINT_CONFIG,
            "one",
            spec={
                "EndpointConfigName": "one",
                "ProductionVariants": [
                    {"VariantName": "A", "ModelName": "m1", "InitialInstanceCount": 1}
                ],
            },
            status="Created",
        )
        yield found


@pytest.fixture
def harness(catalog: SqlCatalog, tmp_path: Path) -> Harness:
    settings = Settings(
        home=tmp_path,
        endpoint_health_check_period_s=1.0,
        autoscaling_evaluation_window_s=60.0,
        autoscaling_scale_in_window_s=120.0,
    )
    found = Harness(catalog, settings, FakeLauncher())
    found.controller.create({"EndpointName": "ep", "EndpointConfigName": "one"})
    found.ticks()
    return found


class Load:
    """Invocations recorded at a fake wall-clock time into the controller's metrics."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.wall = Clock()
        self.wall.now = 1_700_000_000.0
        harness.controller.metrics.clock = self.wall

    def run(self, per_minute: float, seconds: int) -> None:
        """``per_minute`` invocations a minute for ``seconds`` seconds (then time moves on)."""
        metrics = self.harness.controller.metrics
        for _ in range(seconds):
            for _ in range(round(per_minute / 60)):
                metrics.record_invocation(
                    "ep", "A", 200, model_error=False, model_latency_us=1.0, overhead_latency_us=1.0
                )
            self.wall.now += 1.0
            self.harness.clock.now += 1.0

    def scale(self) -> None:
        """One autoscaling pass, then the endpoint loop until replicas match."""
        self.harness.controller.autoscaling.tick()
        self.harness.ticks()


def counts(harness: Harness) -> tuple[int, int]:
    (variant,) = harness.controller.describe("ep")["ProductionVariants"]
    return variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]


def test_registering_a_target_clamps_the_count_into_its_bounds_at_once(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    answer = autoscaling.register_scalable_target(target(MinCapacity=2, MaxCapacity=4))
    assert answer["ScalableTargetARN"].startswith("arn:aws:application-autoscaling:")
    assert counts(harness)[1] == 2
    harness.ticks()
    assert counts(harness) == (2, 2)
    (activity,) = autoscaling.describe_scaling_activities({"ServiceNamespace": "sagemaker"})[
        "ScalingActivities"
    ]
    assert activity["Description"] == "Setting desired instance count to 2."
    assert "minimum capacity is 2" in activity["Cause"]
    (described,) = autoscaling.describe_scalable_targets({"ServiceNamespace": "sagemaker"})[
        "ScalableTargets"
    ]
    assert (described["MinCapacity"], described["MaxCapacity"]) == (2, 4)
    # Registering again changes the bounds only where asked.
    autoscaling.register_scalable_target(target(MinCapacity=1))
    (described,) = autoscaling.describe_scalable_targets({"ServiceNamespace": "sagemaker"})[
        "ScalableTargets"
    ]
    assert (described["MinCapacity"], described["MaxCapacity"]) == (1, 4)


def test_load_above_target_adds_replicas_and_quiet_removes_them(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=1, MaxCapacity=3))
    autoscaling.put_scaling_policy(invocations_policy(100.0))
    load = Load(harness)
    load.run(per_minute=180, seconds=60)  # 180/min on one replica, target 100: two needed
    load.scale()
    assert counts(harness) == (2, 2)
    latest = autoscaling.describe_scaling_activities({"ServiceNamespace": "sagemaker"})[
        "ScalingActivities"
    ][0]
    assert latest["Description"] == "Setting desired instance count to 2."
    assert "above the target 100" in latest["Cause"]
    harness.controller.autoscaling.tick()  # the replicas are in service: the activity is done
    latest = autoscaling.describe_scaling_activities({"ServiceNamespace": "sagemaker"})[
        "ScalingActivities"
    ][0]
    assert latest["StatusCode"] == "Successful"
    assert latest["EndTime"] >= latest["StartTime"]

    load.run(per_minute=600, seconds=60)  # far more than three can take: capped at three
    load.scale()
    assert counts(harness) == (3, 3)

    load.run(per_minute=0, seconds=60)  # the long window still holds the load
    load.scale()
    assert counts(harness) == (3, 3)
    load.run(per_minute=0, seconds=61)
    load.scale()
    assert counts(harness) == (1, 1)
    assert len(harness.launcher.alive()) == 1


def test_a_restarted_controller_keeps_targets_policies_and_activities(
    harness: Harness,
) -> None:
    harness.controller.autoscaling.registry.register_scalable_target(
        target(MinCapacity=2, MaxCapacity=4)
    )
    harness.controller.autoscaling.registry.put_scaling_policy(invocations_policy())
    harness.ticks()
    harness.controller = harness.start()
    harness.controller.reconcile()
    autoscaling = harness.controller.autoscaling.registry
    query = {"ServiceNamespace": "sagemaker"}
    assert len(autoscaling.describe_scalable_targets(query)["ScalableTargets"]) == 1
    (policy,) = autoscaling.describe_scaling_policies(query)["ScalingPolicies"]
    assert policy["PolicyName"] == "invocations"
    assert policy["PolicyARN"].endswith(f"resource/sagemaker/{RESOURCE}:policyName/invocations")
    assert len(autoscaling.describe_scaling_activities(query)["ScalingActivities"]) == 1


def test_deleting_the_endpoint_removes_its_targets_and_policies(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=1, MaxCapacity=2))
    autoscaling.put_scaling_policy(invocations_policy())
    harness.controller.delete("ep")
    harness.ticks()
    query = {"ServiceNamespace": "sagemaker"}
    assert autoscaling.describe_scalable_targets(query)["ScalableTargets"] == []
    assert autoscaling.describe_scaling_policies(query)["ScalingPolicies"] == []
    harness.controller.autoscaling.tick()  # nothing left to evaluate, nothing fails


def test_deregistering_removes_the_policies_and_leaves_the_count(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=2, MaxCapacity=2))
    autoscaling.put_scaling_policy(invocations_policy())
    autoscaling.deregister_scalable_target(target())
    query = {"ServiceNamespace": "sagemaker"}
    assert autoscaling.describe_scaling_policies(query)["ScalingPolicies"] == []
    assert counts(harness)[1] == 2
    with pytest.raises(NotFoundError, match="no scalable target"):
        autoscaling.deregister_scalable_target(target())
    with pytest.raises(NotFoundError, match="register it first"):
        autoscaling.put_scaling_policy(invocations_policy())


@pytest.mark.parametrize(
    ("request_body", "error", "field"),
    [
        (target(MinCapacity=3, MaxCapacity=2), ValidationError, "MinCapacity"),
        (target(MinCapacity=0, MaxCapacity=2), ValidationError, "MinCapacity"),
        (target(MaxCapacity=2), ValidationError, "MinCapacity"),
        (target(MinCapacity="1", MaxCapacity=2), ValidationError, "MinCapacity"),
        (
            {**target(MinCapacity=1, MaxCapacity=2), "ServiceNamespace": "ecs"},
            ValidationError,
            "ServiceNamespace",
        ),
        (
            {
                **target(MinCapacity=1, MaxCapacity=2),
                "ScalableDimension": "ecs:service:DesiredCount",
            },
            ValidationError,
            "ScalableDimension",
        ),
        (
            {**target(MinCapacity=1, MaxCapacity=2), "ResourceId": "ep/A"},
            ValidationError,
            "ResourceId",
        ),
        (
            {**target(MinCapacity=1, MaxCapacity=2), "ResourceId": "endpoint/nope/variant/A"},
            NotFoundError,
            "ResourceId",
        ),
        (
            {**target(MinCapacity=1, MaxCapacity=2), "ResourceId": "endpoint/ep/variant/Z"},
            NotFoundError,
            "ResourceId",
        ),
    ],
)
def test_bad_targets_are_refused_naming_the_field(
    harness: Harness, request_body: dict[str, Any], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        harness.controller.autoscaling.registry.register_scalable_target(request_body)
    assert getattr(refused.value, "field", None) == field


CONFIG = "TargetTrackingScalingPolicyConfiguration"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {"PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"}},
            f"{CONFIG}.PredefinedMetricSpecification.PredefinedMetricType",
        ),
        (
            {"PredefinedMetricSpecification": {"PredefinedMetricType": "NotAMetric"}},
            f"{CONFIG}.PredefinedMetricSpecification.PredefinedMetricType",
        ),
        ({"TargetValue": -1.0}, f"{CONFIG}.TargetValue"),
        ({"ScaleInCooldown": -5}, f"{CONFIG}.ScaleInCooldown"),
        (
            {
                "CustomizedMetricSpecification": {
                    "MetricName": "CPUUtilization",
                    "Namespace": "/aws/sagemaker/Endpoints",
                    "Statistic": "Average",
                }
            },
            CONFIG,
        ),
    ],
)
def test_bad_policies_are_refused_naming_the_field(
    harness: Harness, config: dict[str, Any], field: str
) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=1, MaxCapacity=2))
    with pytest.raises(ValidationError) as refused:
        autoscaling.put_scaling_policy(invocations_policy(**config))
    assert refused.value.field == field


def test_a_cpu_policy_is_accepted_for_the_variant_it_names(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=1, MaxCapacity=2))
    cpu = {
        "MetricName": "CPUUtilization",
        "Namespace": "/aws/sagemaker/Endpoints",
        "Dimensions": [
            {"Name": "EndpointName", "Value": "ep"},
            {"Name": "VariantName", "Value": "A"},
        ],
        "Statistic": "Average",
    }
    policy = target(
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "CustomizedMetricSpecification": cpu,
        },
    )
    answer = autoscaling.put_scaling_policy(policy)
    assert [a["AlarmName"].split("-")[-6] for a in answer["Alarms"]] == ["AlarmHigh", "AlarmLow"]
    wrong = {**cpu, "Dimensions": [{"Name": "EndpointName", "Value": "other"}]}
    policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"] = wrong
    with pytest.raises(ValidationError, match="does not name the policy's variant"):
        autoscaling.put_scaling_policy(policy)


def test_a_change_held_at_a_bound_is_a_not_scaled_activity(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling.registry
    autoscaling.register_scalable_target(target(MinCapacity=1, MaxCapacity=1))
    autoscaling.put_scaling_policy(invocations_policy(100.0))
    load = Load(harness)
    load.run(per_minute=600, seconds=60)
    load.scale()
    load.scale()  # recorded once, not at every evaluation
    assert counts(harness) == (1, 1)
    query: dict[str, Any] = {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE}
    assert autoscaling.describe_scaling_activities(query)["ScalingActivities"] == []
    (held,) = autoscaling.describe_scaling_activities(
        {**query, "IncludeNotScaledActivities": True}
    )["ScalingActivities"]
    assert held["StatusCode"] == "Failed"
    assert held["NotScaledReasons"] == [
        {"Code": "AlreadyAtMaxCapacity", "CurrentCapacity": 1, "MinCapacity": 1, "MaxCapacity": 1}
    ]


def test_a_replica_added_by_autoscaling_takes_traffic_only_once_it_answers_ping(
    harness: Harness,
) -> None:
    launch = harness.launcher.launch

    def slow_start(request: LaunchRequest) -> FakeProcess:
        harness.launcher.health[request.replica_id] = Health.STARTING
        return launch(request)

    harness.launcher.launch = slow_start  # type: ignore[method-assign]
    (first,) = harness.routed("ep")["A"]
    harness.controller.autoscaling.registry.register_scalable_target(
        target(MinCapacity=2, MaxCapacity=3)
    )
    harness.ticks()
    assert harness.routed("ep")["A"] == [first]  # launched, but /ping does not answer yet
    (variant,) = harness.controller.describe("ep")["ProductionVariants"]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (1, 2)
    assert variant["VariantStatus"][0]["Status"] == "Updating"
    assert harness.status("ep") == "InService"  # it serves all along
    (added,) = [r for r in harness.launcher.alive() if r != first]
    harness.launcher.health[added] = Health.READY
    harness.ticks()
    assert sorted(harness.routed("ep")["A"]) == sorted([first, added])
    assert counts(harness) == (2, 2)


def test_a_cpu_policy_scales_on_the_replicas_utilisation(harness: Harness) -> None:
    autoscaling = harness.controller.autoscaling
    autoscaling.registry.register_scalable_target(target(MinCapacity=1, MaxCapacity=4))
    autoscaling.registry.put_scaling_policy(
        target(
            PolicyName="cpu",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 50.0,
                "CustomizedMetricSpecification": {
                    "MetricName": "CPUUtilization",
                    "Namespace": "/aws/sagemaker/Endpoints",
                    "Statistic": "Average",
                },
                "ScaleOutCooldown": 0,
            },
        )
    )
    load = Load(harness)
    metrics = harness.controller.metrics
    for _ in range(60):  # one replica at 140% (of one core, summed over cores)
        metrics.record_utilization("ep", "A", instances=1, cpu_percent=140.0, memory_percent=5.0)
        load.run(per_minute=0, seconds=1)
    load.scale()
    assert counts(harness) == (3, 3)  # ceil(1 * 140 / 50)


def test_fields_sent_as_null_are_left_as_they_were(harness: Harness) -> None:
    registry = harness.controller.autoscaling.registry
    registry.register_scalable_target(target(MinCapacity=1, MaxCapacity=3))
    registry.register_scalable_target(target(MinCapacity=None, MaxCapacity=2))
    (described,) = registry.describe_scalable_targets({"ServiceNamespace": "sagemaker"})[
        "ScalableTargets"
    ]
    assert (described["MinCapacity"], described["MaxCapacity"]) == (1, 2)
    registry.put_scaling_policy(invocations_policy(ScaleInCooldown=None))
    (policy,) = registry.describe_scaling_policies({"ServiceNamespace": "sagemaker"})[
        "ScalingPolicies"
    ]
    assert policy["PolicyName"] == "invocations"
