"""``/processing-jobs``: SageMaker's processing job operations over HTTP.

``POST /processing-jobs`` takes a CreateProcessingJob request and answers
``{"ProcessingJobArn"}``; ``GET`` of a job is DescribeProcessingJob's response; the
listing takes ListProcessingJobs' parameters as query parameters; ``/logs`` streams the
containers' output. Every rule lives in :class:`modelyard.jobs.ProcessingController`.
"""

from __future__ import annotations

from fastapi import APIRouter

from modelyard.api.routes.resources import ResourceRoutes

router = APIRouter()

jobs = ResourceRoutes(
    router, "/processing-jobs", "ProcessingJob", lambda services: services.processing
)
jobs.create(
    "CreateProcessingJob: validated, recorded and started; it runs in the background.",
    example={"ProcessingJobName": "my-job"},
)
jobs.list("ListProcessingJobs: ``ProcessingJobSummaries`` (and ``NextToken`` when there are more).")
jobs.describe("DescribeProcessingJob.")
jobs.stop("StopProcessingJob: Stopping at once, Stopped when its containers have exited.")
jobs.followed_logs(
    "The containers' output as text lines (several hosts: each line led by ``[algo-i]``).",
    by_host=True,
)
