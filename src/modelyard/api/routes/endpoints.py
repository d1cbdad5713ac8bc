"""``/endpoints``: SageMaker's endpoint operations over HTTP.

``POST /endpoints/{name}/invocations`` (InvokeEndpoint) is not here: the router's raw
ASGI front door answers it before FastAPI (:mod:`modelyard.hosting.router_asgi`).
Every rule lives in :class:`modelyard.hosting.EndpointController`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep
from modelyard.api.routes.resources import ResourceRoutes

router = APIRouter()


endpoints = ResourceRoutes(router, "/endpoints", "Endpoint", lambda services: services.endpoints)
endpoints.create(
    "CreateEndpoint: ``Creating`` at once, ``InService`` once every replica answers /ping.",
    example={"EndpointName": "my-endpoint", "EndpointConfigName": "my-config"},
)
endpoints.list("ListEndpoints: ``Endpoints`` (and ``NextToken``).")
endpoints.describe("DescribeEndpoint: each variant's weights, replica counts and status.")
endpoints.delete("DeleteEndpoint: traffic stops at once, replicas are stopped, then it is gone.")


@router.post("/endpoints/{name}/update")
def update_endpoint(
    name: str,
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"EndpointConfigName": "my-new-config"}]),
) -> dict[str, Any]:
    """UpdateEndpoint: deploy another endpoint config (``Updating`` until it serves); its
    ``DeploymentConfig`` shifts traffic blue/green (all at once, canary, linear), bakes, and
    rolls back by itself when an alarm it names is in ALARM."""
    record = services.endpoints.update(name, body)
    return {"EndpointArn": record.arn}


@router.post("/endpoints/{name}/weights-and-capacities")
def update_weights_and_capacities(
    name: str,
    services: ServicesDep,
    body: dict[str, Any] = Body(
        ...,
        examples=[
            {
                "DesiredWeightsAndCapacities": [
                    {"VariantName": "AllTraffic", "DesiredWeight": 1.0, "DesiredInstanceCount": 2}
                ]
            }
        ],
    ),
) -> dict[str, Any]:
    """UpdateEndpointWeightsAndCapacities: weights at once, replica counts by the controller."""
    record = services.endpoints.update_weights_and_capacities(name, body)
    return {"EndpointArn": record.arn}


@router.get("/endpoints/{name}/replicas")
def endpoint_replicas(name: str, services: ServicesDep) -> dict[str, Any]:
    """The endpoint's replicas: id, variant, status, port, process id."""
    return {"Replicas": services.endpoints.replicas(name)}


@router.get("/endpoints/{name}/metrics")
def endpoint_metrics(
    name: str,
    services: ServicesDep,
    metric_name: str | None = Query(None, alias="MetricName"),
    variant_name: str | None = Query(None, alias="VariantName"),
) -> dict[str, Any]:
    """Per-minute datapoints of SageMaker's endpoint metrics, the current minute included."""
    return {
        "Metrics": services.endpoints.metric_points(name, metric=metric_name, variant=variant_name)
    }


@router.get("/endpoints/{name}/shadow-report")
def shadow_report(name: str, services: ServicesDep) -> dict[str, Any]:
    """Production vs shadow: agreement rate, latency p50/p99 side by side, error counts."""
    return services.endpoints.shadow_report(name)


@router.post("/endpoints/{name}/rollback")
def rollback_endpoint(name: str, services: ServicesDep) -> dict[str, Any]:
    """Back to the previous config: at once during an update (the old fleet is warm), else by
    redeploying it; 409 when there is nothing to roll back to."""
    return services.endpoints.rollback(name)
