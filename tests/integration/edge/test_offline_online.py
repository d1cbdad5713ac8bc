"""An agent started while the control plane is down serves, then syncs once it comes up."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import modelyard_edge as modelyard_edge
import numpy as np
import uvicorn

from modelyard.api.app import create_app
from modelyard.api.services import build_services
from modelyard.config import Settings
from tests.unit.edge import models


def _package(tmp_path: Path) -> Path:
    """A LogisticRegression compiled and packaged in-process by modelyard's own libraries."""
    from modelyard.edge.compile import CompileRequest, compile_model
    from modelyard.edge.package import build_manifest, write_package
    from modelyard.edge.targets import get_target

    sample = models.sklearn_model(tmp_path / "model", "logistic")
    request = CompileRequest(
        framework="sklearn",
        model_dir=tmp_path / "model",
        target=get_target("onnx-cpu-x86_64"),
        sample={"input": sample},
    )
    report = compile_model(request, tmp_path / "compiled")
    manifest = build_manifest(tmp_path / "compiled", name="iris", version="7", report=report)
    return write_package(tmp_path / "compiled", manifest, tmp_path / "iris-7.tar.gz")


def test_the_agent_serves_offline_and_catches_up(settings: Settings, tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # reserved, not listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    services = build_services(settings)
    services.edge.fleets.create_fleet({"DeviceFleetName": "kiosks"})
    agent = modelyard_edge.EdgeAgent(
        modelyard_edge.AgentConfig(
            root=tmp_path / "agent",
            device="pi-7",
            fleet="kiosks",
            control_plane=url,
            heartbeat_interval_s=0.1,
            max_backoff_s=0.2,
        )
    )
    agent.install(_package(tmp_path))
    server = uvicorn.Server(uvicorn.Config(create_app(services), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    agent.start_sync()
    try:
        time.sleep(0.5)  # a few failed syncs while offline, serving all along
        rows = np.asarray([[5.1, 3.5, 1.4, 0.2]] * 3, dtype=np.float32)
        for _ in range(10):
            assert list(agent.predict(rows)["label"]) == [0, 0, 0]
        thread.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                device = services.edge.fleets.device("pi-7")
                if device.state.get("LatestHeartbeat"):
                    break
            except Exception:
                pass
            assert time.monotonic() < deadline, "the agent never reached the control plane"
            time.sleep(0.05)
        assert device.spec["DeviceFleetName"] == "kiosks"
        assert device.status == "READYTODEPLOY"
        assert device.state["Models"][0]["ModelVersion"] == "7"
        deadline = time.monotonic() + 20
        while services.edge.fleets.device("pi-7").state.get("CaptureCount", 0) < 10:
            assert time.monotonic() < deadline, "the offline captures never arrived"
            time.sleep(0.05)
    finally:
        agent.stop()
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=10)
        sock.close()
        services.close()
