"""``modelyard training-jobs``: create (from a CreateTrainingJob body), list, describe, stop.

Talks to the server over HTTP only, with SageMaker's request and response shapes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from modelyard.cli import jobs
from modelyard.cli.common import JSON_OPTION, client, console, handled, print_json
from modelyard.sdk import training_jobs

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("TrainingJobName", "TrainingJobStatus", "SecondaryStatus", "CreationTime")


@app.command()
@handled
def create(
    body: Path = typer.Option(
        ..., "--body", exists=True, dir_okay=False, help="A CreateTrainingJob request (JSON)."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Stream the job's progress and log until it ends."
    ),
) -> None:
    """Create a training job; exit code 1 if, followed, it does not complete."""
    request = jobs.read_request(body)
    api = client()
    arn = training_jobs.create(api, request)
    console.print(arn, highlight=False)
    if follow:
        name = str(request.get("TrainingJobName"))
        training_jobs.stream_logs(api, name, out=sys.stdout)


@app.command("list")
@handled
def list_jobs(
    name_contains: str | None = jobs.NAME_CONTAINS_OPTION,
    status: str | None = jobs.STATUS_OPTION,
    max_results: int = jobs.MAX_RESULTS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List training jobs, newest first."""
    jobs.list_jobs(
        training_jobs.JOBS,
        _COLUMNS,
        name_contains=name_contains,
        status=status,
        max_results=max_results,
        as_json=as_json,
    )


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The training job's name.")) -> None:
    """Print a job's description (DescribeTrainingJob's JSON)."""
    print_json(client().get_json(f"/training-jobs/{name}"))


@app.command()
@handled
def stop(name: str = typer.Argument(..., help="The training job's name.")) -> None:
    """Stop a running job (it goes Stopping, then Stopped once its containers exit)."""
    jobs.stop_job(training_jobs.JOBS, name)
