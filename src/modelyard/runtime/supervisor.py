"""The supervisor of one local container: ``python -m modelyard.runtime.supervisor <dir>``.

Standard library only, so it starts fast and depends on nothing the server has.
:class:`~modelyard.runtime.local.LocalProcessRuntime` writes ``<dir>/plan.json``
(argv, env, cwd, log path, CPU set, memory limit) and starts this module in a new
session. The supervisor then

1. forks once more and lets the intermediate process exit, so it is adopted by
   init: it outlives the server, and the server never has a zombie to reap;
2. starts the command in a process group of its own (``pgid == child pid``) with
   stdin from ``/dev/null`` and stdout + stderr appended to the log file, after
   applying the limits in the child (see :func:`apply_limits`);
3. writes ``pids.json`` (its own pid and the child's), then tells the launching
   server ``started <supervisor pid> <child pid>`` on its stdout and detaches from
   that pipe;
4. forwards SIGTERM / SIGINT / SIGHUP it receives to the child's process group;
5. when the child exits, SIGKILLs whatever is left of the group (a container ends
   with its main process), reaps the child and writes ``exit_code`` atomically
   (temp file + rename): the exit status, negative when killed by that signal.

Because the exit code lands in a file, whoever reads the directory learns it; the
server does not need to be the parent, which is what makes re-adoption after a
server restart work. A command that cannot be started gets exit code 127 (not
found) or 126 (not executable / limits refused), the reason in the log.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PLAN_FILE = "plan.json"
PIDS_FILE = "pids.json"
EXIT_CODE_FILE = "exit_code"
SUPERVISOR_LOG = "supervisor.log"

EXIT_NOT_FOUND = 127
EXIT_CANNOT_EXECUTE = 126


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def apply_limits(cpus: list[int] | None, memory_bytes: int | None) -> None:
    """Run in the child between fork and exec.

    Memory is limited with ``RLIMIT_DATA``, not ``RLIMIT_AS``: since Linux 4.7
    ``RLIMIT_DATA`` counts private writable memory (heap and anonymous mappings,
    thread stacks), which is what a process really allocates, so an allocation past
    the limit fails with ``MemoryError`` in Python. ``RLIMIT_AS`` also counts address
    space that is only reserved (glibc malloc arenas, shared libraries, the large
    ``PROT_NONE`` reservations of torch/jemalloc and of JIT runtimes), which makes
    ordinary numpy/torch programs fail far below the memory they actually use.
    Measured here: after ``import torch`` and a 2000x2000 matmul a process has
    730 MB of address space but 250 MB of data (260 MB resident), and the gap
    grows with the thread count (each malloc arena reserves 64 MB).
    """
    if cpus:
        os.sched_setaffinity(0, cpus)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_DATA, (memory_bytes, memory_bytes))


def _log_line(log_path: Path, message: str) -> None:
    with open(log_path, "a", encoding="utf-8") as fh:
        fh.write(f"modelyard: {message}\n")


def _handshake(message: str) -> None:
    """Tell the launching server how the start went, then let go of its pipe."""
    with contextlib.suppress(OSError):
        os.write(1, f"{message}\n".encode())
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)


def _start_child(plan: dict[str, Any], log_path: Path) -> subprocess.Popen[bytes] | int:
    """The running child, or the exit code of a command that could not start."""
    cpus = plan.get("cpus")
    memory_bytes = plan.get("memory_bytes")
    with open(log_path, "ab") as log:
        try:
            return subprocess.Popen(
                plan["argv"],
                cwd=plan["cwd"],
                env=plan["env"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                process_group=0,
                close_fds=True,
                preexec_fn=lambda: apply_limits(cpus, memory_bytes),
            )
        except FileNotFoundError as exc:
            _log_line(log_path, f"cannot start {plan['argv'][0]!r}: {exc}")
            return EXIT_NOT_FOUND
        except (OSError, subprocess.SubprocessError) as exc:
            _log_line(log_path, f"cannot start {plan['argv'][0]!r}: {exc}")
            return EXIT_CANNOT_EXECUTE


def _wait_for_exit(child: subprocess.Popen[bytes]) -> int:
    """Wait for the child without reaping it, clear its group, then reap it."""
    while True:
        try:
            os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
            break
        except ChildProcessError:
            break
    # The pgid cannot be reused while the (unreaped) leader still holds it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    return child.wait()


def supervise(container_dir: Path) -> int:
    plan = json.loads((container_dir / PLAN_FILE).read_text(encoding="utf-8"))
    log_path = Path(plan["log_path"])

    child = _start_child(plan, log_path)
    if isinstance(child, int):
        write_atomic(container_dir / PIDS_FILE, json.dumps({"supervisor": os.getpid()}))
        write_atomic(container_dir / EXIT_CODE_FILE, f"{child}\n")
        _handshake(f"failed {os.getpid()} {child}")
        return 0

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)

    pids = {"supervisor": os.getpid(), "child": child.pid, "started_at": time.time()}
    write_atomic(container_dir / PIDS_FILE, json.dumps(pids))
    _handshake(f"started {os.getpid()} {child.pid}")

    exit_code = _wait_for_exit(child)
    write_atomic(container_dir / EXIT_CODE_FILE, f"{exit_code}\n")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m modelyard.runtime.supervisor <container dir>\n")
        return 2
    container_dir = Path(argv[1]).resolve()
    # Detach from the launcher: the intermediate process exits at once, the
    # supervisor is re-parented to init and never becomes the server's zombie.
    if os.fork() > 0:
        os._exit(0)
    try:
        return supervise(container_dir)
    except BaseException as exc:
        sys.stderr.write(f"modelyard supervisor failed: {exc!r}\n")
        with contextlib.suppress(OSError):
            _handshake(f"error {os.getpid()} {exc!r}")
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv))
