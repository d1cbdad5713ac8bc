"""Running the user's processes: the one module of the toolkit that spawns them.

:class:`ProcessRunner` runs a command in the job's code directory, lets its stdout flow
straight through (the platform parses metrics from it as it streams), relays its stderr
while keeping the last 64 KiB for the failure reason, and forwards SIGTERM / SIGINT to
it: a stop reaches the script even where only the toolkit's process is signalled (a
container's PID 1), and the toolkit then exits with 128 + the signal number.

:func:`select_runner` is the seam for distributed launchers. A runner runs any process
(pip, the entry point) and decides how the entry point is started
(:meth:`ProcessRunner.entry_point_command`):

* :class:`ProcessRunner`: the entry point itself, once per host (script mode);
* :class:`TorchDistributedRunner`: ``distribution={"torch_distributed": {"enabled": True}}``
  (hyperparameter ``sagemaker_torch_distributed_enabled``): the entry point under
  ``torchrun`` on every host, with the toolkit's command line
  ``torchrun --nnodes N --nproc_per_node P --master_addr <algo-1> --master_port 7777
  --node_rank i <script> <args>`` (run as ``python -m torch.distributed.run``, the same
  program, so the image's Python is used whatever PATH says). ``P`` is
  ``sagemaker_mpi_num_of_processes_per_host`` if given, else the GPUs, else the Neuron
  cores, else 1 (the toolkit's default on CPU instances: one gloo process per host).
  ``MASTER_ADDR`` / ``MASTER_PORT`` in the container's environment replace the first
  host's name and port 7777: the platform sets them where host names do not resolve
  (locally, every host is a process on 127.0.0.1). On a real multi-machine runtime the
  runtime makes ``algo-1`` resolvable and sets neither. On one host the toolkit passes
  no rendezvous options; we pass them only when the platform gave them.

The toolkit's MPI, smdataparallel, parameter-server and PyTorch XLA launchers are not
provided: asking for one fails clearly instead of running a single process (the
control plane refuses such jobs at create time already).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
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
from modelyard.container.entry_point import EntryPoint, EntryPointType
from modelyard.container.environment import TrainingEnvironment
from modelyard.container.errors import EntryPointError, PlatformError

logger = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 64 * 1024
_TRACEBACK_START = "Traceback (most recent call last):"
_CHILD_FAILED = "torch.distributed.elastic.multiprocessing.errors.ChildFailedError"
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

    def entry_point_command(
        self, entry_point: EntryPoint, args: Sequence[str], python: str
    ) -> list[str]:
        """The argv that starts the entry point on this host."""
        return entry_point.command(args, python)

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


class TorchDistributedRunner(ProcessRunner):
    """Starts the entry point under torchrun, as the toolkit's ``TorchDistributedRunner``."""

    def __init__(
        self,
        *,
        hosts: Sequence[str],
        current_host: str,
        processes_per_host: int,
        master_addr: str,
        master_port: int,
        rendezvous_given: bool = False,
        stderr_sink: BinaryIO | None = None,
    ) -> None:
        super().__init__(stderr_sink=stderr_sink)
        if current_host not in hosts:
            raise PlatformError(f"host {current_host!r} is not one of the distribution's {hosts}")
        self.hosts = list(hosts)
        self.current_host = current_host
        self.processes_per_host = processes_per_host
        self.master_addr = master_addr
        self.master_port = master_port
        self.rendezvous_given = rendezvous_given

    @classmethod
    def for_environment(cls, env: TrainingEnvironment) -> TorchDistributedRunner:
        """The runner of this host: the distribution's hosts, ``MASTER_ADDR``/``PORT`` if set."""
        framework = env.additional_framework_parameters
        default = env.num_gpus or env.num_neurons or 1
        processes = framework.get(params.PROCESSES_PER_HOST_PARAM, default)
        try:
            processes_per_host = int(processes)
            port = int(env.settings.master_port or params.TORCH_DISTRIBUTED_MASTER_PORT)
        except (TypeError, ValueError) as exc:
            raise PlatformError(f"torch_distributed: {exc}") from exc
        if processes_per_host < 1:
            raise PlatformError(
                f"{params.PROCESSES_PER_HOST_PARAM}={processes!r}: at least one process per host"
            )
        return cls(
            hosts=env.distribution_hosts,
            current_host=env.current_host,
            processes_per_host=processes_per_host,
            master_addr=env.settings.master_addr or env.master_hostname,
            master_port=port,
            rendezvous_given=bool(env.settings.master_addr or env.settings.master_port),
        )

    def run(self, command: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> ProcessResult:
        """As :meth:`ProcessRunner.run`; a failure is quoted from the worker, not torchrun.

        torchrun ends a failed run with its own ``ChildFailedError`` traceback, after the
        worker's output: that traceback is dropped from the excerpt, so the FailureReason
        shows the worker's error (its traceback, else its last lines).
        """
        result = super().run(command, env=env, cwd=cwd)
        start = result.stderr_tail.rfind(_TRACEBACK_START)
        if result.exit_code != 0 and _CHILD_FAILED in result.stderr_tail[start:] and start > 0:
            return dataclasses.replace(result, stderr_tail=result.stderr_tail[:start])
        return result

    def entry_point_command(
        self, entry_point: EntryPoint, args: Sequence[str], python: str
    ) -> list[str]:
        if entry_point.kind is EntryPointType.PYTHON_PACKAGE:
            raise EntryPointError(
                "Python packages are not supported for torch_distributed. Please use a python "
                "script as the entry-point"
            )
        if entry_point.kind is not EntryPointType.PYTHON_PROGRAM:
            raise EntryPointError(
                f"Unsupported entry point type for torch_distributed: {entry_point.name!r} "
                "(torchrun runs a Python script, e.g. 'train.py')"
            )
        command = [python, "-m", "torch.distributed.run", "--nnodes", str(len(self.hosts))]
        command += ["--nproc_per_node", str(self.processes_per_host)]
        if len(self.hosts) > 1 or self.rendezvous_given:
            # The toolkit leaves these out on one host (torchrun's defaults); a port given
            # by the platform keeps concurrent one-host jobs of a machine apart.
            command += ["--master_addr", self.master_addr, "--master_port", str(self.master_port)]
            command += ["--node_rank", str(self.hosts.index(self.current_host))]
        return [*command, entry_point.name, *args]


def select_runner(env: TrainingEnvironment) -> ProcessRunner:
    """The runner for this host of the job ``env`` describes.

    A launcher runs only on hosts of the distribution's instance groups (the toolkit's
    condition); torchrun is the one launcher provided, the others are refused.
    """
    if env.current_instance_group not in env.distribution_instance_groups:
        return ProcessRunner()
    framework = env.additional_framework_parameters
    launchers = [name for name in params.DISTRIBUTION_PARAMS if framework.get(name)]
    refused = [name for name in launchers if name != params.TORCH_DISTRIBUTED_PARAM]
    if refused:
        raise PlatformError(
            f"{', '.join(refused)} asks for a distributed launcher, which modelyard's "
            "training toolkit does not provide: use distribution={'torch_distributed': "
            "{'enabled': True}} (torchrun), or start your launcher from your own entry point"
        )
    if launchers:
        return TorchDistributedRunner.for_environment(env)
    return ProcessRunner()
