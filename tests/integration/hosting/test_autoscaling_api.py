"""Autoscaling requests over HTTP: refused with a 400/404 naming the field, never a trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelyard.config import Settings
from tests.fixtures.asgi_server import serve_modelyard

DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CONFIG = "TargetTrackingScalingPolicyConfiguration"


@pytest.fixture
def http(tmp_path: Path) -> Iterator[httpx.Client]:
    with serve_modelyard(Settings(home=tmp_path)) as url, httpx.Client(base_url=url) as client:
        yield client


def target(**extra: Any) -> dict[str, Any]:
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": DIMENSION,
        "MinCapacity": 1,
        "MaxCapacity": 2,
        **extra,
    }


def refused(response: httpx.Response, status: int, field: str | None, words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.get("field") == field, error
    assert words in error["message"], error


def test_bad_scalable_targets_are_refused_naming_the_field(http: httpx.Client) -> None:
    post = http.post
    path = "/autoscaling/scalable-targets"
    refused(
        post(path, json=target(MinCapacity=3)), 400, "MinCapacity", "MinCapacity <= MaxCapacity"
    )
    refused(post(path, json=target(MinCapacity="one")), 400, "MinCapacity", "must be an integer")
    refused(post(path, json=target(ServiceNamespace="ecs")), 400, "ServiceNamespace", "sagemaker")
    refused(post(path, json=target(ServiceNamespace="nope")), 400, "ServiceNamespace", "one of")
    refused(
        post(path, json=target(ScalableDimension="ecs:service:DesiredCount")),
        400,
        "ScalableDimension",
        DIMENSION,
    )
    refused(post(path, json=target(ResourceId="ep")), 400, "ResourceId", "endpoint/<EndpointName>")
    refused(post(path, json=target(Colour="red")), 400, "Colour", "unknown field")
    refused(post(path, json=target()), 404, "ResourceId", "endpoint 'ep' does not exist")
    refused(post(path, json=[1]), 400, "", "valid dictionary")
    refused(
        http.delete(path, params={"ResourceId": "endpoint/ep/variant/AllTraffic"}),
        404,
        "ResourceId",
        "does not exist",
    )


def test_bad_policies_and_describes_are_refused_naming_the_field(http: httpx.Client) -> None:
    policy = {
        "PolicyName": "p",
        "ServiceNamespace": "sagemaker",
        "ResourceId": "endpoint/ep/variant/AllTraffic",
        "ScalableDimension": DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        CONFIG: {
            "TargetValue": 100.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"},
        },
    }
    path = "/autoscaling/scaling-policies"
    refused(
        http.post(path, json=policy),
        400,
        f"{CONFIG}.PredefinedMetricSpecification.PredefinedMetricType",
        "SageMakerVariantInvocationsPerInstance",
    )
    refused(
        http.post(path, json={**policy, "PolicyType": "StepScaling"}),
        400,
        "PolicyType",
        "TargetTrackingScaling",
    )
    refused(http.post(path, json={**policy, CONFIG: {}}), 400, f"{CONFIG}.TargetValue", "required")
    good = {
        **policy,
        CONFIG: {
            "TargetValue": 100.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
    }
    refused(http.post(path, json=good), 404, "ResourceId", "does not exist")
    refused(
        http.get("/autoscaling/scaling-activities", params={"ServiceNamespace": "ecs"}),
        400,
        "ServiceNamespace",
        "sagemaker",
    )
    for listing, key in (
        ("scalable-targets", "ScalableTargets"),
        ("scaling-policies", "ScalingPolicies"),
        ("scaling-activities", "ScalingActivities"),
    ):
        answer = http.get(f"/autoscaling/{listing}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {key: []}
