"""``/compilation-jobs``: SageMaker's compilation job operations over HTTP.

``POST /compilation-jobs`` takes a CreateCompilationJob request and answers
``{"CompilationJobArn"}``; ``GET`` of a job is DescribeCompilationJob's response
(plus ``CompilationReport``, the verification); the listing takes
ListCompilationJobs' parameters. Rules live in
:class:`modelyard.edge.compilation.CompilationController`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from fastapi.responses import PlainTextResponse

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/compilation-jobs", status_code=201)
def create_compilation_job(
    services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """CreateCompilationJob: validated, recorded and run in the background."""
    record = services.edge.compilation.create(body)
    return {"CompilationJobArn": record.arn}


@router.get("/compilation-jobs")
def list_compilation_jobs(
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
    """ListCompilationJobs: ``CompilationJobSummaries`` (and ``NextToken``)."""
    return services.edge.compilation.list_summaries(
        status=status_equals,
        name_contains=name_contains,
        creation_time_after=creation_time_after,
        creation_time_before=creation_time_before,
        sort_by=sort_by,
        sort_order=sort_order,
        max_results=max_results,
        next_token=next_token,
    )


@router.get("/compilation-jobs/{name}")
def describe_compilation_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeCompilationJob, with ``CompilationReport``."""
    return services.edge.compilation.describe(name)


@router.post("/compilation-jobs/{name}/stop")
def stop_compilation_job(name: str, services: ServicesDep) -> dict[str, Any]:
    """StopCompilationJob."""
    services.edge.compilation.stop(name)
    return {}


@router.delete("/compilation-jobs/{name}", status_code=204)
def delete_compilation_job(name: str, services: ServicesDep) -> None:
    """DeleteCompilationJob (an ended job only)."""
    services.edge.compilation.delete(name)


@router.get("/compilation-jobs/{name}/logs", response_class=PlainTextResponse)
def compilation_job_logs(name: str, services: ServicesDep) -> str:
    """The compiler's output."""
    return "".join(f"{line}\n" for line in services.edge.compilation.logs(name))


@router.get("/edge/targets")
def list_targets() -> dict[str, Any]:
    """The compilation targets (``edge/targets.json``)."""
    from modelyard.edge.targets import targets

    return {"Targets": [target.to_dict() for target in targets().values()]}
