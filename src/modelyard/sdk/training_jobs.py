"""Training jobs from Python, over HTTP: create, describe, list, stop, wait, logs, metrics.

``describe`` returns DescribeTrainingJob's shape with its times as ``datetime``
objects, as boto3 returns them. :func:`wait` and :func:`stream_logs` behave like
sagemaker's ``Session.wait_for_job`` and ``Session.logs_for_job``: the latter prints
each secondary status as it is reached, then the containers' output, then the
training and billable seconds; both raise :class:`UnexpectedStatusException` when
the job ends neither Completed nor Stopped.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import Any, TextIO

from modelyard.sdk.client import ApiClient
from modelyard.sdk.job_client import (
    ACCEPTED,
    TERMINAL,
    JobClient,
    JobHandle,
    UnexpectedStatusException,
)

__all__ = [
    "ACCEPTED",
    "TERMINAL",
    "TrainingJob",
    "UnexpectedStatusException",
    "check_status",
    "create",
    "describe",
    "list_jobs",
    "log_lines",
    "metrics",
    "stop",
    "stream_logs",
    "wait",
]


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


class _TrainingJobs(JobClient):
    """Training descriptions also carry times in their status steps and final metrics."""

    def with_datetimes(self, described: dict[str, Any]) -> dict[str, Any]:
        for key in self.time_keys:
            if key in described:
                described[key] = _parse_time(described[key])
        for step in described.get("SecondaryStatusTransitions", []):
            for key in ("StartTime", "EndTime"):
                if key in step:
                    step[key] = _parse_time(step[key])
        for metric in described.get("FinalMetricDataList", []):
            if "Timestamp" in metric:
                metric["Timestamp"] = _parse_time(metric["Timestamp"])
        return described


JOBS = _TrainingJobs(
    "/training-jobs",
    "TrainingJob",
    "Training",
    ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime"),
)
create = JOBS.create
describe = JOBS.describe
list_jobs = JOBS.list_jobs
stop = JOBS.stop
log_lines = JOBS.log_lines
check_status = JOBS.check_status
wait = JOBS.wait


def metrics(client: ApiClient, name: str, metric_name: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get_json(
        f"{JOBS.path(name)}/metrics", MetricName=metric_name
    )["Metrics"]
    for point in found:
        point["Timestamp"] = _parse_time(point["Timestamp"])
    return found


def stream_logs(
    client: ApiClient, name: str, *, out: TextIO | None = None, poll_s: float = 0.5
) -> dict[str, Any]:
    """Print the job's progress and log as sagemaker's ``logs_for_job(wait=True)`` does."""
    sink = out or sys.stdout
    printed = 0

    def progress() -> dict[str, Any]:
        nonlocal printed
        described = describe(client, name)
        steps = described.get("SecondaryStatusTransitions", [])
        for step in steps[printed:]:
            at = step["StartTime"]
            stamp = at.strftime("%Y-%m-%d %H:%M:%S") if isinstance(at, datetime) else at
            sink.write(f"{stamp} {step['Status']} - {step.get('StatusMessage', '')}\n")
        printed = len(steps)
        sink.flush()
        return described

    described = progress()
    while described["TrainingJobStatus"] not in TERMINAL and described.get("SecondaryStatus") in (
        "Starting",
        "Downloading",
        "DownloadingTrainingImage",
    ):
        time.sleep(0.1)
        described = progress()
    for line in log_lines(client, name, follow=True):
        sink.write(f"{line}\n")
        sink.flush()
    while described["TrainingJobStatus"] not in TERMINAL:
        time.sleep(min(poll_s, 0.2))
        described = progress()
    described = progress()
    if "TrainingTimeInSeconds" in described:
        sink.write(f"Training seconds: {described['TrainingTimeInSeconds']}\n")
        sink.write(f"Billable seconds: {described['BillableTimeInSeconds']}\n")
        sink.flush()
    check_status(described)
    return described


class TrainingJob(JobHandle):
    """One training job of an estimator (sagemaker's ``_TrainingJob``)."""

    jobs = JOBS

    def wait(self, logs: str | bool = "All", *, out: TextIO | None = None) -> dict[str, Any]:
        """Wait for the end; with logs, print progress and output as sagemaker does."""
        if _logs_mode(logs) == "None":
            return wait(self.sagemaker_session.client, self.job_name)
        return stream_logs(self.sagemaker_session.client, self.job_name, out=out)


def _logs_mode(logs: str | bool) -> str:
    if logs is True:
        return "All"
    if logs is False or logs is None:
        return "None"
    return str(logs)
