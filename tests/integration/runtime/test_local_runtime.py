"""The local process runtime on real processes: exit codes, logs, limits, stop, re-adoption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from modelyard.errors import NotFoundError
from modelyard.runtime import (
    EXIT_CODE_LOST,
    ContainerSpec,
    LocalProcessRuntime,
    Mount,
    Resources,
    get_runtime,
    port_env_name,
)

PY = sys.executable


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalProcessRuntime]:
    rt = LocalProcessRuntime(tmp_path / "containers")
    yield rt
    for handle in rt.list():
        handle.stop(grace_s=0)


def python(code: str, **kwargs: object) -> ContainerSpec:
    return ContainerSpec(
        name="test",
        command=[PY, "-c", textwrap.dedent(code)],
        **kwargs,  # type: ignore[arg-type]
    )


def wait_for(predicate: object, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def log_text(handle: object) -> str:
    return "\n".join(handle.logs())  # type: ignore[attr-defined]


def test_exit_codes_are_reported(runtime: LocalProcessRuntime) -> None:
    ok = runtime.launch(python("print('fine')"))
    failed = runtime.launch(python("import sys; sys.exit(3)"))
    assert ok.wait(30) == 0
    assert failed.wait(30) == 3
    assert not failed.is_running()
    assert failed.exit_code() == 3
    assert list(ok.logs()) == ["fine"]


def test_missing_command_exits_127_with_the_reason_in_the_log(
    runtime: LocalProcessRuntime,
) -> None:
    handle = runtime.launch(ContainerSpec(name="nope", command=["no-such-command-xyz"]))
    assert handle.wait(30) == 127
    assert "no-such-command-xyz" in log_text(handle)


def test_logs_are_captured_and_followed_live(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python(
            """
            import sys, time
            for i in range(5):
                print(f"line {i}")
                print(f"err {i}", file=sys.stderr)
                time.sleep(0.2)
            """
        )
    )
    seen: list[str] = []
    running_at_first_line = None
    for line in handle.logs(follow=True):
        if running_at_first_line is None:
            running_at_first_line = handle.is_running()
        seen.append(line)
    assert running_at_first_line is True, "follow must yield lines while the process runs"
    assert [x for x in seen if x.startswith("line")] == [f"line {i}" for i in range(5)]
    assert [x for x in seen if x.startswith("err")] == [f"err {i}" for i in range(5)]
    assert handle.exit_code() == 0
    assert list(handle.logs(since_line=8)) == seen[8:]


def test_env_and_workdir_are_honoured(runtime: LocalProcessRuntime, tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    handle = runtime.launch(
        python(
            "import os; print(os.getcwd()); print(os.environ['GREETING']);"
            " print(os.environ['PYTHONUNBUFFERED']); print('MODELYARD_HOME' in os.environ)",
            env={"GREETING": "hello"},
            workdir=workdir,
        )
    )
    assert handle.wait(30) == 0
    assert list(handle.logs()) == [str(workdir), "hello", "1", "False"]


def test_image_root_bin_leads_path(runtime: LocalProcessRuntime, tmp_path: Path) -> None:
    image_root = tmp_path / "image"
    (image_root / "bin").mkdir(parents=True)
    tool = image_root / "bin" / "image-tool"
    tool.write_text('#!/bin/sh\necho "from the image: $VIRTUAL_ENV"\necho "$PATH"\n')
    tool.chmod(0o755)
    handle = runtime.launch(
        ContainerSpec(name="img", command=["image-tool"], image_root=image_root)
    )
    assert handle.wait(30) == 0
    first, path = list(handle.logs())
    assert first == f"from the image: {image_root}"
    assert path.split(os.pathsep)[0] == str(image_root / "bin")


def test_stop_lets_a_sigterm_handler_finish(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python(
            """
            import signal, sys, time
            def bye(signum, frame):
                print("cleaning up")
                sys.exit(0)
            signal.signal(signal.SIGTERM, bye)
            print("ready")
            time.sleep(600)
            """
        )
    )
    wait_for(lambda: "ready" in log_text(handle))
    started = time.monotonic()
    assert handle.stop(grace_s=30) == 0
    assert time.monotonic() - started < 10
    assert "cleaning up" in log_text(handle)


def test_stop_kills_the_whole_group_after_the_grace(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python(
            """
            import signal, subprocess, sys, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
            child = subprocess.Popen([sys.executable, "-c", ignore + "; time.sleep(600)"])
            print("grandchild", child.pid, flush=True)
            time.sleep(600)
            """
        )
    )
    wait_for(lambda: "grandchild" in log_text(handle))
    grandchild = int(log_text(handle).split()[-1])
    assert psutil.pid_exists(grandchild)
    started = time.monotonic()
    assert handle.stop(grace_s=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 15
    wait_for(lambda: not _alive(grandchild))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_leftover_group_members_die_with_the_main_process(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python(
            """
            import subprocess, sys
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            print(child.pid)
            """
        )
    )
    assert handle.wait(30) == 0
    wait_for(lambda: not _alive(int(log_text(handle))))


def test_memory_limit_stops_an_over_allocating_process(runtime: LocalProcessRuntime) -> None:
    limits = Resources(memory_mb=256)
    small = runtime.launch(python("b = bytearray(64 << 20); print('ok')", resources=limits))
    big = runtime.launch(python("b = bytearray(512 << 20); print('ok')", resources=limits))
    assert small.wait(30) == 0
    assert big.wait(30) == 1
    assert "MemoryError" in log_text(big)


def test_cpu_limit_is_the_affinity_the_process_sees(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python("import os; print(len(os.sched_getaffinity(0)))", resources=Resources(cpus=1))
    )
    assert handle.wait(30) == 0
    assert list(handle.logs()) == ["1"]
    assert len(handle.cpus) == 1


def test_named_ports_get_free_host_ports_through_the_env(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(
        python(
            """
            import os, socket
            port = int(os.environ["MODELYARD_PORT_HTTP"])
            with socket.socket() as s:
                s.bind(("127.0.0.1", port))
            print(port)
            """,
            ports={"http": 8080},
        )
    )
    assert handle.wait(30) == 0
    assert handle.ports() == {"http": int(log_text(handle))}
    assert port_env_name("model-server") == "MODELYARD_PORT_MODEL_SERVER"


def test_relative_mounts_are_symlinks(runtime: LocalProcessRuntime, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2\n")
    handle = runtime.launch(
        python(
            "print(open('input/data/train/train.csv').read().strip())",
            mounts=[Mount(data, "input/data/train", read_only=True)],
        )
    )
    assert handle.wait(30) == 0
    assert list(handle.logs()) == ["1,2"]


def test_a_killed_supervisor_leaves_the_command_controllable_then_reports_it_lost(
    runtime: LocalProcessRuntime,
) -> None:
    handle = runtime.launch(python("import time; print('up', flush=True); time.sleep(600)"))
    wait_for(lambda: "up" in log_text(handle))
    pids = json.loads((handle.container_dir / "pids.json").read_text())
    os.kill(pids["supervisor"], signal.SIGKILL)
    wait_for(lambda: not _alive(pids["supervisor"]))
    assert handle.is_running(), "the command still runs without its supervisor"
    assert handle.stop(grace_s=5) == EXIT_CODE_LOST
    assert not _alive(pids["child"])
    assert "exit status" in log_text(handle)


def test_unknown_handle_is_not_found(runtime: LocalProcessRuntime) -> None:
    with pytest.raises(NotFoundError):
        runtime.adopt("no-such-container")


def test_list_and_remove(runtime: LocalProcessRuntime) -> None:
    handle = runtime.launch(python("pass"))
    assert [h.id for h in runtime.list()] == [handle.id]
    assert handle.wait(30) == 0
    runtime.remove(handle.id)
    assert runtime.list() == []


def test_get_runtime_defaults_to_local(settings: object) -> None:
    runtime = get_runtime(settings)  # type: ignore[arg-type]
    assert isinstance(runtime, LocalProcessRuntime)
    assert runtime.state_dir == settings.run_dir / "containers"  # type: ignore[attr-defined]


SERVER = """
import sys, time
from pathlib import Path
from modelyard.runtime import ContainerSpec, LocalProcessRuntime

runtime = LocalProcessRuntime(Path(sys.argv[1]))
handle = runtime.launch(ContainerSpec(name="survivor", command=[sys.executable, "-c", sys.argv[2]]))
print(handle.id, flush=True)
time.sleep(600)
"""

SURVIVOR = """
import os, sys, time
i = 0
while not os.path.exists(sys.argv[1] if len(sys.argv) > 1 else "go"):
    print(f"tick {i}", flush=True)
    i += 1
    time.sleep(0.1)
sys.exit(7)
"""


def _launch_from_a_server_then_kill_it(state_dir: Path, code: str) -> str:
    server = subprocess.Popen(
        [PY, "-c", SERVER, str(state_dir), code], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    handle_id = server.stdout.readline().strip()
    server.stdout.close()
    server.send_signal(signal.SIGKILL)
    assert server.wait(30) == -signal.SIGKILL
    return handle_id


def test_a_new_server_readopts_a_running_container_and_waits_for_it(tmp_path: Path) -> None:
    state_dir = tmp_path / "containers"
    handle_id = _launch_from_a_server_then_kill_it(state_dir, SURVIVOR)

    handle = LocalProcessRuntime(state_dir).adopt(handle_id)
    assert handle.is_running()
    lines = handle.logs(follow=True)
    assert next(lines) == "tick 0"
    assert next(lines) == "tick 1"
    (handle.spec.workdir or handle.container_dir / "work").joinpath("go").touch()
    assert handle.wait(30) == 7
    rest = list(lines)  # following ends once the process has exited and the log is drained
    assert all(line.startswith("tick") for line in rest)


def test_a_new_server_readopts_a_running_container_and_stops_it(tmp_path: Path) -> None:
    state_dir = tmp_path / "containers"
    handle_id = _launch_from_a_server_then_kill_it(state_dir, SURVIVOR)

    runtime = LocalProcessRuntime(state_dir)
    assert [h.id for h in runtime.list()] == [handle_id]
    handle = runtime.adopt(handle_id)
    assert handle.is_running()
    assert handle.stop(grace_s=5) == -signal.SIGTERM
    assert LocalProcessRuntime(state_dir).adopt(handle_id).exit_code() == -signal.SIGTERM
