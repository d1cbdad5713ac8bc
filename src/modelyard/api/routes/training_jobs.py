"""``/training-jobs``: SageMaker's training job operations over HTTP.

Bodies and responses are SageMaker's shapes: ``POST /training-jobs`` takes a
CreateTrainingJob request and answers ``{"TrainingJobArn"}``; ``GET`` of a job is
DescribeTrainingJob's response; the listing takes ListTrainingJobs' parameters as
query parameters. Every rule lives in :class:`modelyard.jobs.TrainingController`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/training-jobs", status_code=201)
def create_training_job(
    services: ServicesDep,
    body: dict[str, Any] = Body(..., examples=[{"TrainingJobName": "my-job"}]),
) -> dict[str, Any]:
    """CreateTrainingJob: the job is validated, recorded and started; it runs in the background."""
    record = services.training.create(body)
    return {"TrainingJobArn": record.arn}


@router.get("/training-jobs")
def list_training_jobs(
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
    """ListTrainingJobs: ``TrainingJobSummaries`` (and ``NextToken`` when there are more)."""
    return services.training.list_summaries(
        status=status_equals,
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/training-jobs/{name}")
def describe_training_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeTrainingJob."""
    return services.training.describe(name)


@router.post("/training-jobs/{name}/stop")
def stop_training_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """StopTrainingJob: the job goes Stopping at once, Stopped when its containers have exited."""
    services.training.stop(name)
    return {}


@router.get("/training-jobs/{name}/logs")
def training_job_logs(
    name: str,
    services: ServicesDep,
    follow: bool = False,
    since_line: int = Query(0, ge=0),
    host: str | None = None,
) -> StreamingResponse:
    """The containers' output as text lines (several hosts: each line led by ``[algo-i]``).

    ``?follow=true`` waits for the job to start and streams until its containers exit.
    """
    lines = services.training.logs(name, follow=follow, since_line=since_line, host=host)

    def body() -> Iterator[str]:
        for line in lines:
            yield f"{line}\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")


@router.get("/training-jobs/{name}/metrics")
def training_job_metrics(
    name: str,
    services: ServicesDep,
    metric_name: str | None = Query(None, alias="MetricName"),
) -> dict[str, Any]:
    """Every point of the job's metrics (of one, with ``MetricName``), by name then time."""
    points = services.training.metrics(name, metric_name)
    return {
        "Metrics": [
            {"MetricName": p.name, "Timestamp": p.timestamp, "Value": p.value} for p in points
        ]
    }
