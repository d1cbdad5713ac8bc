"""What the job command groups share: the request file, the listing, stop, the log stream.

``training-jobs``, ``processing-jobs``, ``transform-jobs`` and ``logs`` say only what
is particular to their kind; the options of a listing and the way a job's lines reach
the terminal are defined here once so that every kind behaves alike. The server is
reached through ``common.client()``, looked up at each call, so that pointing the
CLI at another server (as the tests do) takes one assignment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import typer

from modelyard.cli import common
from modelyard.errors import ValidationError
from modelyard.sdk.job_client import JobClient

NAME_CONTAINS_OPTION = typer.Option(None, "--name-contains", help="Part of the name.")
STATUS_OPTION = typer.Option(None, "--status", help="InProgress, Completed, ...")
MAX_RESULTS_OPTION = typer.Option(100, "--max-results", min=1, max=100)


def read_request(body: Path) -> dict[str, Any]:
    """The Create* request in ``body``; a file that is not JSON is the ``body`` option's fault."""
    try:
        request: dict[str, Any] = json.loads(body.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{body} is not JSON: {exc}", field="body") from exc
    return request


def list_jobs(
    jobs: JobClient,
    columns: Sequence[str],
    *,
    name_contains: str | None,
    status: str | None,
    max_results: int,
    as_json: bool,
) -> None:
    """One page of the kind's summaries, newest first, as a table (or JSON)."""
    found = jobs.list_jobs(
        common.client(), NameContains=name_contains, StatusEquals=status, MaxResults=max_results
    )
    summaries: list[dict[str, Any]] = found[f"{jobs.resource}Summaries"]
    common.print_listing(summaries, columns, as_json=as_json, title=f"{jobs.title} jobs")


def stop_job(jobs: JobClient, name: str) -> None:
    """Ask for the stop; the job ends by itself (Stopping, then Stopped)."""
    jobs.stop(common.client(), name)
    common.console.print(f"stopping {name}", highlight=False)


def print_lines(lines: Iterable[str]) -> None:
    """Each line to stdout as it comes, so a followed log reads live in a pipe too."""
    for line in lines:
        sys.stdout.write(f"{line}\n")
        sys.stdout.flush()
