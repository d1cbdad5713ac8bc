"""A transform job's replicas: launched like an endpoint's, waited for, logged, stopped.

Each instance of the job is one replica process of the model (the serving container
with its ``SAGEMAKER_MODEL_SERVER_WORKERS`` from the instance type), launched through
:class:`~modelyard.hosting.replicas.ReplicaLauncher` from the same preparation as an
endpoint's (:func:`~modelyard.hosting.preparation.prepare_model_launch`), in batch mode
(``SAGEMAKER_BATCH=true`` and the job's batch parameters that the request gives).
Replicas are labelled as the job's, so the next server finds and stops any left over.

The job's log (:class:`JobLog`) holds the job's own lines and each replica's output,
led by its host (``[algo-1]``), so it outlives the replicas.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from modelyard.hosting.deployments import VariantLaunch
from modelyard.hosting.replica_process import PipelineReplicaProcess
from modelyard.hosting.replica_set import Health
from modelyard.hosting.replicas import (
    TRANSFORM_KIND_VALUE,
    LaunchRequest,
    ReplicaLauncher,
    ReplicaProcess,
)
from modelyard.ids import utcnow
from modelyard.jobs.job import JobFailedError
from modelyard.runtime.base import Handle

_PROBE_INTERVAL_S = 0.1
_PROBE_TIMEOUT_S = 2.0


class JobLog:
    """The job's log file: appended from many threads, one line at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        stamp = utcnow().strftime("%Y-%m-%dT%H:%M:%S")
        self.raw(f"{stamp} {text}")

    def raw(self, text: str) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(f"{text}\n")


def batch_environment(
    launch: VariantLaunch, environment: dict[str, str], parameters: dict[str, object]
) -> dict[str, str]:
    """The replica's environment: the model's, the job's, then the batch contract."""
    env = {**launch.environment, **{str(k): str(v) for k, v in environment.items()}}
    env["SAGEMAKER_BATCH"] = "true"
    if parameters.get("MaxPayloadInMB") is not None:
        # 0 means "no limit" for the job: the container's own ceiling then applies.
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(parameters["MaxPayloadInMB"] or 100)
    if parameters.get("BatchStrategy") is not None:
        strategy = str(parameters["BatchStrategy"])
        env["SAGEMAKER_BATCH_STRATEGY"] = (
            "SINGLE_RECORD" if strategy == "SingleRecord" else "MULTI_RECORD"
        )
    if parameters.get("MaxConcurrentTransforms") is not None:
        env["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = str(parameters["MaxConcurrentTransforms"])
    return env


def launch_replica(
    launcher: ReplicaLauncher,
    launch: VariantLaunch,
    *,
    job_name: str,
    host: str,
    environment: dict[str, str],
    timeout_s: float,
) -> ReplicaProcess:
    """One instance's replica (a pipeline's containers each get the batch environment)."""
    batch = {k: v for k, v in environment.items() if k not in launch.environment}
    containers = tuple(
        replace(container, environment={**container.environment, **batch})
        for container in launch.containers
    )
    return launcher.launch(
        LaunchRequest(
            replica_id=f"{job_name}-{host}",
            endpoint=job_name,
            variant=host,
            image_root=launch.image_root,
            base_dir=launch.base_dir,
            environment=environment,
            profile=launch.profile,
            model_timeout_s=timeout_s,
            kind=TRANSFORM_KIND_VALUE,
            containers=containers,
        )
    )


def wait_ready(
    replicas: dict[str, ReplicaProcess],
    *,
    timeout_s: float,
    check_interrupted: Callable[[], None],
) -> None:
    """Return once every replica answers ``/ping``; ``JobFailedError`` if one cannot."""
    waiting = dict(replicas)
    deadline = time.monotonic() + timeout_s
    while waiting:
        check_interrupted()
        for host, replica in list(waiting.items()):
            probe = replica.probe(_PROBE_TIMEOUT_S)
            if probe.health == Health.READY:
                del waiting[host]
            elif probe.health in (Health.EXITED, Health.MODEL_FAILED):
                tail = replica.logs_tail(10).strip()
                raise JobFailedError(
                    f"ClientError: the model's container on {host} could not start "
                    f"({probe.detail})" + (f": {tail[-700:]}" if tail else "")
                )
        if waiting and time.monotonic() > deadline:
            raise JobFailedError(
                f"ClientError: the model's container did not answer /ping within "
                f"{timeout_s:g} s on {', '.join(sorted(waiting))}"
            )
        if waiting:
            time.sleep(_PROBE_INTERVAL_S)


class LogPump:
    """Copies each replica's output into the job's log while it runs."""

    def __init__(self, log: JobLog) -> None:
        self.log = log
        self._threads: list[threading.Thread] = []

    def follow(self, host: str, replica: ReplicaProcess) -> None:
        """Pump the replica's output (and each pipeline container's, led by its label)."""
        sources = [(f"[{host}]", replica.handle)]
        if isinstance(replica, PipelineReplicaProcess):
            sources += [
                (f"[{host}] [{member.label}]", member.process.handle) for member in replica.members
            ]
        for prefix, handle in sources:
            thread = threading.Thread(
                target=self._pump, args=(prefix, handle), name=f"transform-log-{host}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _pump(self, prefix: str, handle: Handle) -> None:
        with contextlib.suppress(Exception):
            for line in handle.logs(follow=True):
                self.log.raw(f"{prefix} {line}")

    def close(self, timeout_s: float = 5.0) -> None:
        """Wait (a little) for the pumps to drain the stopped replicas' last lines."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def stop_all(replicas: dict[str, ReplicaProcess], grace_s: float) -> None:
    """Stop every replica at once (SIGTERM, SIGKILL after ``grace_s``)."""
    threads = [
        threading.Thread(target=replica.stop, args=(grace_s,), daemon=True)
        for replica in replicas.values()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
