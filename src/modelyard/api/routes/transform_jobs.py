"""``/transform-jobs``: SageMaker's batch transform operations over HTTP.

``POST /transform-jobs`` takes a CreateTransformJob request and answers
``{"TransformJobArn"}``; ``GET`` of a job is DescribeTransformJob's response (plus
``TransformProgress``); the listing takes ListTransformJobs' parameters as query
parameters; ``/logs`` streams the job's log (its progress and its replicas' output).
Every rule lives in :class:`modelyard.jobs.transform.TransformController`.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelyard.api.routes.resources import ResourceRoutes

router = APIRouter()

jobs = ResourceRoutes(
    router, "/transform-jobs", "TransformJob", lambda services: services.transform
)
jobs.create(
    "CreateTransformJob: validated, recorded and started; it runs in the background.",
    example={"TransformJobName": "my-job"},
)
jobs.list("ListTransformJobs: ``TransformJobSummaries`` (and ``NextToken`` when there are more).")
jobs.describe("DescribeTransformJob.")
jobs.stop("StopTransformJob: Stopping at once, Stopped when its replicas are gone.")
jobs.followed_logs(
    "The job's log as text lines (replicas' lines led by ``[algo-i]``).", by_host=False
)
