"""The agent alone: serving offline, switching and refusing packages, the capture buffer."""

from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard_edge import AgentConfig, EdgeAgent, NoModelError, UpdateRejectedError
from modelyard_edge.buffer import CaptureBuffer
from modelyard_edge.server import EdgeServer
from modelyard_edge.sync import ControlPlaneUnavailableError
from tests import packages

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def _agent(tmp_path: Path, **kwargs: Any) -> EdgeAgent:
    config = AgentConfig(
        root=tmp_path / "agent", device="pi-1", trusted_keys=[packages.PUBLIC_HEX], **kwargs
    )
    return EdgeAgent(config)


def _post(
    url: str, body: bytes, content_type: str = "application/json", accept: str = "application/json"
) -> bytes:
    request = urllib.request.Request(
        url + "/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": content_type, "Accept": accept},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def test_serves_with_no_control_plane_at_all(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    with pytest.raises(NoModelError):
        agent.predict(np.asarray(ROWS))
    agent.install(packages.build(tmp_path, labels=["setosa", "versicolor", "virginica"]))
    outputs = agent.predict(np.asarray(ROWS, dtype=np.float32))
    assert set(outputs) == {"label", "probabilities"}
    assert set(outputs["label"]) <= {"setosa", "versicolor", "virginica"}
    with pytest.raises(ControlPlaneUnavailableError):
        agent.sync_once()


def test_an_unreachable_control_plane_never_stops_serving(tmp_path: Path) -> None:
    agent = _agent(
        tmp_path,
        control_plane="http://127.0.0.1:9",
        fleet="f",
        heartbeat_interval_s=0.05,
        max_backoff_s=0.1,
    )
    agent.install(packages.build(tmp_path))
    agent.start_sync()
    try:
        with EdgeServer(agent) as server:
            for _ in range(20):
                answer = json.loads(_post(server.url, json.dumps({"instances": ROWS}).encode()))
                assert len(answer["predictions"]) == 2
                assert answer["model_version"] == "1"
    finally:
        agent.stop()
    assert agent.metrics.snapshot()["Invocations"] == 20
    assert agent.buffer.pending_records() >= 20  # captures kept for later


def test_http_contract_json_csv_npy(tmp_path: Path) -> None:
    import io

    agent = _agent(tmp_path)
    with EdgeServer(agent) as server:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server.url + "/ping", timeout=5)
        assert caught.value.code == 503
        caught.value.close()
        agent.install(packages.build(tmp_path))
        with urllib.request.urlopen(server.url + "/ping", timeout=5) as response:
            assert response.status == 200
        csv = _post(server.url, b"5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n", "text/csv", "text/csv")
        assert len(csv.decode().splitlines()) == 2
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(ROWS, dtype=np.float32))
        npy = _post(server.url, buffer.getvalue(), "application/x-npy", "application/x-npy")
        assert np.load(io.BytesIO(npy)).shape == (2,)
        inputs = json.dumps({"inputs": {"input": ROWS}}).encode()
        assert "probabilities" in json.loads(_post(server.url, inputs))["outputs"]
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(server.url, b"x", "application/xml")
        assert caught.value.code == 415
        caught.value.close()


def test_a_corrupted_update_is_rolled_back(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    agent.install(packages.build(tmp_path, "v1"))
    good = packages.build(tmp_path, "v2", model="linear-b", version="2").read_bytes()
    corrupted = tmp_path / "corrupted.tar.gz"
    corrupted.write_bytes(good[: len(good) // 2])
    with pytest.raises(UpdateRejectedError, match="not a readable archive"):
        agent.install(corrupted)
    assert agent.version == "1"
    assert agent.failed_update is not None
    assert agent.predict(np.asarray(ROWS))["label"].shape == (2,)


def test_a_failing_self_test_is_rolled_back(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    agent.install(packages.build(tmp_path, "v1"))
    bad = packages.build(tmp_path, "v2", model="linear-b", version="2", selftest_model="linear-a")
    with pytest.raises(UpdateRejectedError, match="differs by"):
        agent.install(bad)
    assert agent.version == "1"
    assert "differs by" in agent.heartbeat_report()["FailedUpdate"]["Reason"]


def test_a_tampered_update_is_refused(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    agent.install(packages.build(tmp_path, "v1"))
    directory = packages.build_dir(tmp_path / "v2", model="linear-b", version="2")
    (directory / "model.onnx").write_bytes((packages.DATA / "linear-a.onnx").read_bytes())
    with pytest.raises(UpdateRejectedError, match="does not match the manifest"):
        agent.install(packages.tarball(directory, tmp_path / "v2.tar.gz"))
    assert agent.version == "1"


def test_a_switch_while_serving_fails_no_request(tmp_path: Path) -> None:
    agent = _agent(tmp_path, capture_percentage=0.0)
    agent.install(packages.build(tmp_path, "v1"))
    v2 = packages.build(tmp_path, "v2", model="linear-b", version="2")
    failures: list[BaseException] = []
    versions: set[str] = set()
    stop = threading.Event()

    def client(url: str) -> None:
        body = json.dumps({"instances": ROWS}).encode()
        while not stop.is_set():
            try:
                versions.add(json.loads(_post(url, body))["model_version"])
            except BaseException as exc:
                failures.append(exc)

    with EdgeServer(agent) as server:
        threads = [threading.Thread(target=client, args=(server.url,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        while agent.metrics.snapshot()["Invocations"] < 50:
            time.sleep(0.001)
        agent.install(v2)
        seen = agent.metrics.snapshot()["Invocations"]
        while agent.metrics.snapshot()["Invocations"] < seen + 50:
            time.sleep(0.001)
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert versions == {"1", "2"}
    assert agent.version == "2"


def test_a_restarted_agent_serves_the_last_good_package(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    agent.install(packages.build(tmp_path, "v1"))
    agent.install(packages.build(tmp_path, "v2", model="linear-b", version="2"))
    again = _agent(tmp_path)
    assert again.load_current()
    assert again.version == "2"


def test_the_capture_buffer_stays_within_its_bound(tmp_path: Path) -> None:
    buffer = CaptureBuffer(tmp_path / "captures", max_bytes=20_000, segment_bytes=4_000)
    record = {"Type": "capture", "Input": list(range(50))}
    for _ in range(1000):
        buffer.append(record)
    assert buffer.size_bytes() <= 20_000 + 4_000
    assert buffer.dropped > 0
    assert buffer.pending_records() + buffer.dropped == 1000
    buffer.close()
    reopened = CaptureBuffer(tmp_path / "captures", max_bytes=20_000, segment_bytes=4_000)
    assert (reopened.dropped, reopened.captured) == (buffer.dropped, 1000)
    segments = reopened.take()
    assert CaptureBuffer.read(segments[0])[0] == record
    reopened.ack(segments[0])
    assert len(reopened.segments()) == len(segments) - 1


def test_the_agent_imports_nothing_of_modelyard() -> None:
    import ast

    source_dir = Path(__file__).parent.parent / "src" / "modelyard_edge"
    for path in source_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] != "modelyard", f"{path.name} imports {name}"


def test_a_package_directory_is_copied_before_it_is_served(tmp_path: Path) -> None:
    directory = packages.build_dir(tmp_path / "dir")
    agent = _agent(tmp_path)
    agent.install(directory)
    shutil.rmtree(directory)
    again = _agent(tmp_path)
    assert again.load_current()
    assert again.predict(np.asarray(ROWS))["label"].shape == (2,)
