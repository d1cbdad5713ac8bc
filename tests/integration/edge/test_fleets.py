"""Fleets and devices with a real agent syncing against a real control plane."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import modelyard_edge as modelyard_edge
import numpy as np
import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from modelyard.api.app import create_app
from modelyard.api.services import build_services
from modelyard.cli import common
from modelyard.cli.edge import app as edge_cli
from modelyard.config import Settings
from modelyard.errors import NotFoundError
from tests.fixtures.asgi_server import serve
from tests.integration.edge.conftest import Plane
from tests.integration.edge.helpers import compiled_forest, package

ROWS = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)


def _cli(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(edge_cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _agent(plane: Plane, tmp_path: Path, public: str, **kwargs: Any) -> Any:
    config = modelyard_edge.AgentConfig(
        root=tmp_path / "agent",
        device="pi-1",
        fleet="kiosks",
        control_plane=plane.url,
        trusted_keys=[public],
        **kwargs,
    )
    return modelyard_edge.EdgeAgent(config)


def _tampered(plane: Plane, source_key: str, version: str) -> str:
    """A copy of a signed package whose manifest says another version (signature now wrong)."""
    data = plane.services.store.get_object("edge", source_key)
    out = io.BytesIO()
    with (
        tarfile.open(fileobj=io.BytesIO(data)) as src,
        tarfile.open(fileobj=out, mode="w:gz") as dst,
    ):
        for member in src.getmembers():
            content = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json":
                manifest = json.loads(content)
                manifest["Version"] = version
                content = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
                member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    return plane.put(f"packages/iris-{version}-tampered.tar.gz", out.getvalue())


def test_agent_registers_updates_uploads_and_refuses(
    plane: Plane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "client", lambda: plane.client)
    runner = CliRunner()
    public = _cli(runner, "keys", "create", "fleet-key").strip()
    _cli(runner, "fleets", "create", "kiosks", "--output", "s3://edge/fleet")
    compiled_forest(plane, tmp_path)
    package(plane, "iris-1", "rf", "1")
    package(plane, "iris-2", "rf", "2")

    agent = _agent(plane, tmp_path, public)
    result = agent.sync_once()  # first contact: registered, nothing deployed yet
    assert result["Heartbeat"]["DeviceDeploymentStatus"] == "READYTODEPLOY"
    assert result["Deployment"] is None

    assert "kiosks: iris 1" in _cli(
        runner, "deploy", "--fleet", "kiosks", "--packaging-job", "iris-1"
    )
    assert agent.sync_once()["Update"] == "switched"
    assert agent.version == "1"
    assert list(agent.predict(ROWS)["label"]) == ["setosa", "virginica"]
    agent.predict(ROWS)
    agent.sync_once()  # uploads the two captures, reports DEPLOYED
    device = plane.client.get_json("/edge/devices/pi-1")
    assert device["DeviceDeploymentStatus"] == "DEPLOYED"
    assert device["Models"][0]["ModelVersion"] == "1"
    assert device["CaptureCount"] == 2
    assert device["Metrics"]["Invocations"] == 2
    assert device["LatestCaptureUri"].startswith("s3://edge/fleet/captures/pi-1/")
    listed = json.loads(_cli(runner, "devices", "list", "--fleet", "kiosks", "--json"))
    assert [(d["DeviceName"], d["CaptureCount"]) for d in listed] == [("pi-1", 2)]

    _cli(runner, "deploy", "--fleet", "kiosks", "--package", "s3://edge/packages/iris-2.tar.gz")
    assert agent.sync_once()["Update"] == "switched"
    assert agent.version == "2"

    plane.client.request(
        "PUT",
        "/edge/fleets/kiosks/deployment",
        json={"PackageUri": _tampered(plane, "packages/iris-2.tar.gz", "3")},
    )
    update = agent.sync_once()["Update"]
    assert update.startswith("rejected: ")
    assert "signature does not verify" in update
    assert agent.version == "2"  # the previous package keeps serving
    agent.sync_once()
    device = plane.client.get_json("/edge/devices/pi-1")
    assert device["DeviceDeploymentStatus"] == "FAILED"
    assert device["FailedUpdate"]["ModelVersion"] == "3"
    assert agent.sync_once().get("Update") is None  # a refused package is not fetched again
    fleet = plane.client.get_json("/edge/fleets/kiosks")
    assert fleet["DeviceStatusCounts"] == {"FAILED": 1}
    assert fleet["Deployment"]["ModelVersion"] == "3"


def test_a_package_corrupted_in_transit_is_not_installed(plane: Plane, tmp_path: Path) -> None:
    public = plane.client.post_json("/edge/signing-keys", {"KeyName": "fleet-key"})["PublicKey"]
    plane.client.post_json("/edge/fleets", {"DeviceFleetName": "kiosks"})
    compiled_forest(plane, tmp_path)
    package(plane, "iris-1", "rf", "1")
    package(plane, "iris-2", "rf", "2")
    agent = _agent(plane, tmp_path, public)
    plane.client.request(
        "PUT", "/edge/fleets/kiosks/deployment", json={"EdgePackagingJobName": "iris-1"}
    )
    agent.sync_once()
    plane.client.request(
        "PUT", "/edge/fleets/kiosks/deployment", json={"EdgePackagingJobName": "iris-2"}
    )
    data = plane.services.store.get_object("edge", "packages/iris-2.tar.gz")
    plane.put("packages/iris-2.tar.gz", data[: len(data) // 2])  # corrupted after approval
    with pytest.raises(modelyard_edge.sync.ControlPlaneUnavailableError, match="sha256"):
        agent.sync_once()
    assert agent.version == "1"
    assert agent.failed_update["ModelVersion"] == "2"


def test_with_a_token_the_agent_authenticates(settings: Settings, tmp_path: Path) -> None:
    guarded = settings.model_copy(update={"api_token": SecretStr("s3cret")})
    services = build_services(guarded)
    try:
        with serve(create_app(services)) as url:
            services.edge.fleets.create_fleet({"DeviceFleetName": "kiosks"})
            config = modelyard_edge.AgentConfig(
                root=tmp_path / "a", device="pi-9", fleet="kiosks", control_plane=url
            )
            with pytest.raises(modelyard_edge.sync.ControlPlaneUnavailableError, match="401"):
                modelyard_edge.EdgeAgent(config).sync_once()
            config.token = "s3cret"
            modelyard_edge.EdgeAgent(config).sync_once()
            assert services.edge.fleets.device("pi-9").spec["DeviceFleetName"] == "kiosks"
    finally:
        services.close()


def test_unknown_fleets_and_devices(plane: Plane) -> None:
    with pytest.raises(NotFoundError, match="device fleet 'nope' does not exist"):
        plane.client.get_json("/edge/fleets/nope/deployment")
    with pytest.raises(NotFoundError, match="names no fleet"):
        plane.client.post_json("/edge/devices/ghost/heartbeat", {})
    assert plane.client.get_json("/edge/fleets") == {"DeviceFleetSummaries": []}
