"""``modelyard compilation-jobs``: compile models to ONNX for edge targets, list, describe, stop.

``create`` takes a CreateCompilationJob body (``--body``) or the common fields as
options; ``--wait`` returns when the job has ended, printing its verification.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from modelyard.cli import common, jobs
from modelyard.cli.common import JSON_OPTION, console, handled, print_json, print_listing
from modelyard.errors import ValidationError
from modelyard.sdk import compile as compilation

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("CompilationJobName", "CompilationJobStatus", "CompilationTargetDevice", "CreationTime")


@app.command()
@handled
def create(
    body: Path | None = typer.Option(
        None, "--body", exists=True, dir_okay=False, help="A CreateCompilationJob request (JSON)."
    ),
    name: str | None = typer.Option(None, "--name", help="CompilationJobName."),
    model: str | None = typer.Option(None, "--model", help="S3 URI of the model artifact."),
    framework: str | None = typer.Option(
        None, "--framework", help="SKLEARN, XGBOOST, PYTORCH, ONNX."
    ),
    framework_version: str | None = typer.Option(None, "--framework-version"),
    input_shape: str | None = typer.Option(
        None, "--input-shape", help="DataInputConfig, e.g. '{\"input\": [1, 4]}'."
    ),
    output: str | None = typer.Option(None, "--output", help="S3OutputLocation."),
    target: str = typer.Option("onnx-cpu-x86_64", "--target", help="Target or TargetDevice."),
    quantization: str = typer.Option(
        "none", "--quantization", help="none, int8-dynamic, int8-static."
    ),
    sample: str | None = typer.Option(
        None, "--sample", help="S3 URI of a data sample (.npy/.npz/.csv)."
    ),
    wait: bool = typer.Option(False, "--wait", help="Return when the job has ended."),
) -> None:
    """Create a compilation job; with --wait, exit code 1 unless it completes."""
    if body is not None:
        request = jobs.read_request(body)
    else:
        missing = [
            flag
            for flag, value in (
                ("--name", name),
                ("--model", model),
                ("--framework", framework),
                ("--output", output),
            )
            if not value
        ]
        if missing:
            raise ValidationError(f"give --body, or {', '.join(missing)}")
        options: dict[str, Any] = {"Quantization": quantization}
        if sample:
            options["Sample"] = sample
        request = compilation.compilation_request(
            str(name),
            str(model),
            target_instance_family=target,
            input_shape=input_shape,
            output_path=str(output),
            framework=str(framework),
            framework_version=framework_version,
            compiler_options=options,
        )
    api = common.client()
    console.print(compilation.create(api, request), highlight=False)
    if wait:
        described = compilation.wait(api, str(request.get("CompilationJobName")))
        verification = (described.get("CompilationReport") or {}).get("Verification") or {}
        console.print(
            f"COMPLETED: {described['ModelArtifacts']['S3ModelArtifacts']} "
            f"(max abs error {verification.get('MaxAbsoluteError')}, "
            f"label agreement {verification.get('LabelAgreement')})",
            highlight=False,
        )


@app.command("list")
@handled
def list_jobs(
    name_contains: str | None = typer.Option(None, "--name-contains"),
    status: str | None = typer.Option(None, "--status", help="INPROGRESS, COMPLETED, ..."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List compilation jobs, newest first."""
    found = common.client().get_json(
        "/compilation-jobs", NameContains=name_contains, StatusEquals=status
    )
    rows: list[dict[str, Any]] = found["CompilationJobSummaries"]
    print_listing(rows, _COLUMNS, as_json=as_json, title="Compilation jobs")


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The compilation job's name.")) -> None:
    """Print DescribeCompilationJob's JSON (with the verification report)."""
    print_json(compilation.describe(common.client(), name))


@app.command()
@handled
def stop(name: str = typer.Argument(...)) -> None:
    """Stop a running compilation job."""
    common.client().post_json(f"/compilation-jobs/{name}/stop")
    console.print(f"stopping {name}", highlight=False)


@app.command()
@handled
def logs(name: str = typer.Argument(...)) -> None:
    """Print the compiler's output."""
    console.print(
        common.client().request("GET", f"/compilation-jobs/{name}/logs").text, highlight=False
    )


@app.command()
@handled
def targets(as_json: bool = JSON_OPTION) -> None:
    """List the compilation targets."""
    rows = common.client().get_json("/edge/targets")["Targets"]
    print_listing(rows, ("Name", "Opset", "GraphOptimization", "Description"), as_json=as_json)
