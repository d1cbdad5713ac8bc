"""The bwrap command line for absolute mounts (no process is started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import ContainerRuntimeError
from modelyard.runtime.base import Mount
from modelyard.runtime.sandbox import needs_sandbox, sandbox_argv


def test_only_absolute_targets_need_the_sandbox(tmp_path: Path) -> None:
    assert not needs_sandbox([Mount(tmp_path, "input/data")])
    assert needs_sandbox([Mount(tmp_path, "input/data"), Mount(tmp_path, "/opt/ml")])


def test_mounts_are_bound_parents_first_and_the_workdir_maps_inside(tmp_path: Path) -> None:
    job, shared = tmp_path / "job", tmp_path / "shared"
    (job / "code").mkdir(parents=True)
    shared.mkdir()
    argv, inside = sandbox_argv(
        ["python", "x.py"],
        [Mount(shared, "/opt/ml/processing/input/s", read_only=True), Mount(job, "/opt/ml")],
        workdir=job / "code",
        bwrap="bwrap",
    )
    assert inside == "/opt/ml/code"
    job_bind = argv.index("/opt/ml") - 2
    shared_bind = argv.index("/opt/ml/processing/input/s") - 2
    assert argv[job_bind : job_bind + 3] == ["--bind", str(job.resolve()), "/opt/ml"]
    assert argv[shared_bind] == "--ro-bind"
    assert shared_bind > job_bind
    assert argv[-4:] == ["/opt/ml/code", "--", "python", "x.py"]
    assert argv[argv.index("--tmpfs") + 1] == "/tmp"


@pytest.mark.parametrize("target", ["/", "/tmp", "/proc", "/opt/../etc"])
def test_reserved_targets_are_refused(tmp_path: Path, target: str) -> None:
    with pytest.raises(ContainerRuntimeError, match="not allowed"):
        sandbox_argv(["true"], [Mount(tmp_path, target)], workdir=tmp_path, bwrap="bwrap")


def test_a_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContainerRuntimeError, match="does not exist"):
        sandbox_argv(
            ["true"], [Mount(tmp_path / "nope", "/opt/ml")], workdir=tmp_path, bwrap="bwrap"
        )
