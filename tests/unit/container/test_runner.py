"""Choosing a runner: the seam where distributed launchers will plug in."""

from __future__ import annotations

import pytest

from modelyard.container.errors import PlatformError
from modelyard.container.runner import ProcessResult, ProcessRunner, select_runner


def test_script_mode_gets_the_process_runner() -> None:
    assert isinstance(select_runner({}, distributed=False), ProcessRunner)


@pytest.mark.parametrize("flag", ["sagemaker_torch_distributed_enabled", "sagemaker_mpi_enabled"])
def test_distributed_launchers_are_not_silently_replaced(flag: str) -> None:
    with pytest.raises(PlatformError, match=flag):
        select_runner({flag: True}, distributed=True)


def test_hosts_outside_the_distribution_groups_run_a_plain_process() -> None:
    runner = select_runner({"sagemaker_torch_distributed_enabled": True}, distributed=False)
    assert isinstance(runner, ProcessRunner)


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
