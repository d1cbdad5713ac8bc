"""``modelyard logs``: the output of a job's containers (``logs training-job NAME``,
``logs processing-job NAME``, ``logs transform-job NAME``)."""

from __future__ import annotations

import typer

from modelyard.cli import jobs
from modelyard.cli.common import client, handled
from modelyard.sdk import processing_jobs, training_jobs, transform_jobs

app = typer.Typer(no_args_is_help=True)


@app.command("training-job")
@handled
def training_job(
    name: str = typer.Argument(..., help="The training job's name."),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Wait for the job to start; stream until it has exited."
    ),
) -> None:
    """Print a training job's log (several hosts: each line led by [algo-i])."""
    jobs.print_lines(training_jobs.log_lines(client(), name, follow=follow))


@app.command("processing-job")
@handled
def processing_job(
    name: str = typer.Argument(..., help="The processing job's name."),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Wait for the job to start; stream until it has exited."
    ),
) -> None:
    """Print a processing job's log (several hosts: each line led by [algo-i])."""
    jobs.print_lines(processing_jobs.log_lines(client(), name, follow=follow))


@app.command("transform-job")
@handled
def transform_job(
    name: str = typer.Argument(..., help="The transform job's name."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Stream until the job ends."),
) -> None:
    """Print a transform job's log: progress, events, and its replicas' output ([algo-i])."""
    jobs.print_lines(transform_jobs.log_lines(client(), name, follow=follow))
