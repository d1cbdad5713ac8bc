"""The CLI as a user runs it: the ``modelyard`` command in a subprocess, one home per test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Cli:
    """Runs ``modelyard ...`` against one home, as a user's shell would."""

    env: dict[str, str]
    cwd: Path

    def run(
        self, *args: str, check: bool = True, timeout_s: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "modelyard.cli.main", *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"modelyard {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result


@pytest.fixture
def cli(modelyard_home: Path, tmp_path: Path) -> Iterator[Cli]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env["MODELYARD_HOME"] = str(modelyard_home)
    env["MODELYARD_SERVER_PORT"] = "0"
    env["COLUMNS"] = "200"
    if "MODELYARD_IMAGES_DIR" in os.environ:
        env["MODELYARD_IMAGES_DIR"] = os.environ["MODELYARD_IMAGES_DIR"]
    work = tmp_path / "work"
    work.mkdir()
    runner = Cli(env=env, cwd=work)
    yield runner
    runner.run("down", check=False)
