"""What every job kind's controller keeps alike: its rows, one worker per job, stop, restart.

Training and processing (:class:`modelyard.jobs.base.JobController`, containers on
hosts) and transform (:class:`modelyard.jobs.transform.TransformController`, replicas
of a model) run their jobs differently, but they record them the same way: a free name
is checked before anything else, the row is written then moved ``InProgress``; a stop
is recorded before the worker hears of it; on a server restart every job the catalog
says is active is handed back to :meth:`JobWorkers._resume`; a shutdown stops the
workers, never the jobs. Subclasses say how one job runs (``_work``) and resumes.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.errors import AlreadyExistsError, NotFoundError
from modelyard.ids import ResourceKind
from modelyard.jobs.job import ACTIVE_STATUSES, Job, Phases
from modelyard.jobs.record import JobRecord

log = logging.getLogger(__name__)


class JobWorkers(abc.ABC):
    """The jobs of one kind this process runs, each on its own worker thread."""

    kind: ClassVar[ResourceKind]
    phases: ClassVar[Phases] = Phases()
    #: How messages name a job of this kind ("training job").
    noun: ClassVar[str] = "job"
    #: Status messages (SecondaryStatusTransitions' StatusMessage) by secondary status.
    status_messages: ClassVar[dict[str, str]] = {}
    #: Worker threads are named ``<prefix>-<job name>``.
    thread_prefix: ClassVar[str] = "job"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.record = JobRecord(
            catalog,
            self.kind,
            self.phases,
            noun=self.noun,
            status_messages=self.status_messages,
        )
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._shutdown = threading.Event()

    @abc.abstractmethod
    def _work(self, job: Job, resumed: bool) -> None:
        """Run the job to its end (on its worker thread); forget it in ``self._jobs`` last."""

    @abc.abstractmethod
    def _resume(self, record: ResourceRecord) -> None:
        """Take back a job the catalog says is active, after a server restart."""

    # -- creating ------------------------------------------------------------

    def get(self, name: str) -> ResourceRecord:
        return self.catalog.get(self.kind, name)

    def _check_free_name(self, name: str, field: str) -> None:
        """Checked first, so that a taken name is the error a retried create gets."""
        with contextlib.suppress(NotFoundError):
            self.get(name)
            raise AlreadyExistsError(f"{self.noun} {name!r} already exists", field=field)

    def _record_created(
        self, name: str, spec: dict[str, Any], state: dict[str, Any], field: str
    ) -> ResourceRecord:
        """Write the validated job's row and move it ``InProgress`` (its first step)."""
        try:
            self.catalog.create(self.kind, name, spec=spec, state=state)
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(exc.message, field=field) from exc
        return self.catalog.transition(
            self.kind,
            name,
            "InProgress",
            secondary_status=self.phases.starting,
            message=self.record.message(self.phases.starting),
        )

    def _summaries(
        self, key: str, summary: Callable[[ResourceRecord], dict[str, Any]], filters: Any
    ) -> dict[str, Any]:
        """One List* page: ``{key: [summary, ...]}`` and ``NextToken`` when there are more."""
        page = self.catalog.list(self.kind, **filters)
        body: dict[str, Any] = {key: [summary(r) for r in page.records]}
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def _run_worker(self, job: Job, *, resumed: bool) -> None:
        with self._lock:
            if job.name in self._jobs:
                return
            self._jobs[job.name] = job
        job.thread = threading.Thread(
            target=self._work,
            args=(job, resumed),
            name=f"{self.thread_prefix}-{job.name}",
            daemon=True,
        )
        job.thread.start()

    # -- stopping ------------------------------------------------------------

    def stop(self, name: str) -> ResourceRecord:
        """Record Stopping, then tell the job's worker (it stops what runs, asynchronously)."""
        record = self.record.request_stop(name)
        with self._lock:
            job = self._jobs.get(name)
        if job is not None:
            job.stop_requested.set()
        return record

    # -- restarting ----------------------------------------------------------

    def reconcile(self) -> None:
        """Resume every job the catalog says is active (InProgress or Stopping)."""
        for status in ACTIVE_STATUSES:
            token = None
            while True:
                page = self.catalog.list(self.kind, status=status, next_token=token)
                for record in page.records:
                    try:
                        self._resume(record)
                    except Exception:
                        log.exception("resuming %s %s failed", self.noun, record.name)
                token = page.next_token
                if not token:
                    break

    def _is_kept(self, name: str) -> bool:
        """Whether a worker of this process already runs the job (nothing to resume)."""
        with self._lock:
            return name in self._jobs

    def _stop_workers(self) -> list[threading.Thread]:
        """Tell every worker the server shuts down; their threads, to be joined."""
        self._shutdown.set()
        with self._lock:
            return [job.thread for job in self._jobs.values() if job.thread is not None]
