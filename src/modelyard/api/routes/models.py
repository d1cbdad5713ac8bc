"""``/models``: SageMaker's model operations over HTTP (CreateModel, DescribeModel, ...).

Every rule lives in :class:`modelyard.hosting.ModelRegistry`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/models", status_code=201)
def create_model(
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"ModelName": "my-model"}]),
) -> dict[str, Any]:
    """CreateModel: ``{"ModelArn"}``."""
    record = services.endpoints.models.create(body)
    return {"ModelArn": record.arn}


@router.get("/models")
def list_models(
    services: ServicesDep,
    name_contains: str | None = Query(None, alias="NameContains"),
    sort_by: Literal["Name", "CreationTime"] = Query("CreationTime", alias="SortBy"),
    sort_order: Literal["Ascending", "Descending"] = Query("Descending", alias="SortOrder"),
    max_results: int = Query(100, ge=1, le=100, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
    creation_time_after: datetime | None = Query(None, alias="CreationTimeAfter"),
    creation_time_before: datetime | None = Query(None, alias="CreationTimeBefore"),
) -> dict[str, Any]:
    """ListModels: ``Models`` (and ``NextToken``)."""
    return services.endpoints.models.list_summaries(
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/models/{name}")
def describe_model(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeModel."""
    return services.endpoints.models.describe(name)


@router.delete("/models/{name}")
def delete_model(name: str, services: ServicesDep) -> dict[str, Any]:
    """DeleteModel (endpoints serving it keep serving)."""
    services.endpoints.models.delete(name)
    return {}
