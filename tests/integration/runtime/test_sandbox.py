"""Absolute mounts on real processes: the command runs under bubblewrap with /opt/ml bound."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.errors import ContainerRuntimeError
from modelyard.runtime import ContainerSpec, LocalProcessRuntime, Mount


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalProcessRuntime]:
    rt = LocalProcessRuntime(tmp_path / "containers")
    yield rt
    for handle in rt.list():
        handle.stop(grace_s=0)


def python(code: str, mounts: list[Mount], **kwargs: object) -> ContainerSpec:
    return ContainerSpec(
        name="sandboxed",
        command=[sys.executable, "-c", textwrap.dedent(code)],
        mounts=mounts,
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_job_directory_is_seen_at_opt_ml_and_written_through(
    runtime: LocalProcessRuntime, tmp_path: Path
) -> None:
    job = tmp_path / "job"
    (job / "processing" / "input").mkdir(parents=True)
    (job / "processing" / "input" / "a.csv").write_text("1,2\n")
    handle = runtime.launch(
        python(
            """
            import os, tempfile
            print(open('/opt/ml/processing/input/a.csv').read().strip())
            os.makedirs('/opt/ml/processing/output', exist_ok=True)
            open('/opt/ml/processing/output/b.txt', 'w').write('written')
            print(os.getcwd())
            print(tempfile.gettempdir())
            """,
            [Mount(job, "/opt/ml")],
            workdir=job / "processing",
        )
    )
    assert handle.wait(30) == 0, list(handle.logs())
    assert list(handle.logs()) == ["1,2", "/opt/ml/processing", "/tmp"]
    assert (job / "processing" / "output" / "b.txt").read_text() == "written"


def test_the_host_is_read_only_and_read_only_mounts_are_enforced(
    runtime: LocalProcessRuntime, tmp_path: Path
) -> None:
    job, shared = tmp_path / "job", tmp_path / "shared"
    job.mkdir()
    shared.mkdir()
    (shared / "data.csv").write_text("x\n")
    outside = tmp_path / "outside.txt"
    handle = runtime.launch(
        python(
            f"""
            import os
            print(open('/opt/ml/processing/input/shared/data.csv').read().strip())
            for path in ('/opt/ml/processing/input/shared/new.txt', {str(outside)!r}, '/usr/x'):
                try:
                    open(path, 'w')
                    print('wrote', path)
                except OSError as exc:
                    print('refused', type(exc).__name__)
            print(sorted(os.listdir('/opt'))[:1] != [])
            """,
            [Mount(job, "/opt/ml"), Mount(shared, "/opt/ml/processing/input/shared", True)],
        )
    )
    assert handle.wait(30) == 0, list(handle.logs())
    lines = list(handle.logs())
    assert lines[0] == "x"
    assert lines[1] == "refused OSError", lines  # the read-only mount
    assert lines[3] == "refused OSError", lines  # the host's /usr
    assert not (shared / "new.txt").exists()
    assert not outside.exists()  # the host's /tmp is not the sandbox's


def test_stop_reaches_a_sandboxed_command(runtime: LocalProcessRuntime, tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    handle = runtime.launch(
        python("import time\nprint('up', flush=True)\ntime.sleep(60)", [Mount(job, "/opt/ml")])
    )
    deadline_lines: list[str] = []
    for line in handle.logs(follow=True):
        deadline_lines.append(line)
        break
    assert deadline_lines == ["up"]
    assert handle.stop(grace_s=5) not in (0, None)
    assert not handle.is_running()


def test_without_bwrap_an_absolute_mount_is_refused_naming_the_package(
    runtime: LocalProcessRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ContainerRuntimeError, match="bubblewrap"):
        runtime.launch(python("pass", [Mount(tmp_path, "/opt/ml")]))


def test_host_paths_under_tmp_stay_visible_and_nothing_else_is_rebound(tmp_path: Path) -> None:
    from modelyard.runtime.sandbox import sandbox_argv

    env_dir = Path("/tmp") / f"sandbox-env-{tmp_path.name}"
    (env_dir / "bin").mkdir(parents=True, exist_ok=True)
    argv, _ = sandbox_argv(
        [str(env_dir / "bin" / "python"), "-c", "pass"],
        [Mount(source=tmp_path, target="/opt/ml")],
        workdir=tmp_path,
        python_path=f"{env_dir}:/usr/lib/python3",
        bwrap="bwrap",
    )
    binds = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--ro-bind"]
    assert str(env_dir) in binds, "a virtualenv under the host's /tmp is bound back"
    assert binds.count(str(env_dir)) == 1
    assert "/usr" not in binds
    assert "/usr/lib/python3" not in binds
    env_dir.joinpath("bin").rmdir()
    env_dir.rmdir()
