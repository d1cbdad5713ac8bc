"""The embedded runtime: each container is a local process group under a supervisor.

The supervisor (:mod:`modelyard.runtime.supervisor`) runs in a session of its own
and is re-parented to init, so it outlives the server; it writes the exit code to
a file, so any later server process learns it: :meth:`LocalProcessRuntime.adopt`
rebuilds a handle from the container's directory alone (layout in
:mod:`modelyard.runtime.local_handle`).

What a container sees:

- ``env`` = a few host variables (``HOME``, locale, temp dir, proxies, ``PIP_*``;
  see :data:`HOST_ENV_PASSTHROUGH`), then ``spec.env``, then ``PYTHONUNBUFFERED=1``
  unless the spec sets it; with ``image_root``, ``PATH`` is led by
  ``<image_root>/bin`` and ``VIRTUAL_ENV=<image_root>``.
- Ports: for each name in ``spec.ports`` a free host port on 127.0.0.1 is picked
  and passed as ``MODELYARD_PORT_<NAME>`` (name upper-cased, other characters than
  letters and digits as ``_``); the process must listen there.
  :meth:`LocalHandle.ports` reports them.
- CPU limit: ``resources.cpus`` = the number of cores in its affinity mask (the
  least used of the server's cores; at most as many as there are).
- Memory limit: ``resources.memory_mb`` through ``RLIMIT_DATA`` (why not
  ``RLIMIT_AS``: see :func:`modelyard.runtime.supervisor.apply_limits`). An rlimit
  holds per process, inherited by children: it is not a cgroup total of the group.
- Mounts: a relative ``target`` becomes a symlink ``<workdir>/<target>`` to the
  source (``read_only`` cannot be enforced by a symlink and is advisory here).
  An absolute target (``/opt/ml``) makes the command run under bubblewrap, with
  the mounts bound at their targets, ``read_only`` enforced, the host's root
  read-only and a private ``/tmp`` (see :mod:`modelyard.runtime.sandbox`); without
  ``bwrap`` installed such a launch is refused with the package to install.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import re
import selectors
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from modelyard.errors import ContainerRuntimeError, NotFoundError
from modelyard.runtime import supervisor as supervisor_module
from modelyard.runtime.base import ContainerSpec, Handle, Mount, Runtime
from modelyard.runtime.local_handle import (
    IDENTITY_FILE,
    LOG_FILE,
    SPEC_FILE,
    LocalHandle,
    create_time_of,
    spec_to_json,
    start_ticks_of,
)
from modelyard.runtime.sandbox import needs_sandbox, sandbox_argv
from modelyard.runtime.supervisor import PLAN_FILE, SUPERVISOR_LOG, write_atomic

#: Host variables a container inherits; everything else comes from its spec.
HOST_ENV_PASSTHROUGH = (
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
    "PATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
#: Prefixes of host variables a container inherits (locale, pip's own settings).
HOST_ENV_PREFIXES = ("LC_", "PIP_")

_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
_CREATE_TIME_TOLERANCE_S = 0.01


def port_env_name(port_name: str) -> str:
    """``MODELYARD_PORT_<NAME>``: the variable that carries a named port's host port."""
    return "MODELYARD_PORT_" + re.sub(r"[^A-Za-z0-9]", "_", port_name).upper()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.")[:48] or "container"


class LocalProcessRuntime(Runtime):
    """Containers as local process groups; state under ``state_dir`` (see the module doc).

    ``start_timeout_s`` bounds how long :meth:`launch` waits for the supervisor to
    report that the command started.
    """

    name = "local"

    def __init__(self, state_dir: Path, *, start_timeout_s: float = 30.0) -> None:
        self.state_dir = Path(state_dir)
        self.start_timeout_s = start_timeout_s

    # -- launching ---------------------------------------------------------

    def launch(self, spec: ContainerSpec) -> LocalHandle:
        if not spec.command:
            raise ContainerRuntimeError(f"container {spec.name!r} has an empty command")
        container_id = f"{_slug(spec.name)}-{uuid.uuid4().hex[:10]}"
        container_dir = self.state_dir / container_id
        container_dir.mkdir(parents=True)
        workdir = Path(spec.workdir) if spec.workdir else container_dir / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        _make_mounts(workdir, spec.mounts)
        argv = list(spec.command)
        env_extra: dict[str, str] = {}
        if needs_sandbox(spec.mounts):
            argv, _inside = sandbox_argv(
                argv,
                spec.mounts,
                workdir=workdir,
                image_root=spec.image_root,
                python_path=spec.env.get("PYTHONPATH", ""),
            )
            env_extra["TMPDIR"] = "/tmp"  # the sandbox's own /tmp

        host_ports = {name: _free_port() for name in spec.ports}
        cpus = self._choose_cpus(spec.resources.cpus) if spec.resources.cpus else None
        memory_bytes = spec.resources.memory_mb * 2**20 if spec.resources.memory_mb else None
        log_path = container_dir / LOG_FILE
        log_path.touch()

        record = {
            "id": container_id,
            "spec": spec_to_json(spec),
            "host_ports": host_ports,
            "cpus": cpus,
            "launched_at": time.time(),
        }
        plan = {
            "argv": argv,
            "env": {**_container_env(spec, host_ports), **env_extra},
            "cwd": str(workdir),
            "log_path": str(log_path),
            "cpus": cpus,
            "memory_bytes": memory_bytes,
        }
        write_atomic(container_dir / SPEC_FILE, json.dumps(record, indent=2))
        write_atomic(container_dir / PLAN_FILE, json.dumps(plan, indent=2))
        self._start_supervisor(container_dir)
        return LocalHandle(container_dir)

    def _start_supervisor(self, container_dir: Path) -> None:
        # -I: the supervisor imports the standard library only, so it needs neither
        # the server's sys.path nor its environment's PYTHON* variables.
        argv = [sys.executable, "-I", supervisor_module.__file__, str(container_dir)]
        with open(container_dir / SUPERVISOR_LOG, "ab") as supervisor_log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=container_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=supervisor_log,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                raise ContainerRuntimeError(
                    f"cannot start the supervisor of {container_dir.name}: {exc}"
                ) from exc
        assert proc.stdout is not None
        try:
            line = _read_line(proc.stdout, self.start_timeout_s)
        finally:
            proc.stdout.close()
            proc.wait()  # the intermediate process; it exits right after forking
        words = line.split(maxsplit=2)
        if not words or words[0] not in ("started", "failed"):
            detail = (container_dir / SUPERVISOR_LOG).read_text(errors="replace").strip()
            raise ContainerRuntimeError(
                f"the supervisor of {container_dir.name} did not start the command "
                f"(said {line!r}): {detail[-2000:]}"
            )
        identity: dict[str, Any] = {}
        supervisor_pid = int(words[1])
        identity["supervisor"] = {
            "pid": supervisor_pid,
            "create_time": create_time_of(supervisor_pid),
            "start_ticks": start_ticks_of(supervisor_pid),
        }
        if words[0] == "started":
            child_pid = int(words[2])
            identity["child"] = {
                "pid": child_pid,
                "create_time": create_time_of(child_pid),
                "start_ticks": start_ticks_of(child_pid),
            }
        write_atomic(container_dir / IDENTITY_FILE, json.dumps(identity))

    def _choose_cpus(self, count: int) -> builtins.list[int]:
        """``count`` cores of the server's affinity mask, the least used by running containers."""
        available = sorted(os.sched_getaffinity(0))
        load: Counter[int] = Counter()
        for handle in self.handles():
            if handle.is_running():
                load.update(handle.cpus)
        chosen = sorted(available, key=lambda cpu: (load[cpu], cpu))[: max(1, count)]
        return sorted(chosen)

    # -- finding again -----------------------------------------------------

    def adopt(self, handle_id: str) -> LocalHandle:
        if not handle_id or "/" in handle_id or handle_id.startswith("."):
            raise NotFoundError(f"no container {handle_id!r} is known to this runtime")
        return LocalHandle(self.state_dir / handle_id)

    def list(self) -> list[Handle]:
        return [*self.handles()]

    def handles(self) -> builtins.list[LocalHandle]:
        """:meth:`list`, typed as this runtime's handles."""
        if not self.state_dir.is_dir():
            return []
        handles: builtins.list[LocalHandle] = []
        for entry in sorted(self.state_dir.iterdir()):
            if (entry / SPEC_FILE).is_file():
                with contextlib.suppress(NotFoundError):
                    handles.append(LocalHandle(entry))
        return handles

    def remove(self, handle_id: str) -> None:
        """Forget an exited container: its directory, log included. Refused while running."""
        handle = self.adopt(handle_id)
        if handle.is_running():
            raise ContainerRuntimeError(f"container {handle_id} is still running: stop it first")
        shutil.rmtree(handle.container_dir, ignore_errors=True)


def _read_line(stream: Any, timeout_s: float) -> str:
    """One line from a pipe, or what came before EOF / the timeout."""
    deadline = time.monotonic() + timeout_s
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace").strip()


def _container_env(spec: ContainerSpec, host_ports: dict[str, int]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name in HOST_ENV_PASSTHROUGH or name.startswith(HOST_ENV_PREFIXES)
    }
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update(spec.env)
    env.setdefault("PYTHONUNBUFFERED", "1")
    if spec.image_root is not None:
        root = Path(spec.image_root)
        env["PATH"] = f"{root / 'bin'}{os.pathsep}{env['PATH']}"
        env["VIRTUAL_ENV"] = str(root)
        env.pop("PYTHONHOME", None)
    for name, port in host_ports.items():
        env[port_env_name(name)] = str(port)
    return env


def _make_mounts(workdir: Path, mounts: list[Mount]) -> None:
    for mount in mounts:
        target = PurePosixPath(mount.target)
        if target.is_absolute():
            continue  # bound by the sandbox (modelyard.runtime.sandbox)
        if ".." in target.parts or not target.parts:
            raise ContainerRuntimeError(
                f"mount target {mount.target!r} must stay inside the working directory"
            )
        link = workdir / target
        link.parent.mkdir(parents=True, exist_ok=True)
        source = Path(mount.source).resolve()
        if link.is_symlink() and Path(os.readlink(link)) == source:
            continue
        if link.exists() or link.is_symlink():
            raise ContainerRuntimeError(f"mount target {link} already exists")
        link.symlink_to(source, target_is_directory=source.is_dir())
