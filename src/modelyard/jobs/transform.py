"""The transform controller: CreateTransformJob, a model run over a dataset, offline.

Lifecycle (each step recorded before its side effect; SageMaker's describe has no
secondary status, these are kept for events and the CLI):

``Starting``
    the request was validated (shape, record plan), the model exists, the output
    bucket exists and the input has at least one object; the row is written.
``Preparing``
    the model's image is built and its files fetched, exactly as for an endpoint; the
    input objects are listed (``S3Prefix`` or ``ManifestFile``).
``LaunchingReplicas``
    one replica of the model per instance (:mod:`.transform_replicas`), until each
    answers ``/ping``. Parameters the request leaves out (``MaxConcurrentTransforms``,
    ``BatchStrategy``, ``MaxPayloadInMB``) are asked from ``/execution-parameters``.
``Transforming``
    objects are dealt over the instances and each is streamed through its replica
    (:mod:`.transform_objects`) into ``<S3OutputPath>/<name>.out``; progress (objects,
    records, bytes) goes to the catalog and the job's log every second.
``Completed`` / ``Failed`` / ``Stopped``
    a record the model rejects fails the job with ``<object> record <n>: <message>``;
    a stop ends it Stopped, objects finished so far kept and the one in flight left
    unwritten. The replicas are stopped in every case: no endpoint is left running.

A server restart resumes the job: the next server stops the replicas left behind,
keeps every output already written by this job (each ``.out`` carries the job's ARN
in its metadata, and appears whole or not at all) and redoes the rest.

The pieces: :mod:`.transform_spec` (the request), :mod:`.transform_inputs` (which
objects, their names, their bytes), :mod:`.transform_replicas` (launching, waiting,
logs), :mod:`.transform_invoker` (HTTP to a replica), :mod:`.transform_objects` (one
instance's objects through its replica), :mod:`.transform_records` (records, batches,
filters, join, assembly), :mod:`.transform_progress`, :mod:`.transform_describe`, and
:mod:`.transform_run` (one run of a job, step by step).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import ModelyardError, NotFoundError, ValidationError
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.models import model_version
from modelyard.hosting.replicas import TRANSFORM_KIND_VALUE, ReplicaLauncher
from modelyard.ids import ResourceKind
from modelyard.images.registry import ImageRegistry
from modelyard.jobs import transform_describe
from modelyard.jobs.job import (
    ACTIVE_STATUSES,
    COMPLETED,
    FAILED,
    HOST_COUNT_KEY,
    STOPPING,
    Job,
    JobFailedError,
    Outcome,
    Phases,
)
from modelyard.jobs.transform_inputs import has_inputs
from modelyard.jobs.transform_replicas import JobLog
from modelyard.jobs.transform_run import JobStoppedError, ShuttingDownError, TransformRun
from modelyard.jobs.transform_spec import OUTPUT_URI_FIELD, output_uri, validate_transform_request
from modelyard.jobs.workers import JobWorkers
from modelyard.runtime.base import Runtime
from modelyard.runtime.logfile import read_log_lines
from modelyard.store.base import Store

log = logging.getLogger(__name__)

LOG_FILE = "job.log"


class TransformController(JobWorkers):
    """Runs transform jobs (see the module doc); one per control-plane process."""

    kind = ResourceKind.TRANSFORM_JOB
    noun = "transform job"
    thread_prefix = "transform"
    phases = Phases(
        starting="Starting",
        preparing="Preparing",
        running="Transforming",
        stopping="Stopping",
        completed="Completed",
        failed="Failed",
        stopped="Stopped",
    )
    status_messages: ClassVar[dict[str, str]] = {
        "Starting": "Starting the transform job",
        "Preparing": "Preparing the model and listing the input",
        "LaunchingReplicas": "Launching the model's containers",
        "Transforming": "Transforming the input",
        "Completed": "Transform job completed",
        "Failed": "Transform job failed",
        "Stopping": "Stopping the transform job",
        "Stopped": "Transform job stopped",
    }

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
        *,
        launcher: ReplicaLauncher | None = None,
        progress_interval_s: float = 1.0,
    ) -> None:
        super().__init__(catalog)
        self.store = store
        self.images = images
        self.settings = settings
        self.launcher = launcher or ReplicaLauncher(runtime)
        self.model_data = ModelData(store, settings.home / "hosting" / "models")
        self.jobs_dir = settings.home / "jobs" / "transform"
        self.progress_interval_s = progress_interval_s

    # -- the API's operations ------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        """CreateTransformJob: validate, write the row, start the worker."""
        spec = validate_transform_request(body)
        name = spec["TransformJobName"]
        self._check_free_name(name, "TransformJobName")
        self._check_model(spec["ModelName"])
        bucket = output_uri(spec).bucket
        if not self.store.bucket_exists(bucket):
            raise ValidationError(
                f"{OUTPUT_URI_FIELD}={spec['TransformOutput']['S3OutputPath']!r}: the bucket "
                f"{bucket!r} does not exist; create it first",
                field=OUTPUT_URI_FIELD,
            )
        has_inputs(self.store, spec)
        count = int(spec["TransformResources"]["InstanceCount"])
        record = self._record_created(name, spec, {HOST_COUNT_KEY: count}, "TransformJobName")
        self._run_worker(Job(name=name, spec=spec, hosts=_hosts(count)), resumed=False)
        return record

    def _check_model(self, model_name: str) -> None:
        try:
            self.catalog.get(ResourceKind.MODEL, model_name)
        except NotFoundError as exc:
            raise ValidationError(
                f"ModelName={model_name!r}: no such model; create it first (CreateModel, "
                "Model.create() or 'modelyard models create') or fix the name",
                field="ModelName",
            ) from exc

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeTransformJob's response shape, with modelyard's ``TransformProgress``."""
        return transform_describe.describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        """ListTransformJobs: ``TransformJobSummaries`` and ``NextToken``."""
        return self._summaries("TransformJobSummaries", transform_describe.summary, filters)

    def log_path(self, name: str) -> Path:
        return self.jobs_dir / name / LOG_FILE

    def logs(
        self, name: str, *, follow: bool = False, since_line: int = 0, poll_interval_s: float = 0.2
    ) -> Iterator[str]:
        """The job's log: its progress and events, and its replicas' output (``[algo-i]``)."""
        self.get(name)

        def running() -> bool:
            return not self._shutdown.is_set() and self.get(name).status in ACTIVE_STATUSES

        return read_log_lines(
            self.log_path(name),
            since_line=since_line,
            follow=follow,
            is_running=running,
            poll_interval_s=poll_interval_s,
        )

    # -- the worker ------------------------------------------------------------

    def _work(self, job: Job, resumed: bool) -> None:
        run = TransformRun(self, job, JobLog(self.log_path(job.name)), resumed=resumed)
        outcome: Outcome | None = None
        try:
            run.execute()
            outcome = Outcome(COMPLETED, self.phases.completed)
        except ShuttingDownError:
            run.log.line("the server is shutting down: the next one resumes the job")
        except JobStoppedError:
            outcome = self._stopped(job)
        except JobFailedError as failure:
            outcome = Outcome(FAILED, self.phases.failed, failure.reason[:1024])
        except Exception as exc:
            log.exception("transform job %s failed in the platform", job.name)
            reason = f"InternalServerError: {type(exc).__name__}: {exc}"
            outcome = Outcome(FAILED, self.phases.failed, reason[:1024])
        finally:
            # The replicas go first: a job that reads as ended has nothing left running.
            run.close()
            if outcome is not None:
                if outcome.failure_reason:
                    run.log.line(f"failed: {outcome.failure_reason}")
                self._finish(job, outcome)
                run.log.line(f"transform job {self.get(job.name).status}")
            with self._lock:
                self._jobs.pop(job.name, None)

    def _stopped(self, job: Job) -> Outcome:
        return self.record.stopped_outcome(job.name, max_runtime_exceeded=False, max_runtime_s=None)

    def _finish(self, job: Job, outcome: Outcome) -> None:
        with contextlib.suppress(ModelyardError):
            self.record.finish(job.name, outcome, {}, stopped=self._stopped(job))

    def model_spec(self, model_name: str) -> dict[str, Any]:
        """The model as a deployment snapshots it (``{"Spec", "Version"}``)."""
        try:
            record = self.catalog.get(ResourceKind.MODEL, model_name)
        except NotFoundError as exc:
            raise JobFailedError(
                f"ClientError: the model {model_name!r} no longer exists (ModelName)"
            ) from exc
        return {"Spec": record.spec, "Version": model_version(record)}

    @property
    def shutting_down(self) -> bool:
        return self._shutdown.is_set()

    # -- restarting ----------------------------------------------------------

    def _resume(self, record: ResourceRecord) -> None:
        if self._is_kept(record.name):
            return
        for handle in self.launcher.running_for(record.name, TRANSFORM_KIND_VALUE):
            with contextlib.suppress(Exception):
                handle.stop(self.settings.endpoint_stop_grace_s)
        count = int(record.state.get(HOST_COUNT_KEY) or 1)
        job = Job(name=record.name, spec=record.spec, hosts=_hosts(count))
        if record.status == STOPPING:
            self._finish(job, self._stopped(job))
            return
        JobLog(self.log_path(record.name)).line(
            "the server restarted: resuming (outputs already written are kept)"
        )
        self._run_worker(job, resumed=True)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop the workers and their replicas; the jobs stay InProgress for the next server."""
        for thread in self._stop_workers():
            thread.join(timeout_s)


def _hosts(count: int) -> list[str]:
    return [f"algo-{i}" for i in range(1, count + 1)]
