"""Training as a user does it: the scikit-learn example through the SDK, and through the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "sklearn"


def test_the_sklearn_example_trains_through_the_sdk_and_its_model_predicts(cli: Cli) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py")],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    # Progress and the script's own output stream as sagemaker prints them.
    for step in ("Starting", "Downloading", "Training", "Uploading", "Completed"):
        assert re.search(rf"^\S+ \S+ {step} - ", out, re.MULTILINE), step
    assert "train_accuracy=" in out
    assert re.search(r"^Training seconds: \d+$", out, re.MULTILINE)
    assert re.search(r"^test:accuracy: 0\.9\d*$", out, re.MULTILINE)
    accuracy = float(re.findall(r"held-out accuracy of the downloaded model: ([0-9.]+)", out)[0])
    assert accuracy >= 0.9
