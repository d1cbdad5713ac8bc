"""``modelyard transform-jobs``: create (from a CreateTransformJob body or options), list,
describe, stop, logs; ``--wait`` shows a progress bar (objects, records, bytes).

Talks to the server over HTTP only, with SageMaker's request and response shapes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from modelyard.cli import jobs
from modelyard.cli.common import (
    JSON_OPTION,
    client,
    console,
    err_console,
    handled,
    print_json,
)
from modelyard.errors import ValidationError
from modelyard.sdk import transform_jobs
from modelyard.sdk.client import ApiClient

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("TransformJobName", "TransformJobStatus", "CreationTime", "FailureReason")
_POLL_S = 0.5


@app.command()
@handled
def create(
    body: Path | None = typer.Option(
        None, "--body", exists=True, dir_okay=False, help="A CreateTransformJob request (JSON)."
    ),
    name: str | None = typer.Option(None, "--name", help="TransformJobName."),
    model: str | None = typer.Option(None, "--model", help="ModelName."),
    input_uri: str | None = typer.Option(None, "--input", help="s3:// prefix of the input."),
    output_uri: str | None = typer.Option(None, "--output", help="S3OutputPath."),
    content_type: str | None = typer.Option(None, "--content-type"),
    split_type: str | None = typer.Option(None, "--split-type", help="None|Line|RecordIO|..."),
    strategy: str | None = typer.Option(None, "--strategy", help="MultiRecord|SingleRecord."),
    accept: str | None = typer.Option(None, "--accept"),
    assemble_with: str | None = typer.Option(None, "--assemble-with", help="None|Line."),
    instance_type: str = typer.Option("local", "--instance-type"),
    instance_count: int = typer.Option(1, "--instance-count", min=1),
    wait: bool = typer.Option(False, "--wait", "-w", help="Show progress until the job ends."),
) -> None:
    """Create a transform job; exit code 1 if, waited for, it does not complete."""
    if body is not None:
        request = jobs.read_request(body)
    else:
        request = _request_from_options(
            name,
            model,
            input_uri,
            output_uri,
            content_type,
            split_type,
            strategy,
            accept,
            assemble_with,
            instance_type,
            instance_count,
        )
    api = client()
    arn = transform_jobs.create(api, request)
    console.print(arn, highlight=False)
    if wait:
        _wait_with_progress(api, str(request.get("TransformJobName")))


def _request_from_options(
    name: str | None,
    model: str | None,
    input_uri: str | None,
    output_uri: str | None,
    content_type: str | None,
    split_type: str | None,
    strategy: str | None,
    accept: str | None,
    assemble_with: str | None,
    instance_type: str,
    instance_count: int,
) -> dict[str, Any]:
    for option, value in (
        ("--name", name),
        ("--model", model),
        ("--input", input_uri),
        ("--output", output_uri),
    ):
        if not value:
            raise ValidationError(f"{option} is required without --body", field=option)
    transform_input: dict[str, Any] = {
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}}
    }
    if content_type:
        transform_input["ContentType"] = content_type
    if split_type:
        transform_input["SplitType"] = split_type
    output: dict[str, Any] = {"S3OutputPath": output_uri}
    if accept:
        output["Accept"] = accept
    if assemble_with:
        output["AssembleWith"] = assemble_with
    request: dict[str, Any] = {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    if strategy:
        request["BatchStrategy"] = strategy
    return request


def _wait_with_progress(api: ApiClient, name: str) -> None:
    """A Rich bar of the job's objects (records and megabytes beside it) until it ends."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(name, total=None, detail="starting")
        while True:
            described = transform_jobs.describe(api, name)
            status = described["TransformJobStatus"]
            progress = described.get("TransformProgress") or {}
            if progress:
                bar.update(
                    task,
                    total=progress["ObjectsTotal"],
                    completed=progress["ObjectsDone"],
                    detail=(
                        f"{progress['ObjectsDone']}/{progress['ObjectsTotal']} objects, "
                        f"{progress['RecordsDone']} records, {_size(progress['BytesDone'])}/"
                        f"{_size(progress['BytesTotal'])}  {status}"
                    ),
                )
            else:
                bar.update(task, detail=status)
            if status in transform_jobs.TERMINAL:
                break
            time.sleep(_POLL_S)
    transform_jobs.check_status(described)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@app.command("list")
@handled
def list_jobs(
    name_contains: str | None = jobs.NAME_CONTAINS_OPTION,
    status: str | None = jobs.STATUS_OPTION,
    max_results: int = jobs.MAX_RESULTS_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List transform jobs, newest first."""
    jobs.list_jobs(
        transform_jobs.JOBS,
        _COLUMNS,
        name_contains=name_contains,
        status=status,
        max_results=max_results,
        as_json=as_json,
    )


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The transform job's name.")) -> None:
    """Print a job's description (DescribeTransformJob's JSON, with TransformProgress)."""
    print_json(client().get_json(f"/transform-jobs/{name}"))


@app.command()
@handled
def wait(name: str = typer.Argument(..., help="The transform job's name.")) -> None:
    """Show the job's progress until it ends; exit code 1 unless Completed or Stopped."""
    _wait_with_progress(client(), name)


@app.command()
@handled
def stop(name: str = typer.Argument(..., help="The transform job's name.")) -> None:
    """Stop a running job (Stopping, then Stopped once its replicas are gone)."""
    jobs.stop_job(transform_jobs.JOBS, name)


@app.command()
@handled
def logs(
    name: str = typer.Argument(..., help="The transform job's name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Stream until the job ends."),
) -> None:
    """Print the job's log: progress, events, and its replicas' output."""
    jobs.print_lines(transform_jobs.log_lines(client(), name, follow=follow))
