"""``/compilation-jobs``: SageMaker's compilation job operations over HTTP.

``POST /compilation-jobs`` takes a CreateCompilationJob request and answers
``{"CompilationJobArn"}``; ``GET`` of a job is DescribeCompilationJob's response
(plus ``CompilationReport``, the verification); the listing takes
ListCompilationJobs' parameters. Rules live in
:class:`modelyard.edge.compilation.CompilationController`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelyard.api.routes.resources import ResourceRoutes

router = APIRouter()

jobs = ResourceRoutes(
    router, "/compilation-jobs", "CompilationJob", lambda services: services.edge.compilation
)
jobs.create("CreateCompilationJob: validated, recorded and run in the background.")
jobs.list("ListCompilationJobs: ``CompilationJobSummaries`` (and ``NextToken``).")
jobs.describe("DescribeCompilationJob, with ``CompilationReport``.")
jobs.stop("StopCompilationJob.")
jobs.delete("DeleteCompilationJob (an ended job only).", no_content=True)
jobs.finished_logs("The compiler's output.")


@router.get("/edge/targets")
def list_targets() -> dict[str, Any]:
    """The compilation targets (``edge/targets.json``)."""
    from modelyard.edge.targets import targets

    return {"Targets": [target.to_dict() for target in targets().values()]}
