"""``/endpoint-configs``: SageMaker's endpoint config operations over HTTP.

Every rule lives in :class:`modelyard.hosting.EndpointConfigRegistry`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/endpoint-configs", status_code=201)
def create_endpoint_config(
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"EndpointConfigName": "my-config"}]),
) -> dict[str, Any]:
    """CreateEndpointConfig: ``{"EndpointConfigArn"}``."""
    record = services.endpoints.configs.create(body)
    return {"EndpointConfigArn": record.arn}


@router.get("/endpoint-configs")
def list_endpoint_configs(
    services: ServicesDep,
    name_contains: str | None = Query(None, alias="NameContains"),
    sort_by: Literal["Name", "CreationTime"] = Query("CreationTime", alias="SortBy"),
    sort_order: Literal["Ascending", "Descending"] = Query("Descending", alias="SortOrder"),
    max_results: int = Query(100, ge=1, le=100, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
    creation_time_after: datetime | None = Query(None, alias="CreationTimeAfter"),
    creation_time_before: datetime | None = Query(None, alias="CreationTimeBefore"),
) -> dict[str, Any]:
    """ListEndpointConfigs: ``EndpointConfigs`` (and ``NextToken``)."""
    return services.endpoints.configs.list_summaries(
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/endpoint-configs/{name}")
def describe_endpoint_config(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeEndpointConfig."""
    return services.endpoints.configs.describe(name)


@router.delete("/endpoint-configs/{name}")
def delete_endpoint_config(name: str, services: ServicesDep) -> dict[str, Any]:
    """DeleteEndpointConfig (endpoints deployed from it keep serving)."""
    services.endpoints.configs.delete(name)
    return {}
