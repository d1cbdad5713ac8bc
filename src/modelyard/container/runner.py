"""Running the user's processes: the one module of the toolkit that spawns them.

:class:`ProcessRunner` runs a command in the job's code directory, lets its stdout flow
straight through (the platform parses metrics from it as it streams), relays its stderr
while keeping the last 64 KiB for the failure reason, and forwards SIGTERM / SIGINT to
it: a stop reaches the script even where only the toolkit's process is signalled (a
container's PID 1), and the toolkit then exits with 128 + the signal number.

:func:`select_runner` is the seam for distributed launchers: the toolkit's MPI,
``torch_distributed`` (torchrun), smdataparallel and PyTorch XLA runners are not
implemented yet, and asking for one fails clearly instead of running a single process.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

from modelyard.container import params
from modelyard.container.errors import PlatformError

logger = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 64 * 1024
_TRACEBACK_START = "Traceback (most recent call last):"
_TAIL_LINES = 30
_FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(Exception):  # noqa: N818 - control flow, not an error
    """A stop signal arrived while a process ran: the job ends stopped, not failed."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@dataclass(frozen=True)
class ProcessResult:
    exit_code: int  # negative: killed by that signal (subprocess's convention)
    stderr_tail: str  # the last STDERR_TAIL_BYTES of stderr, decoded
    stopped_by: int | None = None  # the stop signal forwarded to it, if any

    def error_excerpt(self) -> str:
        """What to quote as ``ErrorMessage``: the last Python traceback, else the last lines."""
        start = self.stderr_tail.rfind(_TRACEBACK_START)
        if start >= 0:
            return self.stderr_tail[start:].strip()
        return "\n".join(self.stderr_tail.strip().splitlines()[-_TAIL_LINES:])


def _relay(fd: int, sink: BinaryIO | None, tail: collections.deque[bytes]) -> None:
    """Copy the child's stderr to ``sink`` as it comes, keeping its last bytes in ``tail``."""
    kept = 0
    while chunk := os.read(fd, 65536):
        if sink is not None:
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):
                sink = None  # our stderr is gone; keep draining the pipe
        tail.append(chunk)
        kept += len(chunk)
        while kept - len(tail[0]) >= STDERR_TAIL_BYTES:
            kept -= len(tail.popleft())


class ProcessRunner:
    """Runs one process per host: script mode's runner (the toolkit's ``ProcessRunner``)."""

    def __init__(self, *, stderr_sink: BinaryIO | None = None) -> None:
        self._stderr_sink = stderr_sink

    def run(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> ProcessResult:
        sink = self._stderr_sink or getattr(sys.stderr, "buffer", None)
        try:
            process = subprocess.Popen(
                list(command), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            return ProcessResult(exit_code=127, stderr_tail=f"cannot run {command[0]}: {exc}")
        assert process.stderr is not None
        tail: collections.deque[bytes] = collections.deque()
        relay = threading.Thread(
            target=_relay,
            args=(process.stderr.fileno(), sink, tail),
            name="stderr-relay",
            daemon=True,
        )
        relay.start()
        stopped: list[int] = []
        with _forwarding_signals(process, stopped):
            exit_code = process.wait()
        relay.join()
        process.stderr.close()
        text = b"".join(tail)[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")
        return ProcessResult(exit_code, text, stopped[0] if stopped else None)


class _forwarding_signals:  # noqa: N801 - used as a context manager
    """Forward SIGTERM/SIGINT to ``process`` while it runs (main thread only)."""

    def __init__(self, process: subprocess.Popen[bytes], stopped: list[int]) -> None:
        self._process = process
        self._stopped = stopped
        self._previous: dict[int, Any] = {}

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        self._stopped.append(signum)
        logger.info("received signal %d: forwarding it to the entry point", signum)
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signum)

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in _FORWARDED_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._forward)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def select_runner(framework_params: Mapping[str, Any], *, distributed: bool) -> ProcessRunner:
    """The runner for this job; distributed launchers are not implemented yet.

    ``distributed`` is whether the current instance group is one of the job's
    distribution instance groups (the toolkit's condition for using a launcher).
    """
    launchers = [name for name in params.DISTRIBUTION_PARAMS if framework_params.get(name)]
    if distributed and launchers:
        raise PlatformError(
            f"{', '.join(launchers)} asks for a distributed launcher, which modelyard's "
            "training toolkit does not provide yet: run without a 'distribution', or "
            "start torchrun / mpirun from your own entry point"
        )
    return ProcessRunner()
