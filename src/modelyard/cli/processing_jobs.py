"""``modelyard processing-jobs``: create (from a CreateProcessingJob body), list, describe, stop.

Talks to the server over HTTP only, with SageMaker's request and response shapes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from modelyard.cli.common import JSON_OPTION, client, console, handled, print_json, print_listing
from modelyard.errors import ValidationError
from modelyard.sdk import processing_jobs

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("ProcessingJobName", "ProcessingJobStatus", "CreationTime", "FailureReason")


@app.command()
@handled
def create(
    body: Path = typer.Option(
        ..., "--body", exists=True, dir_okay=False, help="A CreateProcessingJob request (JSON)."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Stream the job's log until it ends."
    ),
) -> None:
    """Create a processing job; exit code 1 if, followed, it does not complete."""
    try:
        request = json.loads(body.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{body} is not JSON: {exc}", field="body") from exc
    api = client()
    arn = processing_jobs.create(api, request)
    console.print(arn, highlight=False)
    if follow:
        processing_jobs.stream_logs(api, str(request.get("ProcessingJobName")), out=sys.stdout)


@app.command("list")
@handled
def list_jobs(
    name_contains: str | None = typer.Option(None, "--name-contains", help="Part of the name."),
    status: str | None = typer.Option(None, "--status", help="InProgress, Completed, ..."),
    max_results: int = typer.Option(100, "--max-results", min=1, max=100),
    as_json: bool = JSON_OPTION,
) -> None:
    """List processing jobs, newest first."""
    found = processing_jobs.list_jobs(
        client(), NameContains=name_contains, StatusEquals=status, MaxResults=max_results
    )
    summaries: list[dict[str, Any]] = found["ProcessingJobSummaries"]
    print_listing(summaries, _COLUMNS, as_json=as_json, title="Processing jobs")


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The processing job's name.")) -> None:
    """Print a job's description (DescribeProcessingJob's JSON)."""
    print_json(client().get_json(f"/processing-jobs/{name}"))


@app.command()
@handled
def stop(name: str = typer.Argument(..., help="The processing job's name.")) -> None:
    """Stop a running job (it goes Stopping, then Stopped once its containers exit)."""
    processing_jobs.stop(client(), name)
    console.print(f"stopping {name}", highlight=False)
