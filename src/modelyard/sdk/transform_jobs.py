"""Transform jobs from Python, over HTTP: create, describe, list, stop, wait, logs.

``describe`` returns DescribeTransformJob's shape with ``datetime`` times, as boto3
does, plus modelyard's ``TransformProgress``. :func:`wait` and :func:`stream_logs`
behave like sagemaker's ``Session.wait_for_transform_job`` and
``logs_for_transform_job(wait=True)``: both raise
:class:`~modelyard.sdk.training_jobs.UnexpectedStatusException` unless the job ended
Completed or Stopped.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from modelyard.errors import ServerUnavailableError
from modelyard.sdk.client import ApiClient
from modelyard.sdk.training_jobs import UnexpectedStatusException

TERMINAL = ("Completed", "Failed", "Stopped")
ACCEPTED = ("Completed", "Stopped")
_TIME_KEYS = ("CreationTime", "TransformStartTime", "TransformEndTime", "LastModifiedTime")
_MAX_LOG_RECONNECTS = 1000


def _path(name: str) -> str:
    return f"/transform-jobs/{name}"


def _with_datetimes(described: dict[str, Any]) -> dict[str, Any]:
    for key in _TIME_KEYS:
        value = described.get(key)
        if isinstance(value, str):
            described[key] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return described


def create(client: ApiClient, request: dict[str, Any]) -> str:
    """CreateTransformJob; returns the job's ARN."""
    created: dict[str, Any] = client.post_json("/transform-jobs", request)
    return str(created["TransformJobArn"])


def describe(client: ApiClient, name: str) -> dict[str, Any]:
    described: dict[str, Any] = client.get_json(_path(name))
    return _with_datetimes(described)


def list_jobs(client: ApiClient, **params: Any) -> dict[str, Any]:
    """ListTransformJobs with its parameters (``NameContains=...``)."""
    found: dict[str, Any] = client.get_json("/transform-jobs", **params)
    for summary in found.get("TransformJobSummaries", []):
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
            if not follow or describe(client, name)["TransformJobStatus"] in TERMINAL:
                raise


def check_status(described: dict[str, Any]) -> None:
    """Raise UnexpectedStatusException unless the job ended Completed or Stopped."""
    status = described["TransformJobStatus"]
    if status in ACCEPTED:
        return
    reason = described.get("FailureReason", "(No reason provided)")
    raise UnexpectedStatusException(
        f"Error for Transform job {described['TransformJobName']}: {status}. Reason: {reason}",
        allowed_statuses=list(ACCEPTED),
        actual_status=status,
    )


def wait(client: ApiClient, name: str, *, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the job ends; its description (raises unless Completed or Stopped)."""
    delay = 0.05
    while True:
        described = describe(client, name)
        if described["TransformJobStatus"] in TERMINAL:
            check_status(described)
            return described
        time.sleep(delay)
        delay = min(delay * 2, poll_s)


def stream_logs(client: ApiClient, name: str, *, out: TextIO | None = None) -> dict[str, Any]:
    """Print the job's log until it ends, then its description."""
    sink = out or sys.stdout
    for line in log_lines(client, name, follow=True):
        sink.write(f"{line}\n")
        sink.flush()
    return wait(client, name, poll_s=0.2)


class TransformSessionMixin:
    """sagemaker ``Session``'s transform job methods, over this session's client."""

    client: ApiClient

    def transform(
        self,
        job_name: str,
        model_name: str,
        strategy: str | None,
        max_concurrent_transforms: int | None,
        max_payload: int | None,
        input_config: dict[str, Any],
        output_config: dict[str, Any],
        resource_config: dict[str, Any],
        experiment_config: dict[str, str] | None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        data_processing: dict[str, str] | None = None,
        model_client_config: dict[str, Any] | None = None,
        batch_data_capture_config: Any = None,
    ) -> None:
        """CreateTransformJob from its parts, as sagemaker's ``Session.transform``."""
        request: dict[str, Any] = {
            "TransformJobName": job_name,
            "ModelName": model_name,
            "TransformInput": input_config,
            "TransformOutput": output_config,
            "TransformResources": resource_config,
        }
        optional = {
            "BatchStrategy": strategy,
            "MaxConcurrentTransforms": max_concurrent_transforms,
            "MaxPayloadInMB": max_payload,
            "Environment": env,
            "Tags": tags,
            "DataProcessing": data_processing,
            "ModelClientConfig": model_client_config,
            "ExperimentConfig": experiment_config,
            "DataCaptureConfig": batch_data_capture_config._to_request_dict()
            if batch_data_capture_config is not None
            else None,
        }
        request.update({key: value for key, value in optional.items() if value is not None})
        create(self.client, request)

    def describe_transform_job(self, job_name: str) -> dict[str, Any]:
        return describe(self.client, job_name)

    def wait_for_transform_job(self, job: str, poll: int = 5) -> dict[str, Any]:
        """Wait for the job's end; its description (raises unless Completed or Stopped)."""
        return wait(self.client, job, poll_s=min(float(poll), 1.0))

    def stop_transform_job(self, name: str) -> None:
        stop(self.client, name)

    def logs_for_transform_job(self, job_name: str, wait: bool = False, poll: int = 10) -> None:
        """Print the job's log (following it to the end with ``wait``)."""
        if wait:
            stream_logs(self.client, job_name)
            return
        for line in log_lines(self.client, job_name):
            sys.stdout.write(f"{line}\n")
        sys.stdout.flush()
