"""A server killed outright re-adopts an inference pipeline's replica as one group, or none of it.

The pipeline: a pass-through ``transform_fn`` container, then the logistic classifier,
both in the sklearn:1.5 image. While the server is down nothing happens to the group;
the next server adopts the front and both containers (same processes, same
``HandleId``). If a container dies while no server watches, the next server adopts
nothing of that replica: it stops the survivors and launches a whole new group.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from modelyard.api import server
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.runtime import get_runtime

from .conftest import (
    FAST_HEALTH,
    IMAGE,
    Artifacts,
    Hosting,
    csv_rows,
    stop_leftover_replicas,
    tar_bytes,
    variant,
)

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3]]
PASS_THROUGH = b"""
def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    return input_data, "text/csv"
"""


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
            Hosting(state.url, artifacts).delete_everything()
        server.stop_background(settings)
        stop_leftover_replicas(settings)


def _kill_server(settings: Settings) -> None:
    state = server.read_state(settings)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    psutil.Process(state.pid).wait(timeout=30)


def _serves(hosting: Hosting) -> Any:
    def answered() -> Any:
        response = hosting.invoke("chain", csv_rows(ROWS), accept="application/json")
        return response.status_code == 200 and response.json()

    return hosting.wait_until(answered, timeout_s=90, message="the pipeline does not serve")


def _group(hosting: Hosting) -> dict[str, Any]:
    (replica,) = [r for r in hosting.replicas("chain") if r["Status"] == "Running"]
    return replica


def test_a_pipeline_replica_is_readopted_whole_or_replaced(
    background: Settings, artifacts: Artifacts, tmp_path: Path
) -> None:
    hosting = Hosting(server.start_background(background), artifacts)
    passing = tmp_path / "pass.tar.gz"
    passing.write_bytes(tar_bytes({"code/inference.py": PASS_THROUGH}))
    workers = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
    containers = [
        {"Image": IMAGE, "ModelDataUrl": hosting.upload(passing, "chain/0.tar.gz")},
        {"Image": IMAGE, "ModelDataUrl": hosting.upload(artifacts.logistic, "chain/1.tar.gz")},
    ]
    response = hosting.http.post(
        "/models",
        json={
            "ModelName": "chain",
            "Containers": [{**c, "Environment": workers} for c in containers],
        },
    )
    assert response.status_code == 201, response.text
    hosting.create_config("chain", [variant("AllTraffic", "chain")])
    hosting.create_endpoint("chain", "chain")
    assert _serves(hosting) == [0, 2]
    before = _group(hosting)
    handles = str(before["HandleId"]).split(",")
    assert len(handles) == 3  # the front, then each container
    hosting.http.close()

    _kill_server(background)
    runtime = get_runtime(background)
    assert all(runtime.adopt(h).is_running() for h in handles)  # the group outlives it
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.bucket_ready = True
    assert _serves(hosting) == [0, 2]
    after = _group(hosting)
    assert (after["ReplicaId"], after["HandleId"], after["Pid"]) == (
        before["ReplicaId"],
        before["HandleId"],
        before["Pid"],
    )
    hosting.http.close()

    _kill_server(background)
    dead = runtime.adopt(handles[2])
    pid = dead.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    dead.wait(30)
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.bucket_ready = True
    assert _serves(hosting) == [0, 2]
    replaced = _group(hosting)
    assert replaced["ReplicaId"] != before["ReplicaId"]
    deadline = time.monotonic() + 30
    while any(runtime.adopt(h).is_running() for h in handles[:2]):
        assert time.monotonic() < deadline, "the survivors of the broken group still run"
        time.sleep(0.1)
    hosting.http.close()
