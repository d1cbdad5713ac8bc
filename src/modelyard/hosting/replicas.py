"""The one module that talks to replica processes: launch, adopt, probe, measure, stop.

A replica is ``python -m modelyard.container.serving serve`` run by the
:class:`~modelyard.runtime.Runtime` with the model's image, on a port named ``http``
(passed as ``MODELYARD_PORT_HTTP``), its model directory as ``SAGEMAKER_BASE_DIR``
(prepared by :mod:`.model_data`), ``SAGEMAKER_MODEL_SERVER_WORKERS`` from the model's
environment or the instance type's CPUs (at most the machine's), the instance type's
CPU and memory limits, and labels naming the endpoint, variant and replica (so a
replica launched by a server that died before recording it is found again).

Everything above this module (:mod:`.replica_set`, :mod:`.endpoints`) sees replicas
only through :class:`ReplicaProcess` and :class:`ReplicaLauncher`, and is tested with
fakes of them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil

from modelyard.errors import NotFoundError
from modelyard.hosting.replica_set import Health, Probe
from modelyard.hosting.routing import ReplicaTarget
from modelyard.jobs.instance_types import InstanceProfile
from modelyard.runtime.base import ContainerSpec, Handle, Runtime

log = logging.getLogger(__name__)

SERVE_COMMAND = ["python", "-m", "modelyard.container.serving", "serve"]
PORT_NAME = "http"
HOST = "127.0.0.1"
LABEL_KIND = "modelyard.kind"
LABEL_ENDPOINT = "modelyard.endpoint"
LABEL_VARIANT = "modelyard.variant"
LABEL_REPLICA = "modelyard.replica"
KIND_VALUE = "endpoint-replica"
TRANSFORM_KIND_VALUE = "transform-replica"


@dataclass(frozen=True)
class LaunchRequest:
    """Everything needed to start one replica of a variant.

    ``endpoint`` names the owner: an endpoint, or a transform job when ``kind`` is
    :data:`TRANSFORM_KIND_VALUE` (labelled apart, so neither adopts the other's replicas).
    """

    replica_id: str
    endpoint: str
    variant: str
    image_root: Path
    base_dir: Path
    environment: dict[str, str]
    profile: InstanceProfile
    model_timeout_s: float
    kind: str = KIND_VALUE


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
        message = _model_error(body)
        if response.status == 503 and message is not None:
            return Probe(Health.MODEL_FAILED, message)
        return Probe(Health.UNRESPONSIVE, f"/ping answered {response.status}")

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


def _model_error(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict) and error.get("code") == "ModelError":
        handler = error.get("handler")
        message = str(error.get("message", ""))
        return f"{handler}: {message}" if handler else message
    return None


def worker_count(environment: dict[str, str], profile: InstanceProfile) -> int:
    """``SAGEMAKER_MODEL_SERVER_WORKERS``, else the instance's CPUs (at most the machine's)."""
    given = environment.get("SAGEMAKER_MODEL_SERVER_WORKERS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    machine = len(os.sched_getaffinity(0)) or 1
    return max(1, min(profile.vcpus or machine, machine))


class ReplicaLauncher:
    """Starts replicas through the Runtime, and finds them again after a restart."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def launch(self, request: LaunchRequest) -> ReplicaProcess:
        env = {k: v for k, v in request.environment.items() if k != "SAGEMAKER_SUBMIT_DIRECTORY"}
        env["SAGEMAKER_BASE_DIR"] = str(request.base_dir)
        env["SAGEMAKER_MODEL_SERVER_WORKERS"] = str(
            worker_count(request.environment, request.profile)
        )
        env.setdefault("SAGEMAKER_MODEL_SERVER_TIMEOUT", f"{request.model_timeout_s:g}")
        env["MODELYARD_BIND_HOST"] = HOST
        spec = ContainerSpec(
            name=f"{request.kind.removesuffix('-replica')}-{request.endpoint}-{request.variant}",
            command=list(SERVE_COMMAND),
            image_root=request.image_root,
            env=env,
            resources=request.profile.resources,
            ports={PORT_NAME: 8080},
            labels={
                LABEL_KIND: request.kind,
                LABEL_ENDPOINT: request.endpoint,
                LABEL_VARIANT: request.variant,
                LABEL_REPLICA: request.replica_id,
            },
        )
        handle = self.runtime.launch(spec)
        return ReplicaProcess(request.replica_id, handle)

    def adopt(self, replica_id: str, handle_id: str) -> ReplicaProcess | None:
        """The replica launched earlier under ``handle_id``, if it still runs."""
        try:
            handle = self.runtime.adopt(handle_id)
            if not handle.is_running():
                return None
            return ReplicaProcess(replica_id, handle)
        except NotFoundError:
            return None

    def find(self, replica_id: str) -> Handle | None:
        """A container labelled with ``replica_id`` (launched, never recorded)."""
        for handle in self.runtime.list():
            spec = getattr(handle, "spec", None)
            if isinstance(spec, ContainerSpec) and spec.labels.get(LABEL_REPLICA) == replica_id:
                return handle
        return None

    def running_for(self, endpoint: str, kind: str = KIND_VALUE) -> list[Handle]:
        """Every running container labelled as a replica (of ``kind``) of ``endpoint``."""
        found: list[Handle] = []
        for handle in self.runtime.list():
            spec = getattr(handle, "spec", None)
            if (
                isinstance(spec, ContainerSpec)
                and spec.labels.get(LABEL_KIND) == kind
                and spec.labels.get(LABEL_ENDPOINT) == endpoint
                and handle.is_running()
            ):
                found.append(handle)
        return found
