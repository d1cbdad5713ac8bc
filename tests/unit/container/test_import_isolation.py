"""modelyard.container imports with the standard library alone, as images need."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import modelyard

SRC = Path(modelyard.__file__).resolve().parent.parent

BLOCKER = """
import sys

FORBIDDEN = {"pydantic", "pydantic_settings", "fastapi", "httpx", "sqlalchemy", "alembic",
             "starlette", "uvicorn", "typer", "rich", "fsspec", "s3fs", "boto3", "botocore",
             "psutil", "sagemaker_training", "numpy", "yaml"}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in FORBIDDEN:
            raise ImportError(f"modelyard.container must not import {name}")
        if name.startswith("modelyard.") and not (
            name.startswith("modelyard.container") or name.startswith("modelyard.formats")
        ):
            raise ImportError(f"modelyard.container must not import {name}")
        return None

sys.meta_path.insert(0, Blocker())
sys.path.insert(0, sys.argv[1])
import modelyard.container
import modelyard.container.training
for name in sorted(sys.modules):
    if name.startswith("modelyard"):
        print(name)
"""


def test_container_imports_only_the_stdlib_and_itself() -> None:
    completed = subprocess.run(
        [sys.executable, "-I", "-c", BLOCKER, str(SRC)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = completed.stdout.split()
    assert "modelyard.container.training" in loaded
    assert all(
        name == "modelyard" or name.startswith(("modelyard.container", "modelyard.formats"))
        for name in loaded
    ), loaded


def test_public_names() -> None:
    import modelyard.container as container

    for name in container.__all__:
        assert getattr(container, name) is not None, name
