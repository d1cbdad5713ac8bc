"""A job's vocabulary: statuses, state keys, its in-memory companion, how it ends.

Shared by :mod:`modelyard.jobs.base` (the lifecycle), :mod:`modelyard.jobs.job_logs`
and each kind's controller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from modelyard.runtime.base import Handle

IN_PROGRESS = "InProgress"
STOPPING = "Stopping"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPED = "Stopped"
ACTIVE_STATUSES = (IN_PROGRESS, STOPPING)

#: State keys written by the base controller.
HOSTS_KEY = "Hosts"  # {"algo-1": "<handle id>", ...}, complete once every host launched
HOST_COUNT_KEY = "HostCount"
START_KEY = "StartTime"  # ISO time the containers were launched
END_KEY = "EndTime"  # ISO time the last container exited
MAX_RUNTIME_KEY = "MaxRuntimeExceeded"

LABEL_KIND = "modelyard.kind"
LABEL_JOB = "modelyard.job"
LABEL_HOST = "modelyard.host"


class Closeable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class Phases:
    """The secondary statuses a kind reports at each step (``None``: it has none)."""

    starting: str | None = None
    preparing: str | None = None
    running: str | None = None
    collecting: str | None = None
    stopping: str | None = None
    max_runtime: str | None = None
    completed: str | None = None
    failed: str | None = None
    stopped: str | None = None


@dataclass(frozen=True)
class Outcome:
    """How the job ends: its status, secondary status and reason."""

    status: str
    secondary_status: str | None = None
    failure_reason: str | None = None
    message: str | None = None


@dataclass
class Job:
    """A job's in-memory companion while a worker runs it."""

    name: str
    spec: dict[str, Any]
    hosts: list[str]
    handles: dict[str, Handle] = field(default_factory=dict)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    start_time: datetime | None = None
    closeables: list[Closeable] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    thread: threading.Thread | None = None
    stopping_hosts: bool = False
    max_runtime_exceeded: bool = False

    @property
    def launched(self) -> bool:
        return bool(self.hosts) and set(self.handles) == set(self.hosts)


class JobFailedError(Exception):
    """Raised by a hook: the job fails with ``reason`` as its FailureReason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def host_order(host: str) -> tuple[int, str]:
    """``algo-2`` before ``algo-10``."""
    number = host.rpartition("-")[2]
    return (int(number), host) if number.isdigit() else (0, host)
