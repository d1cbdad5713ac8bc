"""Distributed training jobs: which launcher a request asks for, and where its hosts meet.

A training job of ``InstanceCount`` N runs N hosts ``algo-1..algo-N``, each with its own
job directory and ``resourceconfig.json`` (SageMaker's ``SM_HOSTS`` / ``SM_CURRENT_HOST``).
The sagemaker SDK turns an estimator's ``distribution`` into ``sagemaker_*_enabled``
hyperparameters; the in-image toolkit picks its launcher from them
(:func:`modelyard.container.runner.select_runner`).

Launchers
    ``torch_distributed`` (``sagemaker_torch_distributed_enabled``) is provided:
    torchrun on every host. Every other launcher (MPI, smdistributed data parallel,
    ``pytorchddp``, PyTorch XLA, parameter server, multi-worker mirrored) is refused at
    create time with a 400 naming the hyperparameter and the SDK's ``distribution``
    option, rather than failing inside the container (smdistributed model parallelism
    is refused through the ``sagemaker_mpi_enabled`` the SDK sets with it).

Rendezvous
    Locally every host is a process on 127.0.0.1 and ``algo-1`` does not resolve, so the
    controller gives every host of a multi-host (or torch_distributed) job the same
    ``MASTER_ADDR=127.0.0.1`` and ``MASTER_PORT=<a free port picked for the job>``;
    the toolkit's torchrun uses them instead of ``algo-1:7777``, and a script that does
    its own ``init_process_group("env://")`` finds them too. ``SM_HOSTS`` and
    ``SM_CURRENT_HOST`` stay SageMaker's host names. A runtime spanning machines would
    instead make ``algo-1`` resolvable and set neither variable.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from typing import Any, Final

from modelyard.container import params
from modelyard.errors import ValidationError

LOCAL_MASTER_ADDR: Final = "127.0.0.1"

#: Launchers modelyard does not provide, with the SDK option that asks for each.
UNSUPPORTED_LAUNCHERS: Final = {
    params.MPI_ENABLED_PARAM: 'distribution={"mpi": {"enabled": True}}',
    "sagemaker_distributed_dataparallel_enabled": (
        'distribution={"smdistributed": {"dataparallel": {"enabled": True}}}'
    ),
    "sagemaker_pytorch_ddp_enabled": 'distribution={"pytorchddp": {"enabled": True}}',
    "sagemaker_pytorch_xla_multi_worker_enabled": (
        'distribution={"pytorchxla": {"enabled": True}}'
    ),
    "sagemaker_parameter_server_enabled": ('distribution={"parameter_server": {"enabled": True}}'),
    "sagemaker_multi_worker_mirrored_strategy_enabled": (
        'distribution={"multi_worker_mirrored_strategy": {"enabled": True}}'
    ),
}


def _decoded(raw: object) -> Any:
    """A hyperparameter as the toolkit sees it (JSON-decoded when it is JSON)."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def enabled(hyperparameters: Mapping[str, Any], name: str) -> bool:
    return bool(_decoded(hyperparameters.get(name)))


def check_distribution(spec: Mapping[str, Any]) -> None:
    """Refuse (400) a launcher modelyard does not provide, naming what asked for it."""
    hyperparameters = spec.get("HyperParameters") or {}
    for name, option in UNSUPPORTED_LAUNCHERS.items():
        if enabled(hyperparameters, name):
            field = f"HyperParameters.{name}"
            raise ValidationError(
                f"{field}: this distributed launcher (the SDK's {option}) is not supported; "
                'use distribution={"torch_distributed": {"enabled": True}} (torchrun over '
                "gloo on CPU), or start your own launcher from the entry point",
                field=field,
            )


def torch_distributed(spec: Mapping[str, Any]) -> bool:
    return enabled(spec.get("HyperParameters") or {}, params.TORCH_DISTRIBUTED_PARAM)


def needs_rendezvous(spec: Mapping[str, Any], host_count: int) -> bool:
    """Whether the hosts get ``MASTER_ADDR`` / ``MASTER_PORT``: several hosts, or torchrun."""
    return host_count > 1 or torch_distributed(spec)


def rendezvous_env(port: int) -> dict[str, str]:
    """What every host of a job gets to find the first one (the same for all hosts)."""
    return {params.MASTER_ADDR_ENV: LOCAL_MASTER_ADDR, params.MASTER_PORT_ENV: str(port)}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a job's rendezvous (the local runtime)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCAL_MASTER_ADDR, 0))
        port: int = sock.getsockname()[1]
        return port
