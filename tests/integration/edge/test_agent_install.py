"""The agent installs on its own: a fresh venv with only numpy and onnxruntime runs its tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

AGENT = Path(__file__).resolve().parents[3] / "edge-agent"


def test_the_agent_installs_alone_and_passes_its_tests_there(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    source = tmp_path / "edge-agent"  # setuptools writes build/ beside the sources it builds
    shutil.copytree(
        AGENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    install = [python, "-m", "pip", "install", "-q", "--no-input", str(source), "pytest"]
    subprocess.run(install, check=True, env=env, timeout=600)
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split("==")[0].lower() for line in listed.splitlines()}
    runtime = installed - {
        "pytest",
        "iniconfig",
        "packaging",
        "pluggy",
        "pygments",
        "pip",
        "setuptools",
        "exceptiongroup",
        "tomli",
    }
    # numpy, onnxruntime and what onnxruntime itself needs; no modelyard, no frameworks.
    assert {"modelyard-edge", "numpy", "onnxruntime"} <= runtime
    assert not runtime & {
        "modelyard",
        "onnx",
        "scikit-learn",
        "torch",
        "xgboost",
        "cryptography",
        "fastapi",
        "httpx",
        "pydantic",
    }
    probe = subprocess.run([python, "-c", "import modelyard"], env=env, capture_output=True)
    assert probe.returncode != 0
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-x", str(AGENT / "tests")],
        cwd=AGENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout
    assert (venv / "bin" / "modelyard-edge").exists()
