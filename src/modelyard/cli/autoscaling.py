"""``modelyard autoscaling``: endpoint autoscaling from the shell.

``enable ENDPOINT --variant V --min 1 --max 4 --target-invocations 100`` registers the
variant as a scalable target and puts target-tracking policies on it (invocations per
replica per minute and/or CPU utilisation); ``disable`` deregisters it; ``targets``,
``policies`` and ``activities`` list what Application Auto Scaling's describes return.
Over HTTP only.
"""

from __future__ import annotations

from typing import Any

import typer

from modelyard.cli.common import JSON_OPTION, client, console, handled, print_listing
from modelyard.errors import ValidationError
from modelyard.sdk.autoscaling import AutoscalingClient

app = typer.Typer(no_args_is_help=True)

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_VARIANT = typer.Option("AllTraffic", "--variant", help="The production variant to scale.")


def _resource_id(endpoint: str, variant: str) -> str:
    return f"endpoint/{endpoint}/variant/{variant}"


def _api() -> AutoscalingClient:
    return AutoscalingClient(client=client())


def _policy(
    endpoint: str,
    variant: str,
    name: str,
    target: float,
    metric: dict[str, Any],
    cooldowns: dict[str, int],
) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": _resource_id(endpoint, variant),
        "ScalableDimension": DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {"TargetValue": target, **metric, **cooldowns},
    }


@app.command()
@handled
def enable(
    endpoint: str = typer.Argument(..., help="The endpoint's name."),
    variant: str = _VARIANT,
    min_capacity: int = typer.Option(..., "--min", help="Fewest replicas."),
    max_capacity: int = typer.Option(..., "--max", help="Most replicas."),
    target_invocations: float | None = typer.Option(
        None, "--target-invocations", help="Invocations per replica per minute to hold."
    ),
    target_cpu: float | None = typer.Option(
        None, "--target-cpu", help="CPUUtilization (% of one core, summed over cores) to hold."
    ),
    scale_out_cooldown: int = typer.Option(300, "--scale-out-cooldown", help="Seconds."),
    scale_in_cooldown: int = typer.Option(300, "--scale-in-cooldown", help="Seconds."),
) -> None:
    """Scale a variant between --min and --max replicas, tracking the targets given."""
    api = _api()
    resource_id = _resource_id(endpoint, variant)
    api.register_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=resource_id,
        ScalableDimension=DIMENSION,
        MinCapacity=min_capacity,
        MaxCapacity=max_capacity,
    )
    cooldowns = {"ScaleOutCooldown": scale_out_cooldown, "ScaleInCooldown": scale_in_cooldown}
    policies: list[dict[str, Any]] = []
    if target_invocations is not None:
        metric: dict[str, Any] = {
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            }
        }
        policies.append(
            _policy(endpoint, variant, "invocations", target_invocations, metric, cooldowns)
        )
    if target_cpu is not None:
        metric = {
            "CustomizedMetricSpecification": {
                "MetricName": "CPUUtilization",
                "Namespace": "/aws/sagemaker/Endpoints",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": variant},
                ],
                "Statistic": "Average",
            }
        }
        policies.append(_policy(endpoint, variant, "cpu", target_cpu, metric, cooldowns))
    for policy in policies:
        api.put_scaling_policy(**policy)
    names = ", ".join(p["PolicyName"] for p in policies) or "no policy"
    console.print(
        f"{resource_id} scales between {min_capacity} and {max_capacity} replicas ({names})",
        highlight=False,
    )


@app.command()
@handled
def disable(
    endpoint: str = typer.Argument(..., help="The endpoint's name."),
    variant: str = _VARIANT,
) -> None:
    """Deregister the variant: its policies go, its replica count stays as it is."""
    _api().deregister_scalable_target(
        ServiceNamespace=NAMESPACE,
        ResourceId=_resource_id(endpoint, variant),
        ScalableDimension=DIMENSION,
    )
    console.print(f"{_resource_id(endpoint, variant)} no longer scales", highlight=False)


@app.command()
@handled
def targets(as_json: bool = JSON_OPTION) -> None:
    """Scalable targets: each variant's bounds."""
    found = _api().describe_scalable_targets(ServiceNamespace=NAMESPACE)["ScalableTargets"]
    print_listing(
        found,
        ("ResourceId", "MinCapacity", "MaxCapacity", "CreationTime"),
        as_json=as_json,
        title="Scalable targets",
    )


@app.command()
@handled
def policies(as_json: bool = JSON_OPTION) -> None:
    """Scaling policies: what each tracks and the value it holds."""
    found = _api().describe_scaling_policies(ServiceNamespace=NAMESPACE)["ScalingPolicies"]
    rows = [
        {
            **policy,
            "TargetValue": policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"],
        }
        for policy in found
    ]
    print_listing(
        rows,
        ("PolicyName", "ResourceId", "PolicyType", "TargetValue"),
        as_json=as_json,
        title="Scaling policies",
    )


@app.command()
@handled
def activities(
    endpoint: str | None = typer.Argument(None, help="Only this endpoint's variant."),
    variant: str = _VARIANT,
    as_json: bool = JSON_OPTION,
) -> None:
    """Scaling activities, newest first: what changed, why, when, and whether it is done."""
    query: dict[str, Any] = {"ServiceNamespace": NAMESPACE}
    if endpoint is not None:
        query["ResourceId"] = _resource_id(endpoint, variant)
    elif variant != "AllTraffic":
        raise ValidationError("--variant needs an ENDPOINT", field="variant")
    found = _api().describe_scaling_activities(**query)["ScalingActivities"]
    print_listing(
        found,
        ("StartTime", "ResourceId", "StatusCode", "Description", "Cause"),
        as_json=as_json,
        title="Scaling activities",
    )
