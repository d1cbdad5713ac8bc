"""train(): the order of things and the exit-code contract, with a fake process runner."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from modelyard.container.errors import failure_reason
from modelyard.container.files import read_failure_file
from modelyard.container.runner import ProcessResult, ProcessRunner
from modelyard.container.training import train

from .conftest import MACHINE, MakeJob

HPS = {"epochs": "3", "sagemaker_program": '"train.py"', "sagemaker_job_name": '"j"'}


class FakeRunner(ProcessRunner):
    """Records the commands it is given and answers with canned results."""

    def __init__(self, *results: ProcessResult) -> None:
        super().__init__()
        self.results = list(results) or [ProcessResult(0, "")]
        self.calls: list[tuple[list[str], dict[str, str], Path]] = []

    def run(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> ProcessResult:
        self.calls.append((list(command), dict(env), cwd))
        return self.results.pop(0)


@pytest.fixture
def job(make_job: MakeJob) -> Path:
    base = make_job(hyperparameters=HPS)
    (base / "code" / "train.py").write_text("print('hi')\n")
    return base


def run(base: Path, runner: ProcessRunner, **environ: str) -> int:
    return train({"SAGEMAKER_BASE_DIR": str(base), **environ}, machine=MACHINE, runner=runner)


def test_success_runs_the_script_with_args_and_sm_env(job: Path) -> None:
    runner = FakeRunner()
    assert run(job, runner, PYTHONPATH="/img/lib") == 0
    (command, env, cwd) = runner.calls[0]
    assert command == [sys.executable, "--", "train.py", "--epochs", "3"]
    assert cwd == job / "code"
    assert env["SM_MODEL_DIR"] == f"{job}/model"
    assert env["SM_HP_EPOCHS"] == "3"
    assert env["SAGEMAKER_JOB_NAME"] == "j"
    assert env["CURRENT_HOST"] == "algo-1"
    assert env["PYTHONPATH"] == f"{job}/code:/img/lib"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert (job / "output" / "success").exists()
    assert read_failure_file(job / "output") is None


def test_a_failing_script_writes_the_toolkits_failure_and_exits_1(job: Path) -> None:
    stderr = "noise\nTraceback (most recent call last):\n  File x\nValueError: bad lr\n"
    assert run(job, FakeRunner(ProcessResult(3, stderr))) == 1
    text = read_failure_file(job / "output")
    assert text is not None
    assert text.startswith('ExecuteUserScriptError:\nExitCode 3\nErrorMessage "Traceback')
    assert "ValueError: bad lr" in text
    assert "noise" not in text
    reason = failure_reason(text, 1)
    assert reason is not None
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:")


def test_a_killed_script_says_out_of_memory(job: Path) -> None:
    assert run(job, FakeRunner(ProcessResult(-9, ""))) == 1
    assert 'ExtraInfo "OutOfMemory' in (read_failure_file(job / "output") or "")


def test_a_stopped_script_exits_128_plus_signal_without_failure(job: Path) -> None:
    result = ProcessResult(-15, "", stopped_by=signal.SIGTERM)
    assert run(job, FakeRunner(result)) == 143
    assert read_failure_file(job / "output") is None
    assert not (job / "output" / "success").exists()


def test_requirements_are_installed_first_with_pip(job: Path) -> None:
    (job / "code" / "requirements.txt").write_text("tiny\n")
    runner = FakeRunner(ProcessResult(0, ""), ProcessResult(0, ""))
    assert run(job, runner) == 0
    pip, script = runner.calls
    assert pip[0] == [sys.executable, "-m", "pip", "install", "-r", "requirements.txt"]
    assert "SM_MODEL_DIR" not in pip[1]  # pip runs in the image's plain environment
    assert script[0][2] == "train.py"


def test_failed_requirements_are_a_user_error(job: Path) -> None:
    (job / "code" / "requirements.txt").write_text("nonexistent-pkg\n")
    runner = FakeRunner(ProcessResult(1, "ERROR: No matching distribution found for x"))
    assert run(job, runner) == 1
    text = read_failure_file(job / "output") or ""
    assert text.startswith("InstallRequirementsError:\nExitCode 1\n")
    assert len(runner.calls) == 1  # the script never ran


def test_missing_entry_point_is_a_user_error(make_job: MakeJob) -> None:
    base = make_job(hyperparameters={"sagemaker_program": '"train.py"'})
    assert run(base, FakeRunner()) == 1
    assert "is not a file" in (read_failure_file(base / "output") or "")


def test_no_entry_point_is_a_user_error(make_job: MakeJob) -> None:
    base = make_job(hyperparameters={"a": "1"})
    assert run(base, FakeRunner()) == 1
    assert "entry point name is empty" in (read_failure_file(base / "output") or "")


def test_missing_config_is_a_platform_error(job: Path) -> None:
    (job / "input" / "config" / "resourceconfig.json").unlink()
    assert run(job, FakeRunner()) == 70
    text = read_failure_file(job / "output") or ""
    assert text.startswith("PlatformError: the job directory has no ")
    assert failure_reason(text, 70) == text


def test_unstaged_s3_source_is_a_platform_error(make_job: MakeJob) -> None:
    hps = {"sagemaker_program": '"t.py"', "sagemaker_submit_directory": '"s3://b/s.tar.gz"'}
    base = make_job(hyperparameters=hps)
    assert run(base, FakeRunner()) == 70
    assert "server must download" in (read_failure_file(base / "output") or "")


def test_launchers_not_provided_are_refused_clearly(job: Path, make_job: MakeJob) -> None:
    hps = {**HPS, "sagemaker_mpi_enabled": "true"}
    base = make_job(hyperparameters=hps, name="dist")
    (base / "code" / "train.py").write_text("")
    assert train({"SAGEMAKER_BASE_DIR": str(base)}, machine=MACHINE) == 70
    assert "distributed launcher" in (read_failure_file(base / "output") or "")


def test_a_bug_of_ours_is_a_platform_error_that_says_where(
    job: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("oops")

    monkeypatch.setattr("modelyard.container.training.stage_source_dir", broken)
    assert run(job, FakeRunner()) == 70
    text = read_failure_file(job / "output") or ""
    assert text.startswith("PlatformError: unexpected KeyError: 'oops' (at test_training.py:")


def test_no_job_directory_at_all(tmp_path: Path) -> None:
    assert run(tmp_path / "missing", FakeRunner()) == 70
    assert (read_failure_file(tmp_path / "missing" / "output") or "").startswith("PlatformError:")


def test_a_package_is_pip_installed_and_run_as_a_module(job: Path) -> None:
    (job / "code" / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (job / "code" / "requirements.txt").write_text("tiny\n")
    runner = FakeRunner(ProcessResult(0, ""), ProcessResult(0, ""))
    assert run(job, runner) == 0
    pip, script = runner.calls
    assert pip[0][-4:] == ["install", ".", "-r", "requirements.txt"]
    assert script[0] == [sys.executable, "-m", "train", "--epochs", "3"]


def test_a_failed_package_install_is_an_install_module_error(job: Path) -> None:
    (job / "code" / "setup.py").write_text("raise SystemExit(1)\n")
    assert run(job, FakeRunner(ProcessResult(1, "error: bad setup.py"))) == 1
    assert (read_failure_file(job / "output") or "").startswith("InstallModuleError:\n")
