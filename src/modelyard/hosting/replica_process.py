"""A launched replica as the controller sees it: one address, one probe, one stop.

:class:`ReplicaProcess` wraps the one process of a single-container replica.
:class:`PipelineReplicaProcess` wraps an inference pipeline's group (its chaining
front, :mod:`.pipeline_front`, and one serving process per container) behind the very
same interface, so the router, healing, autoscaling and batch transform never tell
the two apart: the target is the front's port, the probe fails as soon as any member
has exited (naming the container), the utilisation is the group's sum, and a stop
stops the front first (it finishes what it forwards) and then the containers.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psutil

from modelyard.errors import NotFoundError
from modelyard.hosting.replica_set import Health, Probe
from modelyard.hosting.routing import ReplicaTarget
from modelyard.runtime.base import Handle

PORT_NAME = "http"
HOST = "127.0.0.1"
#: Separates the handles of a pipeline replica in its recorded ``HandleId``.
HANDLE_SEPARATOR = ","
#: The code of the front's 503 while a container does not listen yet.
STARTING_CODE = "Starting"


class ReplicaProcess:
    """A launched replica: its address, its health, its resource use, its stop."""

    def __init__(self, replica_id: str, handle: Handle) -> None:
        self.replica_id = replica_id
        self.handle = handle
        port = handle.ports().get(PORT_NAME)
        if port is None:
            raise NotFoundError(f"replica {replica_id} has no '{PORT_NAME}' port")
        self.target = ReplicaTarget(replica_id, HOST, port)
        self._processes: dict[int, psutil.Process] = {}

    @property
    def handle_id(self) -> str:
        return self.handle.id

    def handle_ids(self) -> list[str]:
        """Every runtime handle of the replica (one, or a pipeline's group)."""
        return [self.handle.id]

    def pid(self) -> int | None:
        return self.handle.pid()

    def probe(self, timeout_s: float) -> Probe:
        """``GET /ping`` (after checking that the process still runs)."""
        code = self.handle.exit_code()
        if code is not None:
            return Probe(Health.EXITED, f"exit code {code}")
        conn = http.client.HTTPConnection(self.target.host, self.target.port, timeout=timeout_s)
        try:
            conn.request("GET", "/ping")
            response = conn.getresponse()
            body = response.read()
        except ConnectionRefusedError:
            return Probe(Health.STARTING, "not listening yet")
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, socket.timeout | TimeoutError):
                return Probe(Health.UNRESPONSIVE, f"no answer to /ping within {timeout_s:g} s")
            return Probe(Health.UNRESPONSIVE, f"/ping failed: {exc}")
        finally:
            conn.close()
        if response.status == 200:
            return Probe(Health.READY)
        return self._unready(response.status, body)

    def _unready(self, status: int, body: bytes) -> Probe:
        message = _model_error(body)
        if status == 503 and message is not None:
            return Probe(Health.MODEL_FAILED, message)
        return Probe(Health.UNRESPONSIVE, f"/ping answered {status}")

    def utilization(self) -> tuple[float, int]:
        """CPU percent (summed over cores, since the last call) and resident bytes."""
        pid = self.handle.pid()
        if pid is None:
            return 0.0, 0
        cpu = 0.0
        rss = 0
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0
        seen: dict[int, psutil.Process] = {}
        for process in tree:
            cached = self._processes.get(process.pid, process)
            try:
                cpu += cached.cpu_percent(interval=None)
                rss += cached.memory_info().rss
            except psutil.Error:
                continue
            seen[process.pid] = cached
        self._processes = seen
        return cpu, rss

    def stop(self, grace_s: float) -> int | None:
        """SIGTERM (the replica drains what it has), SIGKILL after ``grace_s``."""
        try:
            return self.handle.stop(grace_s)
        except NotFoundError:
            return None

    def logs_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(Exception):
            found = list(self.handle.logs())
            return "\n".join(found[-lines:])
        return ""


@dataclass(frozen=True)
class PipelineMember:
    """One container of a pipeline replica: where it sits and how messages name it."""

    index: int
    label: str
    process: ReplicaProcess


class PipelineReplicaProcess(ReplicaProcess):
    """An inference pipeline's replica: its front and its containers as one replica.

    ``handle_id`` joins the front's handle and each container's, in order, with
    :data:`HANDLE_SEPARATOR`: the endpoint's ``Replicas`` record keeps its one
    ``HandleId`` per replica, and a restarted server adopts the whole group from it.
    """

    def __init__(self, replica_id: str, front: Handle, members: Sequence[PipelineMember]) -> None:
        super().__init__(replica_id, front)
        self.members = list(members)

    @property
    def handle_id(self) -> str:
        return HANDLE_SEPARATOR.join(self.handle_ids())

    def handle_ids(self) -> list[str]:
        return [self.handle.id, *(m.process.handle.id for m in self.members)]

    def probe(self, timeout_s: float) -> Probe:
        """A member that exited fails the replica at once; else the front's ``/ping``."""
        for member in self.members:
            code = member.process.handle.exit_code()
            if code is not None:
                return Probe(Health.EXITED, f"{member.label} exited with code {code}")
        code = self.handle.exit_code()
        if code is not None:
            return Probe(Health.EXITED, f"the pipeline's front exited with code {code}")
        return super().probe(timeout_s)

    def _unready(self, status: int, body: bytes) -> Probe:
        if status == 503 and _error_code(body) == STARTING_CODE:
            return Probe(Health.STARTING, _error_message(body) or "a container is starting")
        message = _model_error(body)
        if status == 503 and message is not None:
            return Probe(Health.MODEL_FAILED, message)
        return Probe(Health.UNRESPONSIVE, _error_message(body) or f"/ping answered {status}")

    def utilization(self) -> tuple[float, int]:
        """The front's and every container's, summed (they share the instance)."""
        cpu, rss = super().utilization()
        for member in self.members:
            member_cpu, member_rss = member.process.utilization()
            cpu += member_cpu
            rss += member_rss
        return cpu, rss

    def stop(self, grace_s: float) -> int | None:
        """The front first (it finishes forwarding what it took), then every container."""
        code = super().stop(grace_s)
        if self.members:
            with ThreadPoolExecutor(max_workers=len(self.members)) as pool:
                list(pool.map(lambda m: m.process.stop(grace_s), self.members))
        return code

    def logs_tail(self, lines: int = 20) -> str:
        parts = [f"[front]\n{super().logs_tail(lines)}"]
        parts += [f"[{m.label}]\n{m.process.logs_tail(lines)}" for m in self.members]
        return "\n".join(parts)


def _error(body: bytes) -> dict[str, object] | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else None


def _error_code(body: bytes) -> str | None:
    error = _error(body)
    return str(error.get("code")) if error is not None else None


def _error_message(body: bytes) -> str | None:
    error = _error(body)
    return str(error.get("message", "")) if error is not None else None


def _model_error(body: bytes) -> str | None:
    error = _error(body)
    if error is not None and error.get("code") == "ModelError":
        handler = error.get("handler")
        message = str(error.get("message", ""))
        return f"{handler}: {message}" if handler else message
    return None
