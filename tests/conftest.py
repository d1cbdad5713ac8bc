"""Every test gets a clean environment and a fresh ``MODELYARD_HOME``.

Server fixtures (the moto S3 server, PostgreSQL) live in ``tests/fixtures`` and
start once per session on free loopback ports, polled until ready.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.config import Settings, get_settings, reset_settings

pytest_plugins = ["tests.fixtures.moto_server", "tests.fixtures.postgres"]

# The sagemaker SDK v2 (a test oracle) warns on import that v3 exists; warnings are errors.
os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


@pytest.fixture(autouse=True)
def modelyard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh home per test; no MODELYARD_* setting leaks in from the caller."""
    for name in list(os.environ):
        if name.startswith("MODELYARD_") and name != "MODELYARD_IMAGES_DIR":
            monkeypatch.delenv(name)
    home = tmp_path / "modelyard-home"
    monkeypatch.setenv("MODELYARD_HOME", str(home))
    reset_settings()
    yield home
    reset_settings()


@pytest.fixture
def settings(modelyard_home: Path) -> Settings:
    return get_settings()
