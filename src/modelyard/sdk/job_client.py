"""What the SDK does alike for every job kind over HTTP: create, describe, list, stop, wait, logs.

One :class:`JobClient` per kind (its route, SageMaker's name for it, its time fields)
serves the functions of :mod:`~modelyard.sdk.training_jobs`,
:mod:`~modelyard.sdk.processing_jobs` and :mod:`~modelyard.sdk.transform_jobs`, so
waiting, the log stream's reconnects and the end-status check are written once.
Descriptions come back with their times as ``datetime`` objects, as boto3 returns them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TextIO

from modelyard.errors import ModelyardError, ServerUnavailableError
from modelyard.sdk.client import ApiClient

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

TERMINAL = ("Completed", "Failed", "Stopped")
ACCEPTED = ("Completed", "Stopped")
_MAX_LOG_RECONNECTS = 1000


class UnexpectedStatusException(ModelyardError, ValueError):  # noqa: N818 - sagemaker's name
    """A job ended in a status other than those expected (sagemaker.exceptions' class)."""

    code = "UnexpectedStatus"

    def __init__(self, message: str, allowed_statuses: list[str], actual_status: str) -> None:
        super().__init__(message)
        self.allowed_statuses = allowed_statuses
        self.actual_status = actual_status


@dataclass(frozen=True)
class JobClient:
    """The HTTP operations of one job kind.

    ``resource`` is SageMaker's name (``ProcessingJob``): it names the fields read
    (``ProcessingJobStatus``, ``ProcessingJobArn``, ``ProcessingJobSummaries``);
    ``title`` is the word in sagemaker's error message (``Error for Processing job``).
    """

    route: str
    resource: str
    title: str
    time_keys: tuple[str, ...]

    def path(self, name: str) -> str:
        return f"{self.route}/{name}"

    def with_datetimes(self, described: dict[str, Any]) -> dict[str, Any]:
        """``described`` with its ISO time strings replaced by ``datetime`` objects."""
        for key in self.time_keys:
            value = described.get(key)
            if isinstance(value, str):
                described[key] = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return described

    def create(self, client: ApiClient, request: dict[str, Any]) -> str:
        """Create the job from SageMaker's request; returns its ARN."""
        created: dict[str, Any] = client.post_json(self.route, request)
        return str(created[f"{self.resource}Arn"])

    def describe(self, client: ApiClient, name: str) -> dict[str, Any]:
        described: dict[str, Any] = client.get_json(self.path(name))
        return self.with_datetimes(described)

    def list_jobs(self, client: ApiClient, **params: Any) -> dict[str, Any]:
        """The List* operation with its parameters (``NameContains=...``)."""
        found: dict[str, Any] = client.get_json(self.route, **params)
        for summary in found.get(f"{self.resource}Summaries", []):
            self.with_datetimes(summary)
        return found

    def stop(self, client: ApiClient, name: str) -> None:
        client.post_json(f"{self.path(name)}/stop")

    def status(self, described: dict[str, Any]) -> str:
        return str(described[f"{self.resource}Status"])

    def log_lines(
        self, client: ApiClient, name: str, *, follow: bool = False, since_line: int = 0
    ) -> Iterator[str]:
        """The job's log lines; with ``follow``, reconnecting when a quiet spell outlasts a read."""
        seen = since_line
        for _ in range(_MAX_LOG_RECONNECTS):
            try:
                params = {"follow": "true" if follow else "false", "since_line": seen}
                with client.stream("GET", f"{self.path(name)}/logs", params=params) as response:
                    for line in response.iter_lines():
                        seen += 1
                        yield line
                return
            except ServerUnavailableError:
                if not follow or self.status(self.describe(client, name)) in TERMINAL:
                    raise

    def check_status(self, described: dict[str, Any]) -> None:
        """Raise UnexpectedStatusException unless the job ended Completed or Stopped."""
        status = self.status(described)
        if status in ACCEPTED:
            return
        reason = described.get("FailureReason", "(No reason provided)")
        name = described[f"{self.resource}Name"]
        raise UnexpectedStatusException(
            f"Error for {self.title} job {name}: {status}. Reason: {reason}",
            allowed_statuses=list(ACCEPTED),
            actual_status=status,
        )

    def wait(self, client: ApiClient, name: str, *, poll_s: float = 1.0) -> dict[str, Any]:
        """Poll until the job ends; its description (raises unless Completed or Stopped)."""
        delay = 0.05
        while True:
            described = self.describe(client, name)
            if self.status(described) in TERMINAL:
                self.check_status(described)
                return described
            time.sleep(delay)
            delay = min(delay * 2, poll_s)

    def stream_logs(
        self, client: ApiClient, name: str, *, out: TextIO | None = None
    ) -> dict[str, Any]:
        """Print the job's log until it ends, then wait for (and check) its end."""
        sink = out or sys.stdout
        for line in self.log_lines(client, name, follow=True):
            sink.write(f"{line}\n")
            sink.flush()
        return self.wait(client, name, poll_s=0.2)


class JobHandle:
    """sagemaker's object of one job (``estimator.latest_training_job``, ...)."""

    jobs: ClassVar[JobClient]

    def __init__(self, sagemaker_session: Session, job_name: str) -> None:
        self.sagemaker_session = sagemaker_session
        self.job_name = job_name

    @property
    def name(self) -> str:
        return self.job_name

    def describe(self) -> dict[str, Any]:
        return self.jobs.describe(self.sagemaker_session.client, self.job_name)

    def stop(self) -> None:
        self.jobs.stop(self.sagemaker_session.client, self.job_name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.job_name!r})"
