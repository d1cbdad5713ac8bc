"""The shared job lifecycle on a fake runtime: a minimal controller, as processing jobs will be.

The catalog is a real (in-memory) one; the runtime's handles exit when the test says,
so races (a stop against a completion, a host failing, a restart) are played exactly.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.errors import ConflictError, NotFoundError
from modelyard.ids import ResourceKind
from modelyard.jobs.base import JobController
from modelyard.jobs.job import HOST_COUNT_KEY, HOSTS_KEY, Job, Outcome
from modelyard.runtime.base import ContainerSpec, Handle, Runtime

KIND = ResourceKind.PROCESSING_JOB


class FakeHandle(Handle):
    def __init__(self, handle_id: str, lines: list[str]) -> None:
        self._id = handle_id
        self.code: int | None = None
        self.stopped = threading.Event()
        self.lines = lines

    @property
    def id(self) -> str:
        return self._id

    def is_running(self) -> bool:
        return self.code is None

    def exit_code(self) -> int | None:
        return self.code

    def wait(self, timeout_s: float | None = None) -> int | None:
        time.sleep(min(timeout_s or 0.01, 0.01))
        return self.code

    def stop(self, grace_s: float = 120.0) -> int | None:
        self.stopped.set()
        if self.code is None:
            self.code = 143
        return self.code

    def logs(self, *, follow: bool = False, since_line: int = 0) -> Iterator[str]:
        return iter(self.lines[since_line:])

    def ports(self) -> dict[str, int]:
        return {}


class FakeRuntime(Runtime):
    def __init__(self) -> None:
        self.handles: dict[str, FakeHandle] = {}
        self._ids = itertools.count(1)

    def launch(self, spec: ContainerSpec) -> FakeHandle:
        handle = FakeHandle(f"c{next(self._ids)}", [f"hello from {spec.name}"])
        self.handles[handle.id] = handle
        return handle

    def adopt(self, handle_id: str) -> FakeHandle:
        try:
            return self.handles[handle_id]
        except KeyError:
            raise NotFoundError(handle_id) from None

    def list(self) -> list[Handle]:
        return list(self.handles.values())


class MiniController(JobController):
    """Everything a kind must say: what to launch and how exit codes read."""

    kind = KIND
    noun = "processing job"

    def create(self, name: str, hosts: int) -> None:
        record = self.catalog.create(KIND, name, spec={"N": hosts}, state={HOST_COUNT_KEY: hosts})
        self._start(record, [f"algo-{i}" for i in range(1, hosts + 1)])

    def _prepare(self, job: Job) -> dict[str, ContainerSpec]:
        return {host: ContainerSpec(name=f"{job.name}-{host}", command=["x"]) for host in job.hosts}

    def _outcome(self, job: Job, exit_codes: dict[str, int]) -> Outcome:
        bad = {h: c for h, c in exit_codes.items() if c}
        return Outcome("Failed", None, f"exit codes {bad}") if bad else Outcome("Completed")

    def _max_runtime_s(self, job: Job) -> float | None:
        return job.spec.get("MaxRuntime")


@pytest.fixture
def catalog() -> Iterator[SqlCatalog]:
    with SqlCatalog("sqlite://") as found:
        found.migrate()
        yield found


@pytest.fixture
def runtime() -> FakeRuntime:
    return FakeRuntime()


@pytest.fixture
def controller(catalog: SqlCatalog, runtime: FakeRuntime, settings: Settings) -> Iterator[Any]:
    found = MiniController(catalog, runtime, settings, poll_interval_s=0.005)
    yield found
    found.shutdown()


def _launched(controller: MiniController, name: str, hosts: int) -> list[FakeHandle]:
    deadline = time.monotonic() + 5
    while True:
        ids = controller.get(name).state.get(HOSTS_KEY) or {}
        if len(ids) == hosts:
            return [controller.runtime.adopt(ids[f"algo-{i}"]) for i in range(1, hosts + 1)]
        assert time.monotonic() < deadline
        time.sleep(0.005)


def _ended(controller: MiniController, name: str) -> Any:
    deadline = time.monotonic() + 5
    while True:
        record = controller.get(name)
        if record.status in ("Completed", "Failed", "Stopped"):
            return record
        assert time.monotonic() < deadline, record
        time.sleep(0.005)


def test_a_job_completes_when_every_host_exits_zero(controller: MiniController) -> None:
    controller.create("ok", 2)
    first, second = _launched(controller, "ok", 2)
    first.code = 0
    time.sleep(0.05)
    assert controller.get("ok").status == "InProgress"
    second.code = 0
    assert _ended(controller, "ok").status == "Completed"
    assert list(controller.logs("ok")) == [
        "[algo-1] hello from ok-algo-1",
        "[algo-2] hello from ok-algo-2",
    ]


def test_one_failing_host_stops_the_others_and_fails_the_job(controller: MiniController) -> None:
    controller.create("bad", 2)
    first, second = _launched(controller, "bad", 2)
    second.code = 1
    record = _ended(controller, "bad")
    assert first.stopped.is_set()
    assert record.status == "Failed"
    assert "'algo-2': 1" in (record.failure_reason or "")


def test_a_stop_wins_over_a_completion_that_comes_after_it(controller: MiniController) -> None:
    controller.create("race", 1)
    (handle,) = _launched(controller, "race", 1)
    assert controller.stop("race").status == "Stopping"
    handle.code = 0  # it completed on its own meanwhile
    assert _ended(controller, "race").status == "Stopped"
    with pytest.raises(ConflictError):
        controller.stop("race")


def test_max_runtime_stops_the_job(controller: MiniController, catalog: SqlCatalog) -> None:
    record = catalog.create(KIND, "slow", spec={"MaxRuntime": 0.05}, state={HOST_COUNT_KEY: 1})
    controller._start(record, ["algo-1"])
    (handle,) = _launched(controller, "slow", 1)
    ended = _ended(controller, "slow")
    assert handle.stopped.is_set()
    assert ended.status == "Stopped"
    assert "MaxRuntimeInSeconds" in (ended.failure_reason or "")


def test_a_new_controller_re_adopts_running_jobs(
    controller: MiniController, catalog: SqlCatalog, runtime: FakeRuntime, settings: Settings
) -> None:
    controller.create("kept", 1)
    (handle,) = _launched(controller, "kept", 1)
    controller.shutdown()
    assert controller.get("kept").status == "InProgress"

    successor = MiniController(catalog, runtime, settings, poll_interval_s=0.005)
    try:
        successor.reconcile()
        handle.code = 0
        assert _ended(successor, "kept").status == "Completed"
    finally:
        successor.shutdown()
