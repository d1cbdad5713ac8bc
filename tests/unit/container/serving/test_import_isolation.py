"""The serving entry imports with the standard library alone (no NumPy, no framework)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import modelyard

SRC = Path(modelyard.__file__).resolve().parent.parent

BLOCKER = """
import sys

FORBIDDEN = {"numpy", "scipy", "pandas", "sklearn", "joblib", "xgboost", "torch",
             "pydantic", "fastapi", "starlette", "uvicorn", "httpx", "uvloop", "httptools"}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"the serving toolkit must not import {name} up front")
        if name.startswith("modelyard.") and not name.startswith(
            ("modelyard.container", "modelyard.formats")
        ):
            raise ImportError(f"the serving toolkit must not import {name}")
        return None

sys.meta_path.insert(0, Blocker())
sys.path.insert(0, sys.argv[1])
import modelyard.container.serving
import modelyard.container.serving_worker
import modelyard.container.archive
import modelyard.container.defaults
print("ok")
"""


def test_serving_imports_only_the_stdlib_and_the_toolkit() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER, str(SRC)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"
