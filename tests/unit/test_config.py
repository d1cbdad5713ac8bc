"""Settings: one object, MODELYARD_* variables, secrets never printed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from modelyard.config import Settings


def test_paths_derive_from_home(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.store_root == tmp_path / "store"
    assert settings.effective_catalog_url == f"sqlite:///{tmp_path / 'catalog.db'}"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELYARD_HOME", str(tmp_path))
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "9001")
    settings = Settings()
    assert settings.home == tmp_path
    assert settings.effective_server_url == "http://127.0.0.1:9001"


def test_secrets_are_masked() -> None:
    settings = Settings(
        api_token="tok",
        s3_secret_access_key="key",
        catalog_url="postgresql+psycopg://me:hunter2@db/modelyard",
    )
    shown = settings.masked()
    assert shown["api_token"] == "********"
    assert shown["s3_secret_access_key"] == "********"
    assert "hunter2" not in str(shown)


def test_binding_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(ValidationError, match="MODELYARD_API_TOKEN"):
        Settings(server_host="0.0.0.0")
    assert Settings(server_host="0.0.0.0", api_token="tok").server_host == "0.0.0.0"


def test_s3_backend_needs_an_endpoint() -> None:
    with pytest.raises(ValidationError, match="S3_ENDPOINT_URL"):
        Settings(store_backend="s3")
