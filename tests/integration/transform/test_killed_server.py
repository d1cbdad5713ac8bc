"""A server killed outright mid-job: the next one stops the orphaned replica and resumes."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from modelyard.api import server
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.runtime import get_runtime
from tests.integration.hosting.conftest import Artifacts, stop_leftover_replicas

from .conftest import Transform

ROW = b"5.1,3.5,1.4,0.2\n"


@pytest.fixture
def background(modelyard_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    monkeypatch.setenv("MODELYARD_ENDPOINT_STOP_GRACE_S", "5")
    reset_settings()
    settings = get_settings()
    try:
        yield settings
    finally:
        server.stop_background(settings)
        stop_leftover_replicas(settings)


def replica_pids(settings: Settings, name: str) -> list[int]:
    """The pids of the running containers labelled as the job's replicas."""
    runtime = get_runtime(settings)
    found = []
    for handle in runtime.list():
        spec = getattr(handle, "spec", None)
        if spec is not None and spec.labels.get("modelyard.endpoint") == name:
            pid = handle.pid()
            if pid is not None and handle.is_running():
                found.append(pid)
    return found


def test_a_killed_server_leaves_no_replica_behind_and_the_job_resumes(
    background: Settings, artifacts: Artifacts
) -> None:
    with Transform(server.start_background(background), artifacts) as first:
        first.create_model("slow", artifacts.sleepy)
        for index in range(8):
            first.put(f"s3://data/parts/part-{index}.csv", ROW * 2)
        first.put("s3://out/.keep", b"")
        created = first.create(
            "killed",
            "slow",
            "s3://data/parts/",
            ContentType="text/csv",
            SplitType="Line",
            Accept="text/csv",
            AssembleWith="Line",
            BatchStrategy="SingleRecord",
            MaxConcurrentTransforms=1,
            Environment={"PREDICT_SLEEP_S": "0.3"},
        )
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 120
        while (first.describe("killed").get("TransformProgress") or {}).get("ObjectsDone", 0) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        orphans = replica_pids(background, "killed")
        assert orphans

    state = server.read_state(background)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    psutil.Process(state.pid).wait(timeout=30)
    assert all(psutil.pid_exists(pid) for pid in orphans)  # the replica outlived its server

    with Transform(server.start_background(background), artifacts) as second:
        described = second.wait("killed")
        assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
        for index in range(8):
            assert second.get(f"s3://out/killed/part-{index}.csv.out").split() == [b"0", b"0"]
        assert "the server restarted: resuming" in second.logs("killed")
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        for pid in orphans
    )
