"""``make demo`` as a new user runs it: the whole workflow on embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.api.server import stop_background
from modelyard.config import Settings

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


@pytest.fixture
def home(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    fresh = Settings()
    yield fresh
    stop_background(fresh)


def test_the_demo_walks_from_data_to_monitoring(home: Settings) -> None:
    completed = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=280,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    for stage in (
        "1. data source",
        "2. data preparation",
        "3. training",
        "4. deployment",
        "5. maintenance",
        "6. batch transform",
        "7. monitoring",
        "done in",
    ):
        assert stage in output, output
    assert "test:accuracy" in output
    assert "rolled back by hand" in output
    assert "rows scored" in output
    assert "capture file(s)" in output
