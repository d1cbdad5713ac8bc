"""``/training-jobs``: SageMaker's training job operations over HTTP.

Bodies and responses are SageMaker's shapes: ``POST /training-jobs`` takes a
CreateTrainingJob request and answers ``{"TrainingJobArn"}``; ``GET`` of a job is
DescribeTrainingJob's response; the listing takes ListTrainingJobs' parameters as
query parameters. Every rule lives in :class:`modelyard.jobs.TrainingController`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from modelyard.api.deps import ServicesDep
from modelyard.api.routes.resources import ResourceRoutes

router = APIRouter()

jobs = ResourceRoutes(router, "/training-jobs", "TrainingJob", lambda services: services.training)
jobs.create(
    "CreateTrainingJob: the job is validated, recorded and started; it runs in the background.",
    example={"TrainingJobName": "my-job"},
)
jobs.list("ListTrainingJobs: ``TrainingJobSummaries`` (and ``NextToken`` when there are more).")
jobs.describe("DescribeTrainingJob.")
jobs.stop(
    "StopTrainingJob: the job goes Stopping at once, Stopped when its containers have exited."
)
jobs.followed_logs(
    "The containers' output as text lines (several hosts: each line led by ``[algo-i]``).\n\n"
    "``?follow=true`` waits for the job to start and streams until its containers exit.",
    by_host=True,
)


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
