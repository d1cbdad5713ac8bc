"""Choosing a runner: the seam where distributed launchers plug in."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.container.entry_point import EntryPoint
from modelyard.container.environment import load_environment
from modelyard.container.errors import EntryPointError, PlatformError
from modelyard.container.hardware import Hardware
from modelyard.container.runner import (
    ProcessResult,
    ProcessRunner,
    TorchDistributedRunner,
    select_runner,
)

from .conftest import MACHINE, MakeJob

TORCH = {"sagemaker_program": '"train.py"', "sagemaker_torch_distributed_enabled": "true"}


def _env(base: Path, machine: Hardware = MACHINE, **environ: str):  # type: ignore[no-untyped-def]
    return load_environment({"SAGEMAKER_BASE_DIR": str(base), **environ}, machine=machine)


def _script(tmp_path: Path) -> EntryPoint:
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "train.py").write_text("print('hi')\n")
    return EntryPoint.resolve(tmp_path / "code", "train.py")


def test_script_mode_gets_the_process_runner(make_job: MakeJob) -> None:
    runner = select_runner(_env(make_job()))
    assert type(runner) is ProcessRunner


@pytest.mark.parametrize(
    "flag", ["sagemaker_mpi_enabled", "sagemaker_pytorch_xla_multi_worker_enabled"]
)
def test_launchers_not_provided_are_not_silently_replaced(make_job: MakeJob, flag: str) -> None:
    base = make_job(hyperparameters={"sagemaker_program": '"train.py"', flag: "true"})
    with pytest.raises(PlatformError, match=flag):
        select_runner(_env(base))


def test_torch_distributed_builds_the_toolkits_torchrun_command(
    make_job: MakeJob, tmp_path: Path
) -> None:
    base = make_job(hyperparameters=TORCH, instance_count=3, current_host="algo-2")
    runner = select_runner(_env(base))
    assert isinstance(runner, TorchDistributedRunner)
    command = runner.entry_point_command(_script(tmp_path), ["--epochs", "2"], "/py")
    assert command == [
        "/py", "-m", "torch.distributed.run", "--nnodes", "3", "--nproc_per_node", "1",
        "--master_addr", "algo-1", "--master_port", "7777", "--node_rank", "1",
        "train.py", "--epochs", "2",
    ]  # fmt: skip


def test_the_platforms_rendezvous_and_processes_per_host_are_used(
    make_job: MakeJob, tmp_path: Path
) -> None:
    hps = {**TORCH, "sagemaker_mpi_num_of_processes_per_host": "2"}
    base = make_job(hyperparameters=hps, instance_count=2)
    env = _env(base, MASTER_ADDR="127.0.0.1", MASTER_PORT="40123")
    command = select_runner(env).entry_point_command(_script(tmp_path), [], "/py")
    assert command[5:13] == [
        "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", "40123",
        "--node_rank", "0",
    ]  # fmt: skip


def test_gpus_set_the_default_processes_per_host(make_job: MakeJob, tmp_path: Path) -> None:
    base = make_job(hyperparameters=TORCH, instance_count=2)
    runner = select_runner(_env(base, Hardware(num_cpus=8, num_gpus=4, num_neurons=0)))
    assert isinstance(runner, TorchDistributedRunner)
    assert runner.processes_per_host == 4


def test_torchrun_runs_scripts_only(make_job: MakeJob, tmp_path: Path) -> None:
    runner = select_runner(_env(make_job(hyperparameters=TORCH, instance_count=2)))
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "train.sh").write_text("echo hi\n")
    command = EntryPoint.resolve(tmp_path / "code", "train.sh")
    with pytest.raises(EntryPointError, match="torch_distributed"):
        runner.entry_point_command(command, [], "/py")


def test_hosts_outside_the_distribution_groups_run_a_plain_process(make_job: MakeJob) -> None:
    resource = {
        "current_host": "algo-1",
        "hosts": ["algo-1", "algo-2"],
        "current_group_name": "cpu",
        "instance_groups": [
            {"instance_group_name": "cpu", "instance_type": "ml.m5.large", "hosts": ["algo-1"]},
            {"instance_group_name": "gpu", "instance_type": "ml.g5.xlarge", "hosts": ["algo-2"]},
        ],
    }
    hps = {**TORCH, "sagemaker_distribution_instance_groups": '["gpu"]'}
    runner = select_runner(_env(make_job(hyperparameters=hps, resource=resource)))
    assert type(runner) is ProcessRunner


def test_error_excerpt_prefers_the_last_traceback() -> None:
    tail = (
        "Traceback (most recent call last):\nA: first\nwarning\n"
        "Traceback (most recent call last):\n  File 'x'\nB: second\n"
    )
    assert ProcessResult(1, tail).error_excerpt() == (
        "Traceback (most recent call last):\n  File 'x'\nB: second"
    )


def test_error_excerpt_without_a_traceback_is_the_last_lines() -> None:
    tail = "\n".join(f"line {i}" for i in range(100))
    excerpt = ProcessResult(1, tail).error_excerpt()
    assert excerpt.splitlines()[0] == "line 70"
    assert excerpt.endswith("line 99")


def test_one_host_leaves_the_rendezvous_to_torchrun_unless_the_platform_gives_one(
    make_job: MakeJob, tmp_path: Path
) -> None:
    base = make_job(hyperparameters=TORCH)
    script = _script(tmp_path)
    plain = select_runner(_env(base)).entry_point_command(script, [], "/py")
    assert "--master_addr" not in plain
    given = select_runner(_env(base, MASTER_ADDR="127.0.0.1", MASTER_PORT="40000"))
    assert given.entry_point_command(script, [], "/py")[7:11] == [
        "--master_addr", "127.0.0.1", "--master_port", "40000",
    ]  # fmt: skip
