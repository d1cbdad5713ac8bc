"""What every job controller shares: the lifecycle, stop, restart, logs and metrics.

A job (training today, processing next) goes through the same steps, each one
written to the catalog *before* its side effect happens:

1. **create**: the request is validated, then the row is written (``InProgress``);
2. **prepare** (:meth:`JobController._prepare`, e.g. image ready, inputs staged):
   returns one :class:`ContainerSpec` per host;
3. **launch**: the row says the job runs (``Training``), then every host is launched
   through the Runtime and its handle id recorded under ``state["Hosts"]``;
4. **supervise**: wait for every host to exit; a host failing stops the others; a stop
   request or ``MaxRuntimeInSeconds`` stops them all (SIGTERM, SIGKILL after the grace);
5. **collect** (:meth:`JobController._collect`, e.g. model.tar.gz uploaded);
6. **end**: ``Completed``, ``Failed`` (with a reason) or ``Stopped``. A stop recorded
   in the catalog is final: a job Stopping never ends Completed.

One worker thread per job runs steps 2-6. On a server restart :meth:`reconcile`
gives every job still InProgress or Stopping a worker again: jobs whose hosts were all
launched are re-adopted (their processes outlive the server; supervision resumes and
exits that happened meanwhile are read from the runtime's exit files); jobs caught
before their launch was recorded fail with a reason naming the step they were in.
Shutting the server down stops the workers, never the jobs.

Subclasses name their status vocabulary (:class:`Phases`) and implement the
``_prepare`` / ``_collect`` / ``_outcome`` hooks; everything else is here, or, for
what transform jobs share too (the create steps, the workers, stop, the restart loop),
in :class:`modelyard.jobs.workers.JobWorkers`.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from modelyard.catalog.base import Catalog, MetricPoint, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import (
    IllegalTransitionError,
    ModelyardError,
    NotFoundError,
)
from modelyard.ids import utcnow
from modelyard.jobs import job_logs
from modelyard.jobs.job import (
    FAILED,
    HOST_COUNT_KEY,
    HOSTS_KEY,
    LABEL_JOB,
    LABEL_KIND,
    MAX_RUNTIME_KEY,
    START_KEY,
    STOPPING,
    Job,
    JobFailedError,
    Outcome,
    host_order,
)
from modelyard.jobs.workers import JobWorkers
from modelyard.runtime.base import ContainerSpec, Handle, Runtime

log = logging.getLogger(__name__)


class _JobStoppedError(Exception):
    """The job was stopped before its containers ran."""


class _ShuttingDownError(Exception):
    """The server is shutting down: leave the job as the catalog says."""


class JobController(JobWorkers):
    """Runs jobs of one kind through their lifecycle (see the module doc)."""

    def __init__(
        self,
        catalog: Catalog,
        runtime: Runtime,
        settings: Settings,
        *,
        stop_grace_s: float | None = None,
        poll_interval_s: float = 0.1,
        periodic_interval_s: float = 10.0,
    ) -> None:
        super().__init__(catalog)
        self.runtime = runtime
        self.settings = settings
        self.stop_grace_s = settings.stop_grace_s if stop_grace_s is None else stop_grace_s
        self.poll_interval_s = poll_interval_s
        self.periodic_interval_s = periodic_interval_s

    # -- hooks ---------------------------------------------------------------

    @abc.abstractmethod
    def _prepare(self, job: Job) -> dict[str, ContainerSpec]:
        """Get everything ready and say what to launch on each host (by host name)."""

    def _on_running(self, job: Job, resumed: bool) -> None:
        """Called once the hosts run (again, after a restart, when ``resumed``)."""

    def _periodic(self, job: Job) -> None:
        """Called every ``periodic_interval_s`` while the hosts run."""

    def _after_exit(self, job: Job) -> None:
        """Called once every host has exited, before :meth:`_collect`."""

    @abc.abstractmethod
    def _outcome(self, job: Job, exit_codes: dict[str, int]) -> Outcome:
        """Completed or Failed, from the hosts' exit codes (a stop is decided here already)."""

    def _collect(self, job: Job, outcome: Outcome) -> dict[str, Any]:
        """Gather the results (upload artifacts); state updates to record. Default: none."""
        return {}

    def _max_runtime_s(self, job: Job) -> float | None:
        return None

    def _release(self, job: Job) -> None:
        """Called once the job has ended (not when the server shuts down): free disk space."""

    def _leave(self, job: Job) -> None:
        """The server shuts down and leaves the job running for the next one: let go of
        what this process holds for it. Default: close the job's closeables."""
        for closeable in job.closeables:
            with contextlib.suppress(Exception):
                closeable.close()

    # -- reading -------------------------------------------------------------

    def metrics(self, name: str, metric: str | None = None) -> list[MetricPoint]:
        return self.catalog.metric_points(self.kind, name, metric)

    # -- starting ------------------------------------------------------------

    def _start(self, record: ResourceRecord, hosts: list[str]) -> None:
        """Give a freshly created job its worker."""
        job = Job(name=record.name, spec=record.spec, hosts=hosts)
        self._run_worker(job, resumed=False)

    def _work(self, job: Job, resumed: bool) -> None:
        ended = True
        try:
            if not resumed:
                self._prepare_and_launch(job)
            self._on_running(job, resumed)
            exit_codes = self._supervise(job)
            self._after_exit(job)
            self._end(job, exit_codes)
        except _ShuttingDownError:
            ended = False
            log.info("%s %s left running for the next server", self.kind.value, job.name)
        except _JobStoppedError:
            self._finish(job, self._stopped_outcome(job), {})
        except JobFailedError as failure:
            self._finish_failed(job, failure.reason)
        except Exception as exc:
            log.exception("%s %s failed in the platform", self.kind.value, job.name)
            self._finish_failed(job, f"InternalServerError: {type(exc).__name__}: {exc}")
        finally:
            if ended:
                for closeable in job.closeables:
                    with contextlib.suppress(Exception):
                        closeable.close()
            else:
                with contextlib.suppress(Exception):
                    self._leave(job)
            if ended:
                try:
                    self._release(job)
                except Exception:
                    log.exception("releasing what %s %s used failed", self.kind.value, job.name)
            with self._lock:
                self._jobs.pop(job.name, None)

    def _prepare_and_launch(self, job: Job) -> None:
        self._advance(job, self.phases.preparing, "Preparing the instances for the job")
        containers = self._prepare(job)
        self._check_interrupted(job)
        job.start_time = utcnow()
        self._advance(
            job,
            self.phases.running,
            "Launching the containers",
            {START_KEY: job.start_time.isoformat(), HOSTS_KEY: {}},
        )
        recorded: dict[str, str] = {}
        for host in job.hosts:
            self._check_interrupted(job)
            handle = self.runtime.launch(containers[host])
            job.handles[host] = handle
            recorded[host] = handle.id
            self.catalog.update(self.kind, job.name, state_updates={HOSTS_KEY: dict(recorded)})

    def _check_interrupted(self, job: Job) -> None:
        if self._shutdown.is_set():
            raise _ShuttingDownError
        if job.stop_requested.is_set():
            raise _JobStoppedError

    def _advance(
        self,
        job: Job,
        secondary: str | None,
        message: str,
        state_updates: dict[str, Any] | None = None,
    ) -> ResourceRecord:
        """Record the next step while InProgress; raises _JobStoppedError if stopped meanwhile."""
        self._check_interrupted(job)
        try:
            return self.record.advance(job.name, secondary, message, state_updates)
        except IllegalTransitionError as exc:
            job.stop_requested.set()
            raise _JobStoppedError from exc

    def _message(self, secondary: str | None, fallback: str | None = None) -> str | None:
        return self.record.message(secondary, fallback)

    # -- running -------------------------------------------------------------

    def _supervise(self, job: Job) -> dict[str, int]:
        """Wait until every host has exited; stop them all on a stop, a failure or a timeout."""
        max_runtime_s = self._max_runtime_s(job)
        started = job.start_time or utcnow()
        next_periodic = time.monotonic() + self.periodic_interval_s
        while True:
            if self._shutdown.is_set():
                raise _ShuttingDownError
            codes = {host: handle.exit_code() for host, handle in job.handles.items()}
            if all(code is not None for code in codes.values()):
                return {host: int(code) for host, code in codes.items() if code is not None}
            if not job.stopping_hosts:
                if job.stop_requested.is_set():
                    self._stop_hosts(job)
                elif any(code not in (None, 0) for code in codes.values()):
                    self._stop_hosts(job)  # one host failed: the job has failed
                elif (
                    max_runtime_s is not None
                    and (utcnow() - started).total_seconds() > max_runtime_s
                ):
                    self._exceed_max_runtime(job, max_runtime_s)
            if time.monotonic() >= next_periodic:
                self._periodic(job)
                next_periodic = time.monotonic() + self.periodic_interval_s
            running = next(job.handles[host] for host, code in codes.items() if code is None)
            running.wait(self.poll_interval_s)

    def _exceed_max_runtime(self, job: Job, max_runtime_s: float) -> None:
        self.record.exceed_max_runtime(job.name, max_runtime_s)
        job.max_runtime_exceeded = True
        job.stop_requested.set()
        self._stop_hosts(job)

    def _stop_hosts(self, job: Job) -> None:
        """SIGTERM every host now, SIGKILL after the grace; returns at once."""
        job.stopping_hosts = True
        for host, handle in job.handles.items():
            threading.Thread(
                target=self._stop_quietly,
                args=(handle,),
                name=f"stop-{job.name}-{host}",
                daemon=True,
            ).start()

    def _stop_quietly(self, handle: Handle) -> None:
        try:
            handle.stop(self.stop_grace_s)
        except Exception:
            log.exception("stopping container %s failed", handle.id)

    # -- ending --------------------------------------------------------------

    def _end(self, job: Job, exit_codes: dict[str, int]) -> None:
        record = self.record.collecting(job.name)
        stopped = record.status == STOPPING
        outcome = self._stopped_outcome(job) if stopped else self._outcome(job, exit_codes)
        try:
            state = self._collect(job, outcome)
        except JobFailedError as failure:
            outcome = Outcome(FAILED, self.phases.failed, failure.reason)
            state = {}
        except Exception as exc:
            log.exception("collecting the results of %s failed", job.name)
            outcome = Outcome(
                FAILED, self.phases.failed, f"InternalServerError: collecting results: {exc}"
            )
            state = {}
        self._finish(job, outcome, state)

    def _stopped_outcome(self, job: Job) -> Outcome:
        return self.record.stopped_outcome(
            job.name,
            max_runtime_exceeded=job.max_runtime_exceeded,
            max_runtime_s=self._max_runtime_s(job),
        )

    def _finish(self, job: Job, outcome: Outcome, state: dict[str, Any]) -> None:
        self.record.finish(job.name, outcome, state, stopped=self._stopped_outcome(job))

    def _finish_failed(self, job: Job, reason: str) -> None:
        for handle in job.handles.values():
            self._stop_quietly(handle)
        with contextlib.suppress(ModelyardError):
            self._finish(job, Outcome(FAILED, self.phases.failed, reason[:1024]), {})

    # -- restarting ----------------------------------------------------------

    def _resume(self, record: ResourceRecord) -> None:
        if self._is_kept(record.name):
            return
        hosts_state: dict[str, str] = record.state.get(HOSTS_KEY) or {}
        count = int(record.state.get(HOST_COUNT_KEY) or 0)
        job = Job(name=record.name, spec=record.spec, hosts=sorted(hosts_state, key=host_order))
        if count and len(hosts_state) == count:
            try:
                job.handles = {h: self.runtime.adopt(i) for h, i in hosts_state.items()}
            except NotFoundError:
                job.handles = {}
        if count and job.launched:
            start = record.state.get(START_KEY)
            job.start_time = datetime.fromisoformat(start) if start else record.created_at
            job.max_runtime_exceeded = bool(record.state.get(MAX_RUNTIME_KEY))
            if record.status == STOPPING:
                job.stop_requested.set()
            self._run_worker(job, resumed=True)
            return
        # The server went away before every host was launched and recorded.
        self._stop_orphans(record.name)
        step = record.secondary_status or record.status
        job.hosts = []
        if record.status == STOPPING:
            self._finish(job, self._stopped_outcome(job), {})
        else:
            self._finish(
                job,
                Outcome(
                    FAILED,
                    self.phases.failed,
                    f"InternalServerError: the server restarted while the {self.noun} was "
                    f"{step}; create it again",
                ),
                {},
            )

    def _stop_orphans(self, name: str) -> None:
        """Stop containers launched for ``name`` whose handles were never recorded."""
        for handle in self.runtime.list():
            spec = getattr(handle, "spec", None)
            if not isinstance(spec, ContainerSpec):
                continue
            labels = spec.labels
            if labels.get(LABEL_KIND) == self.kind.value and labels.get(LABEL_JOB) == name:
                self._stop_quietly(handle)

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop the workers (never the jobs): the next server re-adopts them."""
        threads = self._stop_workers()
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def is_shutting_down(self) -> bool:
        return self._shutdown.is_set()

    # -- logs ----------------------------------------------------------------

    def logs(
        self,
        name: str,
        *,
        follow: bool = False,
        since_line: int = 0,
        host: str | None = None,
        poll_interval_s: float = 0.2,
    ) -> Iterator[str]:
        """The job's container log; several hosts are merged, each line led by ``[algo-i]``.

        With ``follow``, waits for the containers to be launched and streams until they
        have exited. The job (and the host) are checked before the first line is asked for.
        """
        record = self.get(name)
        job_logs.check_host(record, host)
        return job_logs.log_lines(
            self.catalog,
            self.runtime,
            record,
            follow=follow,
            since_line=since_line,
            host=host,
            poll_interval_s=poll_interval_s,
            shutting_down=self._shutdown.is_set,
        )
