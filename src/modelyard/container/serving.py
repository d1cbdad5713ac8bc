"""The serving entry of a framework image: ``python -m modelyard.container.serving [serve]``.

What SageMaker's ``serve`` command does with the inference toolkit, without a model
server to install: the model archive is already extracted into ``<base>/model``
(``SAGEMAKER_BASE_DIR``, default ``/opt/ml``; the platform uses
:func:`modelyard.container.archive.safe_extract`), the handlers are in
``<base>/model/code/inference.py`` (:mod:`.handlers`), the framework defaults fill in
the rest (:mod:`.defaults`).

This process is the supervisor. It binds the port once (``SAGEMAKER_BIND_TO_PORT``,
else ``MODELYARD_PORT_HTTP``, else 8080, on ``MODELYARD_BIND_HOST`` / 127.0.0.1),
starts ``SAGEMAKER_MODEL_SERVER_WORKERS`` worker processes (default: the CPUs this
process may run on) that share the listening socket (:mod:`.serving_worker`), restarts
a worker that dies (with a backoff when it dies young), and on SIGTERM or SIGINT
forwards it to the workers, which finish what they received and exit; then it exits 0.
It never imports a framework or NumPy: workers are fresh interpreters, so nothing
forked carries a framework's threads. Unless the environment says otherwise, each
worker's math libraries get an equal share of the CPUs (``OMP_NUM_THREADS``,
``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` = CPUs // workers), so that N workers
of a multi-threaded framework do not oversubscribe the replica's cores.

Exit codes: 0 after a drain, 70 (``EX_SOFTWARE``) when the settings are unusable or the
port cannot be bound. The settings are in :mod:`.serving_settings`, the error answers
in :mod:`.serving_errors`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from modelyard.container.errors import EXIT_PLATFORM_ERROR, EXIT_SUCCESS
from modelyard.container.serving_settings import (
    ServingConfigError,
    ServingSettings,
    available_cpus,
)
from modelyard.container.serving_watchdog import BusyClocks, hard_grace_s
from modelyard.container.serving_worker import configure_logging

__all__ = ["WorkerSupervisor", "bind_listener", "main", "serve"]

logger = logging.getLogger("modelyard.container.serving")

LOG_FORMAT: Final = "%(asctime)s [supervisor pid %(process)d] %(levelname)s %(name)s: %(message)s"
LISTEN_BACKLOG: Final = 2048
_RESTART_BACKOFF_S: Final = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0)
_HEALTHY_AFTER_S: Final = 10.0
_KILL_MARGIN_S: Final = 5.0
THREAD_VARIABLES: Final = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket, inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(LISTEN_BACKLOG)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    failures: int = 0
    restart_at_s: float | None = field(default=0.0)


class WorkerSupervisor:
    """Starts, watches and stops the worker processes of one replica."""

    def __init__(
        self,
        listener: socket.socket,
        settings: ServingSettings,
        environ: Mapping[str, str],
        python: str = sys.executable,
    ) -> None:
        self.listener = listener
        self.settings = settings
        self.environ = dict(environ)
        self.python = python
        self.workers = [_Worker(index) for index in range(1, settings.workers + 1)]
        self.stopping = False
        self.clocks = BusyClocks.create(settings.workers)
        self.hard_deadline_s = settings.model_timeout_s + hard_grace_s(settings.model_timeout_s)

    def _spawn(self, worker: _Worker) -> None:
        fd = self.listener.fileno()
        self.clocks.reset(worker.index)
        command = [
            self.python,
            "-m",
            "modelyard.container.serving_worker",
            str(fd),
            str(worker.index),
            str(self.clocks.fd),
        ]
        worker.process = subprocess.Popen(command, env=self.environ, pass_fds=(fd, self.clocks.fd))
        worker.started_s = time.monotonic()
        worker.restart_at_s = None
        logger.info("worker %d started (pid %d)", worker.index, worker.process.pid)

    def _on_signal(self, signum: int, frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT) and not self.stopping:
            self.stopping = True

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT, then drain the workers; returns the exit code."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        previous_wakeup = signal.set_wakeup_fd(wake_w)
        handlers = {
            signum: signal.signal(signum, self._on_signal)
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        }
        try:
            while not self.stopping:
                self._tend()
                select.select([wake_r], [], [], 0.5)
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 512)
            return self._stop()
        finally:
            self.clocks.close()
            signal.set_wakeup_fd(previous_wakeup)
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            os.close(wake_r)
            os.close(wake_w)

    def _tend(self) -> None:
        now = time.monotonic()
        for worker in self.workers:
            process = worker.process
            if process is not None and process.poll() is None:
                if now - worker.started_s > _HEALTHY_AFTER_S:
                    worker.failures = 0
                busy_s = self.clocks.busy_for_s(worker.index)
                if busy_s > self.hard_deadline_s:
                    logger.error(
                        "worker %d (pid %d) has been in one request for %.1f s, past the "
                        "model timeout of %g s that could not interrupt it (native code?): "
                        "killing it",
                        worker.index,
                        process.pid,
                        busy_s,
                        self.settings.model_timeout_s,
                    )
                    self.clocks.reset(worker.index)
                    process.kill()
                    process.wait()
                else:
                    continue
            if process is not None and worker.restart_at_s is None:
                lived_s = now - worker.started_s
                worker.failures = worker.failures + 1 if lived_s < _HEALTHY_AFTER_S else 0
                delay_s = _RESTART_BACKOFF_S[min(worker.failures, len(_RESTART_BACKOFF_S) - 1)]
                logger.error(
                    "worker %d (pid %d) %s after %.1f s; restarting in %g s",
                    worker.index,
                    process.pid,
                    _describe_exit(process.returncode),
                    lived_s,
                    delay_s,
                )
                worker.restart_at_s = now + delay_s
            if worker.restart_at_s is not None and now >= worker.restart_at_s:
                self._spawn(worker)

    def _stop(self) -> int:
        logger.info("stopping: draining %d worker(s)", len(self.workers))
        self.listener.close()
        running = [w.process for w in self.workers if w.process and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.settings.drain_timeout_s + _KILL_MARGIN_S
        for process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                logger.error("worker pid %d did not drain in time: killing it", process.pid)
                process.kill()
                process.wait()
        logger.info("stopped")
        return EXIT_SUCCESS


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "is running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def serve(environ: Mapping[str, str] | None = None) -> int:
    """Run a replica until SIGTERM; returns the process exit code (see the module doc)."""
    env = dict(os.environ if environ is None else environ)
    try:
        settings = ServingSettings.from_environ(env)
    except ServingConfigError as exc:
        configure_logging(logging.INFO, LOG_FORMAT)
        logger.error("cannot serve: %s", exc)
        return EXIT_PLATFORM_ERROR
    configure_logging(settings.log_level, LOG_FORMAT)
    try:
        listener = bind_listener(settings.host, settings.port)
    except OSError as exc:
        logger.error("cannot listen on %s:%d: %s", settings.host, settings.port, exc)
        return EXIT_PLATFORM_ERROR
    threads = max(1, available_cpus() // settings.workers)
    for name in THREAD_VARIABLES:
        env.setdefault(name, str(threads))
    host, port = listener.getsockname()[:2]
    logger.info(
        "serving %s on %s:%d with %d worker(s); timeout %g s, max payload %g MiB",
        settings.model_dir,
        host,
        port,
        settings.workers,
        settings.model_timeout_s,
        settings.max_payload_mb,
    )
    return WorkerSupervisor(listener, settings, env).run()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args != ["serve"]:
        print("usage: python -m modelyard.container.serving [serve]", file=sys.stderr)
        return 2
    return serve()


if __name__ == "__main__":
    sys.exit(main())
