"""The edge example as a user runs it: train, compile, package, deploy, serve on a device."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_edge_example_reaches_a_device(cli: Cli) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "edge" / "run.py")],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "label agreement 1.0" in result.stdout
    assert "device sync: switched" in result.stdout
    assert "['setosa', 'virginica']" in result.stdout
    assert "kiosk-1 DEPLOYED, 1 captures" in result.stdout
