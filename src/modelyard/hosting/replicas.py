"""The one module that talks to replica processes: launch, adopt, find.

A replica is ``python -m modelyard.container.serving serve`` run by the
:class:`~modelyard.runtime.Runtime` with the model's image, on a port named ``http``
(passed as ``MODELYARD_PORT_HTTP``), its model directory as ``SAGEMAKER_BASE_DIR``
(prepared by :mod:`.model_data`), ``SAGEMAKER_MODEL_SERVER_WORKERS`` from the model's
environment or the instance type's CPUs (at most the machine's), the instance type's
CPU and memory limits, and labels naming the endpoint, variant and replica (so a
replica launched by a server that died before recording it is found again).

A replica of an inference pipeline is a group: one such serving process per container
(each with its own image, model directory and environment, labelled with its index),
then a chaining front (``python -m modelyard.hosting.pipeline_front``, run with
modelyard's own interpreter) that owns the replica's port and passes each answer to the
next container. Every member carries the replica's labels, so a restarted server
adopts the whole group, and the sweep of unrecorded processes sees them all.

Everything above this module (:mod:`.replica_set`, :mod:`.endpoints`) sees replicas
only through :class:`ReplicaProcess` and :class:`ReplicaLauncher`, and is tested with
fakes of them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import modelyard
from modelyard.errors import NotFoundError
from modelyard.hosting.replica_process import (
    HANDLE_SEPARATOR,
    HOST,
    PORT_NAME,
    PipelineMember,
    PipelineReplicaProcess,
    ReplicaProcess,
)
from modelyard.jobs.instance_types import InstanceProfile
from modelyard.runtime.base import ContainerSpec, Handle, Resources, Runtime

__all__ = [
    "ContainerLaunch",
    "LaunchRequest",
    "PipelineReplicaProcess",
    "ReplicaLauncher",
    "ReplicaProcess",
    "worker_count",
]

log = logging.getLogger(__name__)

SERVE_COMMAND = ["python", "-m", "modelyard.container.serving", "serve"]
FRONT_MODULE = "modelyard.hosting.pipeline_front"
LABEL_KIND = "modelyard.kind"
LABEL_ENDPOINT = "modelyard.endpoint"
LABEL_VARIANT = "modelyard.variant"
LABEL_REPLICA = "modelyard.replica"
#: ``front`` or ``container`` for the members of a pipeline replica (absent otherwise).
LABEL_ROLE = "modelyard.pipeline-role"
LABEL_INDEX = "modelyard.pipeline-index"
ROLE_FRONT = "front"
ROLE_CONTAINER = "container"
KIND_VALUE = "endpoint-replica"
TRANSFORM_KIND_VALUE = "transform-replica"
#: What the front waits for a container beyond the model's own timeout (which the
#: container enforces and answers as a 504 itself).
FRONT_TIMEOUT_MARGIN_S = 5.0
#: Environment a pipeline container may not choose: the platform gives it its port.
_PLATFORM_OWNED = ("SAGEMAKER_SUBMIT_DIRECTORY", "SAGEMAKER_BIND_TO_PORT")


@dataclass(frozen=True)
class ContainerLaunch:
    """One container of an inference pipeline, prepared (see :mod:`.preparation`).

    ``label`` names it in errors and logs (``container 1 (xgboost:2.1)``).
    """

    image_root: Path
    base_dir: Path
    environment: dict[str, str]
    image: str
    label: str


@dataclass(frozen=True)
class LaunchRequest:
    """Everything needed to start one replica of a variant.

    ``endpoint`` names the owner: an endpoint, or a transform job when ``kind`` is
    :data:`TRANSFORM_KIND_VALUE` (labelled apart, so neither adopts the other's replicas).
    ``containers`` lists an inference pipeline's containers in order (two or more); the
    single-container fields then describe the first one.
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
    containers: tuple[ContainerLaunch, ...] = ()


def worker_count(environment: dict[str, str], profile: InstanceProfile) -> int:
    """``SAGEMAKER_MODEL_SERVER_WORKERS``, else the instance's CPUs (at most the machine's)."""
    given = environment.get("SAGEMAKER_MODEL_SERVER_WORKERS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    machine = len(os.sched_getaffinity(0)) or 1
    return max(1, min(profile.vcpus or machine, machine))


def _labels(request: LaunchRequest, **extra: str) -> dict[str, str]:
    return {
        LABEL_KIND: request.kind,
        LABEL_ENDPOINT: request.endpoint,
        LABEL_VARIANT: request.variant,
        LABEL_REPLICA: request.replica_id,
        **extra,
    }


def _serving_spec(
    request: LaunchRequest,
    name: str,
    image_root: Path,
    base_dir: Path,
    environment: dict[str, str],
    labels: dict[str, str],
) -> ContainerSpec:
    env = {k: v for k, v in environment.items() if k not in _PLATFORM_OWNED}
    env["SAGEMAKER_BASE_DIR"] = str(base_dir)
    env["SAGEMAKER_MODEL_SERVER_WORKERS"] = str(worker_count(environment, request.profile))
    env.setdefault("SAGEMAKER_MODEL_SERVER_TIMEOUT", f"{request.model_timeout_s:g}")
    env["MODELYARD_BIND_HOST"] = HOST
    return ContainerSpec(
        name=name,
        command=list(SERVE_COMMAND),
        image_root=image_root,
        env=env,
        resources=request.profile.resources,
        ports={PORT_NAME: 8080},
        labels=labels,
    )


def _front_spec(request: LaunchRequest, name: str, members: list[PipelineMember]) -> ContainerSpec:
    """The chaining front, run by this very interpreter (it needs modelyard, no image)."""
    chain = [
        {
            "label": member.label,
            "host": member.process.target.host,
            "port": member.process.target.port,
            "accept": launch.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", ""),
        }
        for member, launch in zip(members, request.containers, strict=True)
    ]
    source_root = Path(modelyard.__file__ or "").resolve().parent.parent
    return ContainerSpec(
        name=name,
        command=[sys.executable, "-m", FRONT_MODULE],
        env={
            "PYTHONPATH": str(source_root),
            "MODELYARD_BIND_HOST": HOST,
            "MODELYARD_PIPELINE_CHAIN": json.dumps(chain),
            "MODELYARD_PIPELINE_TIMEOUT_S": f"{request.model_timeout_s + FRONT_TIMEOUT_MARGIN_S:g}",
        },
        resources=Resources(),
        ports={PORT_NAME: 8080},
        labels=_labels(request, **{LABEL_ROLE: ROLE_FRONT}),
    )


def _spec_of(handle: Handle) -> ContainerSpec | None:
    spec = getattr(handle, "spec", None)
    return spec if isinstance(spec, ContainerSpec) else None


def _chain_labels(front: ContainerSpec) -> list[str]:
    """How a pipeline's front names its containers, in order (from its launch spec)."""
    try:
        chain = json.loads(front.env.get("MODELYARD_PIPELINE_CHAIN", "[]"))
        return [str(link["label"]) for link in chain]
    except (ValueError, KeyError, TypeError):
        return []


class ReplicaLauncher:
    """Starts replicas through the Runtime, and finds them again after a restart."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def launch(self, request: LaunchRequest) -> ReplicaProcess:
        name = f"{request.kind.removesuffix('-replica')}-{request.endpoint}-{request.variant}"
        if len(request.containers) > 1:
            return self._launch_pipeline(request, name)
        spec = _serving_spec(
            request,
            name,
            request.image_root,
            request.base_dir,
            request.environment,
            _labels(request),
        )
        handle = self.runtime.launch(spec)
        return ReplicaProcess(request.replica_id, handle)

    def _launch_pipeline(self, request: LaunchRequest, name: str) -> PipelineReplicaProcess:
        """Every container, then the front that knows their ports; all or nothing."""
        members: list[PipelineMember] = []
        try:
            for index, container in enumerate(request.containers):
                spec = _serving_spec(
                    request,
                    f"{name}-c{index}",
                    container.image_root,
                    container.base_dir,
                    container.environment,
                    _labels(request, **{LABEL_ROLE: ROLE_CONTAINER, LABEL_INDEX: str(index)}),
                )
                handle = self.runtime.launch(spec)
                process = ReplicaProcess(f"{request.replica_id}/{index}", handle)
                members.append(PipelineMember(index, container.label, process))
            front = self.runtime.launch(_front_spec(request, name, members))
        except Exception:
            for member in members:
                member.process.stop(0.0)
            raise
        return PipelineReplicaProcess(request.replica_id, front, members)

    def adopt(self, replica_id: str, handle_id: str) -> ReplicaProcess | None:
        """The replica launched earlier under ``handle_id``, if it (all of it) still runs.

        A pipeline replica's ``handle_id`` lists its front and its containers
        (:class:`PipelineReplicaProcess`); a front's handle alone also finds its
        containers by their labels. A group missing any member is not adopted.
        """
        try:
            handles = [self.runtime.adopt(one) for one in handle_id.split(HANDLE_SEPARATOR)]
            if not all(handle.is_running() for handle in handles):
                return None
            front, containers = handles[0], handles[1:]
            spec = _spec_of(front)
            is_front = spec is not None and spec.labels.get(LABEL_ROLE) == ROLE_FRONT
            if not containers and not is_front:
                return ReplicaProcess(replica_id, front)
            labels = _chain_labels(spec) if spec is not None else []
            if not containers:
                containers = self._members_of(replica_id)
            if not containers or (labels and len(containers) != len(labels)):
                return None
            members = [
                PipelineMember(
                    index,
                    labels[index] if labels else f"container {index}",
                    ReplicaProcess(f"{replica_id}/{index}", handle),
                )
                for index, handle in enumerate(containers)
            ]
            return PipelineReplicaProcess(replica_id, front, members)
        except NotFoundError:
            return None

    def _members_of(self, replica_id: str) -> list[Handle]:
        """The running containers labelled as members of ``replica_id``, in order."""
        found: list[tuple[int, Handle]] = []
        for handle in self.runtime.list():
            spec = _spec_of(handle)
            if (
                spec is not None
                and spec.labels.get(LABEL_REPLICA) == replica_id
                and spec.labels.get(LABEL_ROLE) == ROLE_CONTAINER
                and handle.is_running()
            ):
                found.append((int(spec.labels.get(LABEL_INDEX, "0")), handle))
        return [handle for _, handle in sorted(found, key=lambda item: item[0])]

    def find(self, replica_id: str) -> Handle | None:
        """A replica labelled ``replica_id`` (launched, never recorded): a pipeline's front."""
        for handle in self.runtime.list():
            spec = _spec_of(handle)
            if (
                spec is not None
                and spec.labels.get(LABEL_REPLICA) == replica_id
                and spec.labels.get(LABEL_ROLE) != ROLE_CONTAINER
            ):
                return handle
        return None

    def running_for(self, endpoint: str, kind: str = KIND_VALUE) -> list[Handle]:
        """Every running container labelled as a replica (of ``kind``) of ``endpoint``.

        A pipeline replica's front and containers are all listed.
        """
        found: list[Handle] = []
        for handle in self.runtime.list():
            spec = _spec_of(handle)
            if (
                spec is not None
                and spec.labels.get(LABEL_KIND) == kind
                and spec.labels.get(LABEL_ENDPOINT) == endpoint
                and handle.is_running()
            ):
                found.append(handle)
        return found
