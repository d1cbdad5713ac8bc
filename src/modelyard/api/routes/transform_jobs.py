"""``/transform-jobs``: SageMaker's batch transform operations over HTTP.

``POST /transform-jobs`` takes a CreateTransformJob request and answers
``{"TransformJobArn"}``; ``GET`` of a job is DescribeTransformJob's response (plus
``TransformProgress``); the listing takes ListTransformJobs' parameters as query
parameters; ``/logs`` streams the job's log (its progress and its replicas' output).
Every rule lives in :class:`modelyard.jobs.transform.TransformController`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/transform-jobs", status_code=201)
def create_transform_job(
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"TransformJobName": "my-job"}]),
) -> dict[str, Any]:
    """CreateTransformJob: validated, recorded and started; it runs in the background."""
    record = services.transform.create(body)
    return {"TransformJobArn": record.arn}


@router.get("/transform-jobs")
def list_transform_jobs(
    services: ServicesDep,
    name_contains: str | None = Query(None, alias="NameContains"),
    status_equals: str | None = Query(None, alias="StatusEquals"),
    sort_by: Literal["Name", "CreationTime", "Status"] = Query("CreationTime", alias="SortBy"),
    sort_order: Literal["Ascending", "Descending"] = Query("Descending", alias="SortOrder"),
    max_results: int = Query(100, ge=1, le=100, alias="MaxResults"),
    next_token: str | None = Query(None, alias="NextToken"),
    creation_time_after: datetime | None = Query(None, alias="CreationTimeAfter"),
    creation_time_before: datetime | None = Query(None, alias="CreationTimeBefore"),
) -> dict[str, Any]:
    """ListTransformJobs: ``TransformJobSummaries`` (and ``NextToken`` when there are more)."""
    return services.transform.list_summaries(
        status=status_equals,
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/transform-jobs/{name}")
def describe_transform_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeTransformJob."""
    return services.transform.describe(name)


@router.post("/transform-jobs/{name}/stop")
def stop_transform_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """StopTransformJob: Stopping at once, Stopped when its replicas are gone."""
    services.transform.stop(name)
    return {}


@router.get("/transform-jobs/{name}/logs")
def transform_job_logs(
    name: str,
    services: ServicesDep,
    follow: bool = False,
    since_line: int = Query(0, ge=0),
) -> StreamingResponse:
    """The job's log as text lines (replicas' lines led by ``[algo-i]``)."""
    lines = services.transform.logs(name, follow=follow, since_line=since_line)

    def body() -> Iterator[str]:
        for line in lines:
            yield f"{line}\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")
