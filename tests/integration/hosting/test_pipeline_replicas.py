"""A pipeline replica launched for real: serving processes and the front, one replica to callers.

The local runtime runs modelyard's own serving entry with this virtualenv as the
"image" (no image to build); each container has a ``transform_fn`` of its own. What
the controller relies on is checked through the launcher alone: one target, a probe
that waits for every container and names the one at fault, the group's utilisation,
adoption from the recorded ``HandleId`` or from the front's labels, and one stop.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.hosting.replica_process import PipelineReplicaProcess, ReplicaProcess
from modelyard.hosting.replica_set import Health, Probe
from modelyard.hosting.replicas import (
    ContainerLaunch,
    LaunchRequest,
    ReplicaLauncher,
)
from modelyard.jobs.instance_types import instance_profile
from modelyard.runtime.local import LocalProcessRuntime

APPEND_ONE = """
def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    return input_data.strip() + ",1", "text/csv"
"""
SUM_AS_JSON = """
import json


def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    return json.dumps({"sum": sum(float(v) for v in input_data.split(","))}), "application/json"
"""
BROKEN = """
def model_fn(model_dir):
    raise RuntimeError("no weights here")
"""


def _container(root: Path, index: int, script: str) -> ContainerLaunch:
    base = root / str(index)
    (base / "model" / "code").mkdir(parents=True)
    (base / "model" / "code" / "inference.py").write_text(script)
    return ContainerLaunch(
        image_root=Path(sys.prefix),
        base_dir=base,
        environment={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        image="venv",
        label=f"container {index} (step{index})",
    )


def _request(replica_id: str, *containers: ContainerLaunch) -> LaunchRequest:
    first = containers[0]
    return LaunchRequest(
        replica_id=replica_id,
        endpoint="ep",
        variant="AllTraffic",
        image_root=first.image_root,
        base_dir=first.base_dir,
        environment=first.environment,
        profile=instance_profile("local"),
        model_timeout_s=10.0,
        containers=containers,
    )


def _wait(process: ReplicaProcess, *settled: Health) -> Probe:
    deadline = time.monotonic() + 60
    while True:
        probe = process.probe(2.0)
        if probe.health in settled:
            return probe
        assert time.monotonic() < deadline, f"the replica did not settle: {probe}"
        time.sleep(0.1)


def _invoke(process: ReplicaProcess, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(process.target.host, process.target.port, timeout=10)
    try:
        conn.request("POST", "/invocations", body, {"Content-Type": "text/csv"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[ReplicaLauncher]:
    runtime = LocalProcessRuntime(tmp_path / "containers")
    yield ReplicaLauncher(runtime)
    for handle in runtime.list():
        if handle.is_running():
            handle.stop(2.0)


def test_a_pipeline_replica_serves_heals_and_stops_as_one(
    launcher: ReplicaLauncher, tmp_path: Path
) -> None:
    request = _request(
        "pipe-1",
        _container(tmp_path / "models", 0, APPEND_ONE),
        _container(tmp_path / "models", 1, SUM_AS_JSON),
    )
    process = launcher.launch(request)
    assert isinstance(process, PipelineReplicaProcess)
    assert _wait(process, Health.READY, Health.EXITED).health is Health.READY
    assert _invoke(process, b"2,3") == (200, json.dumps({"sum": 6.0}).encode())
    conn = http.client.HTTPConnection(process.target.host, process.target.port, timeout=10)
    conn.request("GET", "/execution-parameters")
    proposed = json.loads(conn.getresponse().read())
    conn.close()
    assert set(proposed) == {"MaxConcurrentTransforms", "BatchStrategy", "MaxPayloadInMB"}
    _cpu, rss = process.utilization()
    assert rss > sum(m.process.utilization()[1] for m in process.members)  # + the front's

    front_id, *container_ids = process.handle_id.split(",")
    assert len(container_ids) == 2
    for recorded in (process.handle_id, front_id):
        adopted = launcher.adopt("pipe-1", recorded)
        assert isinstance(adopted, PipelineReplicaProcess)
        assert adopted.target == process.target
        assert [m.label for m in adopted.members] == ["container 0 (step0)", "container 1 (step1)"]
    found = launcher.find("pipe-1")
    assert found is not None
    assert found.id == front_id
    assert sorted(h.id for h in launcher.running_for("ep")) == sorted(process.handle_ids())

    victim = process.members[1].process.handle
    pid = victim.pid()
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    victim.wait(30)
    probe = process.probe(2.0)
    assert probe.health is Health.EXITED
    assert probe.detail.startswith("container 1 (step1) exited")
    assert launcher.adopt("pipe-1", process.handle_id) is None  # all of it, or none
    assert launcher.adopt("pipe-1", front_id) is None

    process.stop(2.0)
    assert launcher.running_for("ep") == []


def test_a_container_that_cannot_load_its_model_is_named_by_the_probe(
    launcher: ReplicaLauncher, tmp_path: Path
) -> None:
    request = _request(
        "pipe-2",
        _container(tmp_path / "models", 0, APPEND_ONE),
        _container(tmp_path / "models", 1, BROKEN),
    )
    process = launcher.launch(request)
    probe = _wait(process, Health.MODEL_FAILED, Health.READY, Health.EXITED)
    assert probe.health is Health.MODEL_FAILED
    assert probe.detail.startswith("container 1 (step1): model_fn:")
    assert "no weights here" in probe.detail
    status, body = _invoke(process, b"1")
    assert status == 500
    assert json.loads(body)["error"]["message"].startswith("container 1 (step1): model_fn:")
    process.stop(2.0)
