"""``modelyard-edge``: verify, predict, and run as a process that serves and stops on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from modelyard_edge.cli import main
from tests import packages


def test_verify_and_predict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package = packages.build(tmp_path, labels=["a", "b", "c"])
    assert main(["verify", str(package), "--trusted-key", packages.PUBLIC_HEX]) == 0
    verified = json.loads(capsys.readouterr().out)
    assert (verified["Version"], verified["SelfTest"]["LabelAgreement"]) == ("1", 1.0)
    assert main(["verify", str(package), "--trusted-key", "00" * 32]) == 1
    assert "does not trust" in capsys.readouterr().err
    assert main(["predict", str(package), "[[5.1, 3.5, 1.4, 0.2]]"]) == 0
    assert json.loads(capsys.readouterr().out)["label"][0] in ("a", "b", "c")


def test_run_serves_until_sigterm(tmp_path: Path) -> None:
    package = packages.build(tmp_path)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modelyard_edge.cli",
            "run",
            "--root",
            str(tmp_path / "agent"),
            "--package",
            str(package),
            "--port",
            "0",
            "--trusted-key",
            packages.PUBLIC_HEX,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"serving 1 on (http://\S+)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "/ping", timeout=10) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
