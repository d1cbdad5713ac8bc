"""``/edge-packaging-jobs`` (SageMaker's edge packaging operations) and ``/edge/signing-keys``."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/edge-packaging-jobs", status_code=201)
def create_edge_packaging_job(
    services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """CreateEdgePackagingJob (answers the job's ARN; SageMaker answers nothing)."""
    record = services.edge.packaging.create(body)
    return {"EdgePackagingJobArn": record.arn}


@router.get("/edge-packaging-jobs")
def list_edge_packaging_jobs(
    services: ServicesDep,
    name_contains: str | None = Query(None, alias="NameContains"),
    status_equals: str | None = Query(None, alias="StatusEquals"),
    sort_by: Literal["Name", "CreationTime", "Status"] = Query("CreationTime", alias="SortBy"),
    sort_order: Literal["Ascending", "Descending"] = Query("Descending", alias="SortOrder"),
    max_results: int = Query(100, ge=1, le=100, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
) -> dict[str, Any]:
    """ListEdgePackagingJobs."""
    return services.edge.packaging.list_summaries(
        status=status_equals,
        name_contains=name_contains,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/edge-packaging-jobs/{name}")
def describe_edge_packaging_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeEdgePackagingJob (with ``PackageSha256`` and the manifest)."""
    return services.edge.packaging.describe(name)


@router.post("/edge-packaging-jobs/{name}/stop")
def stop_edge_packaging_job(name: str, services: ServicesDep) -> dict[str, Any]:
    services.edge.packaging.stop(name)
    return {}


@router.post("/edge/signing-keys", status_code=201)
def create_signing_key(services: ServicesDep, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """A new Ed25519 key ``{"KeyName"}``; answers its public key (give it to devices)."""
    name = str(body.get("KeyName", ""))
    return {"KeyName": name, "PublicKey": services.edge.packaging.keys.create(name)}


@router.get("/edge/signing-keys")
def list_signing_keys(services: ServicesDep) -> dict[str, Any]:
    return {"SigningKeys": services.edge.packaging.keys.list()}
