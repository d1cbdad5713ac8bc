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
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from modelyard.errors import ModelyardError, ServerUnavailableError
from modelyard.sdk.client import ApiClient

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

TERMINAL = ("Completed", "Failed", "Stopped")
ACCEPTED = ("Completed", "Stopped")
_TIME_KEYS = ("CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime")
_MAX_LOG_RECONNECTS = 1000


class UnexpectedStatusException(ModelyardError, ValueError):  # noqa: N818 - sagemaker's name
    """A job ended in a status other than those expected (sagemaker.exceptions' class)."""

    code = "UnexpectedStatus"

    def __init__(self, message: str, allowed_statuses: list[str], actual_status: str) -> None:
        super().__init__(message)
        self.allowed_statuses = allowed_statuses
        self.actual_status = actual_status


def _path(name: str) -> str:
    return f"/training-jobs/{name}"


def _parse_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def _with_datetimes(described: dict[str, Any]) -> dict[str, Any]:
    for key in _TIME_KEYS:
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


def create(client: ApiClient, request: dict[str, Any]) -> str:
    """CreateTrainingJob; returns the job's ARN."""
    created: dict[str, Any] = client.post_json("/training-jobs", request)
    return str(created["TrainingJobArn"])


def describe(client: ApiClient, name: str) -> dict[str, Any]:
    described: dict[str, Any] = client.get_json(_path(name))
    return _with_datetimes(described)


def list_jobs(client: ApiClient, **params: Any) -> dict[str, Any]:
    """ListTrainingJobs with its parameters (``NameContains=...``)."""
    found: dict[str, Any] = client.get_json("/training-jobs", **params)
    for summary in found.get("TrainingJobSummaries", []):
        for key in (*_TIME_KEYS, "TrainingEndTime"):
            if key in summary:
                summary[key] = _parse_time(summary[key])
    return found


def stop(client: ApiClient, name: str) -> None:
    client.post_json(f"{_path(name)}/stop")


def metrics(client: ApiClient, name: str, metric_name: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get_json(f"{_path(name)}/metrics", MetricName=metric_name)[
        "Metrics"
    ]
    for point in found:
        point["Timestamp"] = _parse_time(point["Timestamp"])
    return found


def log_lines(
    client: ApiClient, name: str, *, follow: bool = False, since_line: int = 0
) -> Iterator[str]:
    """The job's log lines; with ``follow``, reconnecting when a quiet spell outlasts a read."""
    seen = since_line
    for _ in range(_MAX_LOG_RECONNECTS):
        try:
            params = {"follow": "true" if follow else "false", "since_line": seen}
            with client.stream("GET", f"{_path(name)}/logs", params=params) as response:
                for line in response.iter_lines():
                    seen += 1
                    yield line
            return
        except ServerUnavailableError:
            if not follow or describe(client, name)["TrainingJobStatus"] in TERMINAL:
                raise


def check_status(described: dict[str, Any]) -> None:
    """Raise UnexpectedStatusException unless the job ended Completed or Stopped."""
    status = described["TrainingJobStatus"]
    if status in ACCEPTED:
        return
    reason = described.get("FailureReason", "(No reason provided)")
    raise UnexpectedStatusException(
        f"Error for Training job {described['TrainingJobName']}: {status}. Reason: {reason}",
        allowed_statuses=list(ACCEPTED),
        actual_status=status,
    )


def wait(client: ApiClient, name: str, *, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the job ends; its description (raises unless Completed or Stopped)."""
    delay = 0.05
    while True:
        described = describe(client, name)
        if described["TrainingJobStatus"] in TERMINAL:
            check_status(described)
            return described
        time.sleep(delay)
        delay = min(delay * 2, poll_s)


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


class TrainingJob:
    """One training job of an estimator (sagemaker's ``_TrainingJob``)."""

    def __init__(self, sagemaker_session: Session, job_name: str) -> None:
        self.sagemaker_session = sagemaker_session
        self.job_name = job_name

    @property
    def name(self) -> str:
        return self.job_name

    def describe(self) -> dict[str, Any]:
        return describe(self.sagemaker_session.client, self.job_name)

    def wait(self, logs: str | bool = "All", *, out: TextIO | None = None) -> dict[str, Any]:
        """Wait for the end; with logs, print progress and output as sagemaker does."""
        if _logs_mode(logs) == "None":
            return wait(self.sagemaker_session.client, self.job_name)
        return stream_logs(self.sagemaker_session.client, self.job_name, out=out)

    def stop(self) -> None:
        stop(self.sagemaker_session.client, self.job_name)

    def __repr__(self) -> str:
        return f"TrainingJob({self.job_name!r})"


def _logs_mode(logs: str | bool) -> str:
    if logs is True:
        return "All"
    if logs is False or logs is None:
        return "None"
    return str(logs)
