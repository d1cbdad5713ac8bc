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
from typing import Any

from modelyard.sdk.client import ApiClient
from modelyard.sdk.job_client import ACCEPTED, TERMINAL, JobClient, UnexpectedStatusException

__all__ = [
    "ACCEPTED",
    "TERMINAL",
    "TransformSessionMixin",
    "UnexpectedStatusException",
    "check_status",
    "create",
    "describe",
    "list_jobs",
    "log_lines",
    "stop",
    "stream_logs",
    "wait",
]

JOBS = JobClient(
    "/transform-jobs",
    "TransformJob",
    "Transform",
    ("CreationTime", "TransformStartTime", "TransformEndTime", "LastModifiedTime"),
)
create = JOBS.create
describe = JOBS.describe
list_jobs = JOBS.list_jobs
stop = JOBS.stop
log_lines = JOBS.log_lines
check_status = JOBS.check_status
wait = JOBS.wait
stream_logs = JOBS.stream_logs


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
