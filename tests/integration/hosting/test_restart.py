"""A server killed outright and started again re-adopts the replicas: the endpoint keeps serving."""

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

from .conftest import (
    FAST_HEALTH,
    Artifacts,
    Hosting,
    csv_rows,
    stop_leftover_replicas,
    variant,
)

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3]]


@pytest.fixture
def background(
    artifacts: Artifacts, modelyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    for key, value in FAST_HEALTH.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    reset_settings()
    settings = get_settings()
    try:
        yield settings
    finally:
        state = server.read_state(settings)
        if state is not None:
            hosting = Hosting(state.url, artifacts)
            hosting.delete_everything()
        server.stop_background(settings)
        stop_leftover_replicas(settings)


def _kill_server(settings: Settings) -> None:
    state = server.read_state(settings)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    psutil.Process(state.pid).wait(timeout=30)


def test_a_killed_server_readopts_running_replicas(
    background: Settings, artifacts: Artifacts
) -> None:
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.deploy("survivor", artifacts.logistic, count=2)
    before = {r["ReplicaId"]: r["Pid"] for r in hosting.replicas("survivor")}
    assert len(before) == 2
    hosting.http.close()

    _kill_server(background)
    assert all(psutil.pid_exists(int(pid)) for pid in before.values())  # replicas outlive it

    started = time.monotonic()
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.bucket_ready = True
    answer = hosting.wait_until(
        lambda: (
            (r := hosting.invoke("survivor", csv_rows(ROWS), accept="application/json")).status_code
            == 200
            and r
        ),
        timeout_s=60,
        message="the endpoint does not serve after the restart",
    )
    assert answer.json() == [0, 2]
    assert time.monotonic() - started < 30
    after = {r["ReplicaId"]: r["Pid"] for r in hosting.replicas("survivor")}
    assert after == before  # the same processes, re-adopted, none relaunched
    described = hosting.describe("survivor")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    hosting.http.close()


def test_an_endpoint_being_created_when_the_server_dies_comes_up_after_restart(
    background: Settings, artifacts: Artifacts
) -> None:
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.create_model("late-model", artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_config("late", [variant("AllTraffic", "late-model")])
    hosting.create_endpoint("late", "late", wait=False)
    hosting.http.close()
    _kill_server(background)

    hosting = Hosting(server.start_background(background), artifacts)
    hosting.bucket_ready = True
    described = hosting.wait("late")
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1
    answer = hosting.invoke("late", csv_rows(ROWS), accept="application/json")
    assert answer.status_code == 200
    hosting.http.close()
