"""Script-mode jobs run end to end by ``python -m modelyard.container.training``."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from pathlib import Path

import pytest

from modelyard.container.errors import failure_reason
from modelyard.container.files import read_failure_file
from modelyard.container.jobdir import resource_config, write_job_dir
from modelyard.container.runner import STDERR_TAIL_BYTES, ProcessRunner

from .conftest import clean_environ, ours, run_toolkit

TRAIN = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--lr", type=float)
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
args = parser.parse_args()
rows = open(os.path.join(args.train, "data.csv")).read().split()
print(f"epochs={args.epochs} lr={args.lr} rows={len(rows)}", flush=True)
with open(os.path.join(args.model_dir, "model.json"), "w") as f:
    json.dump({"epochs": args.epochs, "lr": args.lr, "rows": len(rows),
               "hosts": json.loads(os.environ["SM_HOSTS"])}, f)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "metrics.txt"), "w") as f:
    f.write("auc=0.9")
"""

FAIL = """
import os
print("about to fail")
def train(lr):
    raise ValueError(f"learning rate {lr} is too high")
train(float(os.environ["SM_HP_LR"]))
"""


def make_job(tmp_path: Path, script: str, *, program: str = "train.py", **hps: str) -> Path:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / program).write_text(script)
    base = tmp_path / "ml"
    write_job_dir(
        base,
        hyperparameters={
            "epochs": "2",
            "lr": "0.5",
            "sagemaker_program": json.dumps(program),
            "sagemaker_submit_directory": json.dumps(f"file://{source}"),
            **hps,
        },
        input_data_config={"train": {"TrainingInputMode": "File"}},
        resource_config=resource_config({"InstanceType": "ml.m5.large"}, "algo-1"),
    )
    (base / "input" / "data" / "train" / "data.csv").write_text("1,2\n3,4\n5,6\n")
    return base


def test_a_script_mode_job_trains_and_writes_its_model(tmp_path: Path) -> None:
    base = make_job(tmp_path, TRAIN)
    completed = run_toolkit(ours(), clean_environ(base, tmp_path), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "epochs=2 lr=0.5 rows=3" in completed.stdout  # streamed, not swallowed
    assert json.loads((base / "model" / "model.json").read_text()) == {
        "epochs": 2,
        "lr": 0.5,
        "rows": 3,
        "hosts": ["algo-1"],
    }
    assert (base / "output" / "data" / "metrics.txt").read_text() == "auc=0.9"
    assert (base / "output" / "success").exists()
    assert not (base / "output" / "failure").exists()
    assert "Invoking script with the following command" in completed.stderr


def test_a_failing_script_fails_the_job_with_its_error(tmp_path: Path) -> None:
    base = make_job(tmp_path, FAIL)
    completed = run_toolkit(ours(), clean_environ(base, tmp_path), cwd=tmp_path)
    assert completed.returncode == 1
    assert "ValueError: learning rate 0.5 is too high" in completed.stderr  # streamed
    text = read_failure_file(base / "output")
    assert text is not None
    assert text.startswith('ExecuteUserScriptError:\nExitCode 1\nErrorMessage "Traceback')
    assert 'ValueError: learning rate 0.5 is too high"\nCommand "' in text
    reason = failure_reason(text, completed.returncode)
    assert reason is not None
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:")
    assert reason.endswith(", exit code: 1")
    assert len(reason) <= 1024


def test_a_script_that_writes_its_own_failure_reason_is_believed(tmp_path: Path) -> None:
    script = (
        "import os\n"
        "open(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w').write('bad data')\n"
        "raise SystemExit(2)\n"
    )
    base = make_job(tmp_path, script)
    completed = run_toolkit(ours(), clean_environ(base, tmp_path), cwd=tmp_path)
    assert completed.returncode == 1
    assert read_failure_file(base / "output") == "bad data"


def test_a_shell_entry_point_from_a_tarball_gets_the_arguments(tmp_path: Path) -> None:
    bundle = tmp_path / "sourcedir.tar.gz"
    script = b'#!/bin/sh\necho "$@" > "$SM_MODEL_DIR/args.txt"\n'
    with tarfile.open(bundle, "w:gz") as tar:
        info = tarfile.TarInfo("run.sh")
        info.size, info.mode = len(script), 0o644
        tar.addfile(info, io.BytesIO(script))
    base = make_job(
        tmp_path,
        "",
        program="unused.py",
        sagemaker_program='"run.sh"',
        sagemaker_submit_directory=json.dumps(f"file://{bundle}"),
        msg='"two words"',
    )
    completed = run_toolkit(ours(), clean_environ(base, tmp_path), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (base / "model" / "args.txt").read_text() == "--epochs 2 --lr 0.5 --msg two words\n"


# ---------------------------------------------------------------- requirements.txt

TINY = "modelyard_tinydep"


def build_wheel(directory: Path) -> Path:
    """A one-module wheel, written by hand: no build backend, no index needed."""
    dist_info = f"{TINY}-0.1.dist-info"
    files = {
        f"{TINY}/__init__.py": b"VALUE = 42\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {TINY}\nVersion: 0.1\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / f"{TINY}-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


USES_DEP = f"""
import os
import {TINY}
open(os.path.join(os.environ["SM_MODEL_DIR"], "dep.txt"), "w").write(str({TINY}.VALUE))
"""


@pytest.fixture
def job_with_requirements(tmp_path: Path) -> Path:
    wheel = build_wheel(tmp_path)
    base = make_job(tmp_path, USES_DEP)
    (tmp_path / "src" / "requirements.txt").write_text(f"{wheel}\n")
    return base


def image(tmp_path: Path, *, with_pip: bool) -> Path:
    """A fresh virtualenv standing in for a framework image."""
    root = tmp_path / ("image-pip" if with_pip else "image-nopip")
    venv.EnvBuilder(with_pip=with_pip).create(root)
    return root / "bin" / "python"


def test_requirements_are_installed_with_the_images_pip(
    tmp_path: Path, job_with_requirements: Path
) -> None:
    python = image(tmp_path, with_pip=True)
    environ = clean_environ(job_with_requirements, tmp_path)
    completed = run_toolkit(ours(str(python)), environ, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (job_with_requirements / "model" / "dep.txt").read_text() == "42"


def test_without_pip_the_modelyard_pip_command_is_used(
    tmp_path: Path, job_with_requirements: Path
) -> None:
    python = image(tmp_path, with_pip=False)
    pip = f"{sys.executable} -m pip --python {python}"
    environ = clean_environ(job_with_requirements, tmp_path, {"MODELYARD_PIP": pip})
    completed = run_toolkit(ours(str(python)), environ, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (job_with_requirements / "model" / "dep.txt").read_text() == "42"


def test_without_any_pip_the_job_fails_saying_so(
    tmp_path: Path, job_with_requirements: Path
) -> None:
    python = image(tmp_path, with_pip=False)
    environ = clean_environ(job_with_requirements, tmp_path)
    completed = run_toolkit(ours(str(python)), environ, cwd=tmp_path)
    assert completed.returncode == 70
    text = read_failure_file(job_with_requirements / "output") or ""
    assert text.startswith("PlatformError: ")
    assert "no pip module and MODELYARD_PIP is not set" in text


def test_a_bad_requirement_is_the_users_error(tmp_path: Path) -> None:
    base = make_job(tmp_path, USES_DEP)
    (tmp_path / "src" / "requirements.txt").write_text(f"{tmp_path}/missing-0.1-py3-none-any.whl\n")
    completed = run_toolkit(ours(), clean_environ(base, tmp_path), cwd=tmp_path)
    assert completed.returncode == 1
    text = read_failure_file(base / "output") or ""
    assert text.startswith("InstallRequirementsError:\nExitCode 1\n")
    assert "-m pip install -r requirements.txt" in text


# ---------------------------------------------------------------- stopping


SLEEPER = """
import os, signal, sys, time
model = os.environ["SM_MODEL_DIR"]
def on_term(signum, frame):
    open(os.path.join(model, "stopped"), "w").write(str(signum))
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
open(os.path.join(model, "started"), "w").close()
time.sleep(120)
"""


def test_sigterm_reaches_the_script_and_the_job_ends_stopped(tmp_path: Path) -> None:
    base = make_job(tmp_path, SLEEPER)
    process = subprocess.Popen(
        ours(),
        env=clean_environ(base, tmp_path),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # like a container's PID 1: only the toolkit is signalled
    )
    try:
        deadline = time.monotonic() + 60
        while not (base / "model" / "started").exists():
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the script never started"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if process.stderr:
            process.stderr.close()
    assert (base / "model" / "stopped").read_text() == str(int(signal.SIGTERM))
    assert not (base / "output" / "failure").exists()


# ---------------------------------------------------------------- the process runner


def test_runner_keeps_only_the_tail_of_a_flood_of_stderr(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "for i in range(4000): print('x' * 60, i, file=sys.stderr)\n"
        "raise RuntimeError('the end')\n"
    )
    sink = io.BytesIO()
    result = ProcessRunner(stderr_sink=sink).run(
        [sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path
    )
    assert result.exit_code == 1
    assert len(sink.getvalue()) > 200_000  # everything was relayed
    assert len(result.stderr_tail.encode()) <= STDERR_TAIL_BYTES
    assert result.error_excerpt().startswith("Traceback (most recent call last):")
    assert result.error_excerpt().endswith("RuntimeError: the end")


def test_runner_reports_a_command_that_cannot_start(tmp_path: Path) -> None:
    result = ProcessRunner(stderr_sink=io.BytesIO()).run(
        [str(tmp_path / "nope")], env={}, cwd=tmp_path
    )
    assert result.exit_code == 127
    assert "cannot run" in result.stderr_tail
