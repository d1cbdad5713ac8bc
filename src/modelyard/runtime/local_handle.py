"""The handle of a local container, rebuilt from its directory alone.

Layout of one container, ``<state_dir>/<id>/``:

==================  ===========================================================
``spec.json``       the :class:`ContainerSpec` as launched, plus what the runtime
                    assigned (host ports, CPU set) and the launch time
``plan.json``       exactly what the supervisor executes (argv, env, cwd, limits)
``output.log``      stdout and stderr of the command, interleaved as written
``pids.json``       pids of the supervisor and of the command (by the supervisor)
``identity.json``   their start times (by the launching server): ``start_ticks``, in
                    clock ticks since boot, and psutil's ``create_time``; the
                    guard against a pid reused by an unrelated process
``exit_code``       written once, atomically, when the command has exited;
                    negative = killed by that signal
``supervisor.log``  the supervisor's own errors, if any
``work/``           the working directory when the spec names none
==================  ===========================================================

Nothing here depends on being the process that launched the container: the
supervisor records the exit code in a file, so a handle made by a server started
later (:meth:`LocalProcessRuntime.adopt`) knows as much as the launcher's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import psutil

from modelyard.errors import NotFoundError
from modelyard.runtime.base import ContainerSpec, Handle, Mount, Resources
from modelyard.runtime.logfile import read_log_lines
from modelyard.runtime.supervisor import EXIT_CODE_FILE, PIDS_FILE, write_atomic

SPEC_FILE = "spec.json"
IDENTITY_FILE = "identity.json"
LOG_FILE = "output.log"

#: Exit code reported when the supervisor vanished without recording one (the
#: machine was restarted, or somebody killed the supervisor).
EXIT_CODE_LOST = 255

_CREATE_TIME_TOLERANCE_S = 0.01
#: How long a container whose supervisor has not reported yet counts as still launching.
LAUNCH_GRACE_S = 60.0


def spec_to_json(spec: ContainerSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["image_root"] = str(spec.image_root) if spec.image_root else None
    data["workdir"] = str(spec.workdir) if spec.workdir else None
    data["mounts"] = [
        {"source": str(m.source), "target": m.target, "read_only": m.read_only} for m in spec.mounts
    ]
    return data


def spec_from_json(data: dict[str, Any]) -> ContainerSpec:
    return ContainerSpec(
        name=data["name"],
        command=list(data["command"]),
        image_root=Path(data["image_root"]) if data.get("image_root") else None,
        env=dict(data.get("env") or {}),
        workdir=Path(data["workdir"]) if data.get("workdir") else None,
        mounts=[
            Mount(Path(m["source"]), m["target"], bool(m.get("read_only")))
            for m in data.get("mounts") or []
        ],
        resources=Resources(**(data.get("resources") or {})),
        ports={k: int(v) for k, v in (data.get("ports") or {}).items()},
        labels=dict(data.get("labels") or {}),
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def start_ticks_of(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat``, field 22).

    The identity check relies on this rather than on an epoch ``create_time``: psutil
    adds the boot time of ``/proc/stat`` (whole seconds, recomputed from the wall clock)
    to it, so it moves by a second when the clock is adjusted, and a running process
    would then look like another one (seen here: live replicas recorded as lost).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # after the command name: field 3 on
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def _live_process(
    pid: int | None, create_time: float | None, start_ticks: int | None = None
) -> psutil.Process | None:
    """The process ``pid`` if it is alive (not a zombie) and is the one recorded."""
    if not pid:
        return None
    try:
        proc = psutil.Process(pid)
        if start_ticks is not None:
            if start_ticks_of(pid) != start_ticks:
                return None
        elif create_time is not None and abs(proc.create_time() - create_time) > (
            _CREATE_TIME_TOLERANCE_S
        ):
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return proc


def create_time_of(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


class LocalHandle(Handle):
    """A container of :class:`LocalProcessRuntime`, known by its directory alone."""

    def __init__(self, container_dir: Path) -> None:
        self._dir = container_dir
        record = _read_json(container_dir / SPEC_FILE)
        if record is None:
            raise NotFoundError(f"no container {container_dir.name!r} is known to this runtime")
        self._record = record
        self._exit_code: int | None = None

    @property
    def id(self) -> str:
        return self._dir.name

    @property
    def container_dir(self) -> Path:
        return self._dir

    @property
    def log_path(self) -> Path:
        return self._dir / LOG_FILE

    @property
    def spec(self) -> ContainerSpec:
        return spec_from_json(self._record["spec"])

    @property
    def cpus(self) -> list[int]:
        """The cores of its affinity mask (empty: not limited)."""
        return list(self._record.get("cpus") or [])

    @property
    def launched_at(self) -> float:
        return float(self._record["launched_at"])

    def ports(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._record.get("host_ports", {}).items()}

    # -- processes ---------------------------------------------------------

    def _pids(self) -> dict[str, Any]:
        return _read_json(self._dir / PIDS_FILE) or {}

    def _identity(self) -> dict[str, Any]:
        return _read_json(self._dir / IDENTITY_FILE) or {}

    def _supervisor(self) -> psutil.Process | None:
        pid = self._pids().get("supervisor")
        known = self._identity().get("supervisor") or {}
        proc = _live_process(pid, known.get("create_time"), known.get("start_ticks"))
        if proc is None or known.get("create_time") is not None:
            return proc
        # Not yet recorded (the server died during launch): the command line names
        # this very directory, which no unrelated process does.
        try:
            return proc if str(self._dir) in proc.cmdline() else None
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def _child(self) -> psutil.Process | None:
        """The command's process, only when it can be told apart from a reused pid."""
        pid = self._pids().get("child")
        known = self._identity().get("child") or {}
        if self._supervisor() is not None:
            # The supervisor holds the child unreaped until it has recorded its exit.
            return _live_process(pid, known.get("create_time"), known.get("start_ticks"))
        if known.get("create_time") is None:
            return None
        return _live_process(pid, known["create_time"], known.get("start_ticks"))

    def _read_exit_file(self) -> int | None:
        try:
            text = (self._dir / EXIT_CODE_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return int(text)

    def exit_code(self) -> int | None:
        if self._exit_code is not None:
            return self._exit_code
        code = self._read_exit_file()
        if code is None:
            if self._supervisor() is not None or self._child() is not None:
                return None
            if self._still_launching():
                return None
            # Dead without a word? It writes the file before it exits: look again.
            code = self._read_exit_file()
            if code is None:
                code = self._record_lost()
        self._exit_code = code
        return code

    def _still_launching(self) -> bool:
        """Launched moments ago and the supervisor has not reported yet (no ``pids.json``):
        another thread's launch in progress, not a container that died without a word."""
        if (self._dir / PIDS_FILE).exists():
            return False
        return time.time() - self.launched_at < LAUNCH_GRACE_S

    def _record_lost(self) -> int:
        if not self._dir.is_dir():
            raise NotFoundError(f"container {self.id} was removed")
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(
                "modelyard: the supervisor of this container is gone without recording an "
                "exit status (machine restarted or supervisor killed)\n"
            )
        write_atomic(self._dir / EXIT_CODE_FILE, f"{EXIT_CODE_LOST}\n")
        return EXIT_CODE_LOST

    def is_running(self) -> bool:
        return self.exit_code() is None

    def wait(self, timeout_s: float | None = None) -> int | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay_s = 0.005
        while True:
            code = self.exit_code()
            if code is not None:
                return code
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                delay_s = min(delay_s, remaining)
            time.sleep(delay_s)
            delay_s = min(delay_s * 2, 0.1)

    def pid(self) -> int | None:
        child = self._child()
        return child.pid if child is not None else None

    def _signal_group(self, signum: int) -> None:
        child = self._child()
        if child is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signum)

    def stop(self, grace_s: float = 120.0) -> int | None:
        if not self.is_running():
            return self.exit_code()
        self._signal_group(signal.SIGTERM)
        code = self.wait(grace_s)
        if code is not None:
            return code
        self._signal_group(signal.SIGKILL)
        return self.wait(30.0)

    def logs(self, *, follow: bool = False, since_line: int = 0) -> Iterator[str]:
        return read_log_lines(
            self.log_path, since_line=since_line, follow=follow, is_running=self.is_running
        )

    def __repr__(self) -> str:
        return f"LocalHandle({self.id!r})"
