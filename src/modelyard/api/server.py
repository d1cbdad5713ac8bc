"""Running the control-plane server: in the foreground, or in the background for a home.

A running server of a home is described by ``<home>/run/server.json`` (pid, url,
process start time in clock ticks since boot). Clients of that home find it there; the
start time guards against a recycled pid (ticks, not psutil's epoch ``create_time``,
which moves when the wall clock is adjusted: see ``runtime.local_handle.start_ticks_of``).
The socket is bound before the file is written, so a client that reads the file can
connect at once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import uvicorn

from modelyard.config import Settings
from modelyard.errors import ServerUnavailableError
from modelyard.runtime.local_handle import start_ticks_of

log = logging.getLogger(__name__)

STATE_FILE = "server.json"


@dataclass(frozen=True)
class ServerState:
    pid: int
    url: str
    start_ticks: int

    def is_alive(self) -> bool:
        if start_ticks_of(self.pid) != self.start_ticks:
            return False
        try:
            return bool(psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False


def state_path(settings: Settings) -> Path:
    return settings.run_dir / STATE_FILE


def read_state(settings: Settings) -> ServerState | None:
    """The home's server if its state file names a live process, else None."""
    try:
        raw = json.loads(state_path(settings).read_text())
        state = ServerState(
            pid=int(raw["pid"]), url=str(raw["url"]), start_ticks=int(raw["start_ticks"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state.is_alive() else None


def serve(settings: Settings) -> None:
    """Run the server in this process until SIGINT/SIGTERM."""
    from modelyard.api.app import create_app
    from modelyard.api.services import build_services

    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    sock = _bind(settings.server_host, settings.server_port)
    host, port = sock.getsockname()[:2]
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{port}"
    services = build_services(settings)
    app = create_app(services)
    config = uvicorn.Config(app, log_level=settings.log_level.lower(), access_log=False)
    server = uvicorn.Server(config)
    _write_state(settings, url)
    log.info("modelyard %s serving %s at %s", settings.home, settings.store_backend, url)
    try:
        server.run(sockets=[sock])
    finally:
        _remove_state(settings)
        services.close()


def start_background(settings: Settings) -> str:
    """Start a server for this home in the background unless one runs; return its URL."""
    running = read_state(settings)
    if running is not None:
        return running.url
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["MODELYARD_HOME"] = str(settings.home)
    if _port_in_use(settings.server_host, settings.server_port):
        env["MODELYARD_SERVER_PORT"] = "0"
    log_path = settings.logs_dir / "server.log"
    pid = _spawn_detached(
        [sys.executable, "-m", "modelyard.cli.main", "server"], env=env, log_path=log_path
    )
    deadline = time.monotonic() + settings.server_start_timeout_s
    while time.monotonic() < deadline:
        state = read_state(settings)
        if state is not None and state.pid == pid and _answers(state.url, settings):
            return state.url
        if not psutil.pid_exists(pid):
            break
        time.sleep(0.05)
    else:
        _signal(pid, signal.SIGTERM)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise ServerUnavailableError(f"the modelyard server did not start (see {log_path}):\n{tail}")


def stop_background(settings: Settings, *, timeout_s: float = 30.0) -> bool:
    """Stop this home's server; False if none was running."""
    state = read_state(settings)
    if state is None:
        _remove_state(settings)
        return False
    _signal(state.pid, signal.SIGTERM)
    try:
        psutil.Process(state.pid).wait(timeout=timeout_s)
    except psutil.TimeoutExpired:
        _signal(state.pid, signal.SIGKILL)
    except psutil.NoSuchProcess:
        pass
    _remove_state(settings)
    return True


_LAUNCHER = """
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
print(child.pid)
"""


def _spawn_detached(command: list[str], *, env: dict[str, str], log_path: Path) -> int:
    """Start ``command`` as a daemon (its own session, re-parented to init) and return its pid.

    A short-lived launcher process starts it and exits, so the server is never
    our child: it outlives us, and its death never leaves a zombie that would
    still look alive to :meth:`ServerState.is_alive`.
    """
    launched = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, str(log_path), *command],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if launched.returncode != 0:
        raise ServerUnavailableError(f"could not launch the server: {launched.stderr.strip()}")
    return int(launched.stdout.strip())


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _answers(url: str, settings: Settings) -> bool:
    headers = {}
    if settings.api_token is not None:
        headers["Authorization"] = f"Bearer {settings.api_token.get_secret_value()}"
    try:
        return httpx.get(f"{url}/health", headers=headers, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ServerUnavailableError(
            f"cannot bind {host}:{port} ({exc.strerror}): set MODELYARD_SERVER_PORT to a free "
            "port, or 0 for any"
        ) from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _port_in_use(host: str, port: int) -> bool:
    if port == 0:
        return False
    try:
        _bind(host, port).close()
    except ServerUnavailableError:
        return True
    return False


def _write_state(settings: Settings, url: str) -> None:
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    body = {"pid": pid, "url": url, "start_ticks": start_ticks_of(pid)}
    temp = state_path(settings).with_suffix(".tmp")
    temp.write_text(json.dumps(body))
    temp.replace(state_path(settings))


def _remove_state(settings: Settings) -> None:
    state = read_state(settings)
    if state is None or state.pid == os.getpid():
        state_path(settings).unlink(missing_ok=True)
