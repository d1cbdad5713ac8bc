"""``/images`` over HTTP and ``modelyard images`` on top of it (a real build each)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelyard.api.app import create_app
from modelyard.api.services import build_services
from modelyard.cli import images as images_cli
from modelyard.config import Settings
from modelyard.sdk.client import ApiClient
from tests.fixtures.asgi_server import serve

TINY_PACKAGE = "six==1.17.0"


@pytest.fixture
def server_url(images_settings: Settings) -> Iterator[str]:
    services = build_services(images_settings)
    try:
        with serve(create_app(services)) as url:
            yield url
    finally:
        for handle in services.runtime.list():
            handle.stop(grace_s=0)
        services.close()


@pytest.fixture
def client(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=120) as http:
        yield http


@pytest.fixture
def cli(server_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The CLI group, talking to the served app through the real ApiClient."""
    with ApiClient(server_url) as api:
        monkeypatch.setattr(images_cli, "client", lambda: api)
        yield CliRunner()


def test_register_build_describe_logs_and_delete(client: httpx.Client) -> None:
    created = client.post("/images", json={"Name": "tiny", "Tag": "1", "Packages": [TINY_PACKAGE]})
    assert created.status_code == 201
    assert created.json()["ImageStatus"] == "Pending"

    built = client.post("/images/tiny:1/build", params={"wait": "true"})
    assert built.status_code == 202
    assert built.json()["ImageStatus"] == "Ready"

    described = client.get("/images/tiny:1").json()
    assert set(described) >= {
        "ImageName",
        "ImageTag",
        "ImageArn",
        "ImageStatus",
        "FailureReason",
        "Packages",
        "SpecHash",
        "EnvironmentPath",
        "CreationTime",
        "LastModifiedTime",
        "BuildLogPath",
    }
    assert Path(described["EnvironmentPath"], "bin", "python").exists()

    listed = client.get("/images").json()["Images"]
    assert "tiny" in {image["ImageName"] for image in listed}
    assert "sklearn" in {image["ImageName"] for image in listed}  # registered at start

    logs = client.get("/images/tiny:1/logs", params={"follow": "true"})
    assert logs.status_code == 200
    assert "Successfully installed six" in logs.text

    assert client.delete("/images/tiny:1").status_code == 200
    assert client.get("/images/tiny:1").status_code == 404


def test_errors_have_the_api_shape(client: httpx.Client) -> None:
    body = {"Name": "tiny", "Tag": "1", "Packages": [TINY_PACKAGE]}
    assert client.post("/images", json=body).status_code == 201
    again = client.post("/images", json=body)
    assert again.status_code == 409
    bad = client.post("/images", json={"Name": "bad name"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "ValidationError"
    assert client.get("/images/ghost:1/logs").status_code == 404


def test_cli_register_build_follow_list_describe_rm(cli: CliRunner, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{TINY_PACKAGE}\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "serve.py").write_text("print('hi')\n")

    registered = cli.invoke(
        images_cli.app,
        ["register", "mine:v1", "--requirements", str(requirements), "--code-dir", str(code)],
    )
    assert registered.exit_code == 0, registered.output
    assert "mine:v1" in registered.output

    built = cli.invoke(images_cli.app, ["build", "mine:v1", "--follow"])
    assert built.exit_code == 0, built.output
    assert "Successfully installed six" in built.output
    assert "mine:v1: Ready" in built.output

    listed = cli.invoke(images_cli.app, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert "mine" in {image["ImageName"] for image in json.loads(listed.output)}

    described = cli.invoke(images_cli.app, ["describe", "mine:v1"])
    assert json.loads(described.output)["ImageStatus"] == "Ready"

    assert cli.invoke(images_cli.app, ["rm", "mine:v1"]).exit_code == 0
    missing = cli.invoke(images_cli.app, ["describe", "mine:v1"])
    assert missing.exit_code == 1


def test_cli_build_of_a_broken_image_exits_1_with_the_reason(
    cli: CliRunner, client: httpx.Client
) -> None:
    body = {"Name": "broken", "Packages": ["modelyard-no-such-package-zz==1.0"]}
    assert client.post("/images", json=body).status_code == 201
    result = cli.invoke(images_cli.app, ["build", "broken:latest", "--follow"])
    assert result.exit_code == 1
    assert "Failed" in result.output
    assert "modelyard-no-such-package-zz" in result.output
