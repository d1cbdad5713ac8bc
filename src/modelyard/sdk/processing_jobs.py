"""Processing jobs from Python, over HTTP: create, describe, list, stop, wait, logs.

``describe`` returns DescribeProcessingJob's shape with ``datetime`` times, as boto3
does. :func:`wait` and :func:`stream_logs` behave like sagemaker's
``Session.wait_for_processing_job`` and ``logs_for_processing_job(wait=True)``; both
raise :class:`UnexpectedStatusException` unless the job ended Completed or Stopped.
:class:`ProcessingJob` is sagemaker's object of one job (``processor.latest_job``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from modelyard.errors import ServerUnavailableError
from modelyard.sdk.client import ApiClient
from modelyard.sdk.training_jobs import UnexpectedStatusException

if TYPE_CHECKING:
    from modelyard.sdk.processing import ProcessingInput, ProcessingOutput
    from modelyard.sdk.session import Session

TERMINAL = ("Completed", "Failed", "Stopped")
ACCEPTED = ("Completed", "Stopped")
_TIME_KEYS = ("CreationTime", "ProcessingStartTime", "ProcessingEndTime", "LastModifiedTime")
_MAX_LOG_RECONNECTS = 1000


def _path(name: str) -> str:
    return f"/processing-jobs/{name}"


def _with_datetimes(described: dict[str, Any]) -> dict[str, Any]:
    for key in _TIME_KEYS:
        value = described.get(key)
        if isinstance(value, str):
            described[key] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return described


def create(client: ApiClient, request: dict[str, Any]) -> str:
    """CreateProcessingJob; returns the job's ARN."""
    created: dict[str, Any] = client.post_json("/processing-jobs", request)
    return str(created["ProcessingJobArn"])


def describe(client: ApiClient, name: str) -> dict[str, Any]:
    described: dict[str, Any] = client.get_json(_path(name))
    return _with_datetimes(described)


def list_jobs(client: ApiClient, **params: Any) -> dict[str, Any]:
    """ListProcessingJobs with its parameters (``NameContains=...``)."""
    found: dict[str, Any] = client.get_json("/processing-jobs", **params)
    for summary in found.get("ProcessingJobSummaries", []):
        _with_datetimes(summary)
    return found


def stop(client: ApiClient, name: str) -> None:
    client.post_json(f"{_path(name)}/stop")


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
            if not follow or describe(client, name)["ProcessingJobStatus"] in TERMINAL:
                raise


def check_status(described: dict[str, Any]) -> None:
    """Raise UnexpectedStatusException unless the job ended Completed or Stopped."""
    status = described["ProcessingJobStatus"]
    if status in ACCEPTED:
        return
    reason = described.get("FailureReason", "(No reason provided)")
    raise UnexpectedStatusException(
        f"Error for Processing job {described['ProcessingJobName']}: {status}. Reason: {reason}",
        allowed_statuses=list(ACCEPTED),
        actual_status=status,
    )


def wait(client: ApiClient, name: str, *, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the job ends; its description (raises unless Completed or Stopped)."""
    delay = 0.05
    while True:
        described = describe(client, name)
        if described["ProcessingJobStatus"] in TERMINAL:
            check_status(described)
            return described
        time.sleep(delay)
        delay = min(delay * 2, poll_s)


def stream_logs(client: ApiClient, name: str, *, out: TextIO | None = None) -> dict[str, Any]:
    """Print the containers' output until they exit, then wait for the job's end."""
    sink = out or sys.stdout
    for line in log_lines(client, name, follow=True):
        sink.write(f"{line}\n")
        sink.flush()
    return wait(client, name, poll_s=0.2)


class ProcessingJob:
    """One processing job (sagemaker's ``ProcessingJob``): describe, wait, stop."""

    def __init__(
        self,
        sagemaker_session: Session,
        job_name: str,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        output_kms_key: str | None = None,
    ) -> None:
        self.sagemaker_session = sagemaker_session
        self.job_name = job_name
        self.inputs = inputs
        self.outputs = outputs
        self.output_kms_key = output_kms_key

    @property
    def name(self) -> str:
        return self.job_name

    @classmethod
    def from_processing_name(
        cls, sagemaker_session: Session, processing_job_name: str
    ) -> ProcessingJob:
        """The job of that name, its inputs and outputs rebuilt from its description."""
        from modelyard.sdk.processing import ProcessingInput, ProcessingOutput

        described = describe(sagemaker_session.client, processing_job_name)
        inputs = [
            ProcessingInput.from_request(item) for item in described.get("ProcessingInputs") or []
        ] or None
        config = described.get("ProcessingOutputConfig") or {}
        outputs = [
            ProcessingOutput.from_request(item) for item in config.get("Outputs") or []
        ] or None
        return cls(sagemaker_session, processing_job_name, inputs, outputs, config.get("KmsKeyId"))

    def describe(self) -> dict[str, Any]:
        return describe(self.sagemaker_session.client, self.job_name)

    def wait(self, logs: bool = True, *, out: TextIO | None = None) -> dict[str, Any]:
        """Wait for the end (printing the containers' output with ``logs``)."""
        if logs:
            return stream_logs(self.sagemaker_session.client, self.job_name, out=out)
        return wait(self.sagemaker_session.client, self.job_name)

    def stop(self) -> None:
        stop(self.sagemaker_session.client, self.job_name)

    def __repr__(self) -> str:
        return f"ProcessingJob({self.job_name!r})"
