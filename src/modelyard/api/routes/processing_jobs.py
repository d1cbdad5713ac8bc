"""``/processing-jobs``: SageMaker's processing job operations over HTTP.

``POST /processing-jobs`` takes a CreateProcessingJob request and answers
``{"ProcessingJobArn"}``; ``GET`` of a job is DescribeProcessingJob's response; the
listing takes ListProcessingJobs' parameters as query parameters; ``/logs`` streams the
containers' output. Every rule lives in :class:`modelyard.jobs.ProcessingController`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/processing-jobs", status_code=201)
def create_processing_job(
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"ProcessingJobName": "my-job"}]),
) -> dict[str, Any]:
    """CreateProcessingJob: validated, recorded and started; it runs in the background."""
    record = services.processing.create(body)
    return {"ProcessingJobArn": record.arn}


@router.get("/processing-jobs")
def list_processing_jobs(
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
    """ListProcessingJobs: ``ProcessingJobSummaries`` (and ``NextToken`` when there are more)."""
    return services.processing.list_summaries(
        status=status_equals,
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/processing-jobs/{name}")
def describe_processing_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeProcessingJob."""
    return services.processing.describe(name)


@router.post("/processing-jobs/{name}/stop")
def stop_processing_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """StopProcessingJob: Stopping at once, Stopped when its containers have exited."""
    services.processing.stop(name)
    return {}


@router.get("/processing-jobs/{name}/logs")
def processing_job_logs(
    name: str,
    services: ServicesDep,
    follow: bool = False,
    since_line: int = Query(0, ge=0),
    host: str | None = None,
) -> StreamingResponse:
    """The containers' output as text lines (several hosts: each line led by ``[algo-i]``)."""
    lines = services.processing.logs(name, follow=follow, since_line=since_line, host=host)

    def body() -> Iterator[str]:
        for line in lines:
            yield f"{line}\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")
