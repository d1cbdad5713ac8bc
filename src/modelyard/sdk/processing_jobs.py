"""Processing jobs from Python, over HTTP: create, describe, list, stop, wait, logs.

``describe`` returns DescribeProcessingJob's shape with ``datetime`` times, as boto3
does. :func:`wait` and :func:`stream_logs` behave like sagemaker's
``Session.wait_for_processing_job`` and ``logs_for_processing_job(wait=True)``; both
raise :class:`UnexpectedStatusException` unless the job ended Completed or Stopped.
:class:`ProcessingJob` is sagemaker's object of one job (``processor.latest_job``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from modelyard.sdk.job_client import (
    ACCEPTED,
    TERMINAL,
    JobClient,
    JobHandle,
    UnexpectedStatusException,
)

if TYPE_CHECKING:
    from modelyard.sdk.processing import ProcessingInput, ProcessingOutput
    from modelyard.sdk.session import Session

__all__ = [
    "ACCEPTED",
    "TERMINAL",
    "ProcessingJob",
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
    "/processing-jobs",
    "ProcessingJob",
    "Processing",
    ("CreationTime", "ProcessingStartTime", "ProcessingEndTime", "LastModifiedTime"),
)
create = JOBS.create
describe = JOBS.describe
list_jobs = JOBS.list_jobs
stop = JOBS.stop
log_lines = JOBS.log_lines
check_status = JOBS.check_status
wait = JOBS.wait
stream_logs = JOBS.stream_logs


class ProcessingJob(JobHandle):
    """One processing job (sagemaker's ``ProcessingJob``): describe, wait, stop."""

    jobs = JOBS

    def __init__(
        self,
        sagemaker_session: Session,
        job_name: str,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        output_kms_key: str | None = None,
    ) -> None:
        super().__init__(sagemaker_session, job_name)
        self.inputs = inputs
        self.outputs = outputs
        self.output_kms_key = output_kms_key

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

    def wait(self, logs: bool = True, *, out: TextIO | None = None) -> dict[str, Any]:
        """Wait for the end (printing the containers' output with ``logs``)."""
        if logs:
            return stream_logs(self.sagemaker_session.client, self.job_name, out=out)
        return wait(self.sagemaker_session.client, self.job_name)
