"""Job directories and a way to run a training toolkit on them in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import modelyard

SRC = Path(modelyard.__file__).resolve().parent.parent
TOOLKIT_TIMEOUT_S = 240


def clean_environ(base: Path, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A container-like environment: no AWS config, no PYTHONPATH but modelyard's source."""
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "SAGEMAKER_BASE_DIR": str(base),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "PYTHONPATH": str(SRC),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    environ.update(extra or {})
    return environ


def run_toolkit(
    command: Sequence[str], environ: Mapping[str, str], *, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        env=dict(environ),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TOOLKIT_TIMEOUT_S,
        check=False,
    )


def ours(python: str = sys.executable) -> list[str]:
    return [python, "-m", "modelyard.container.training"]
