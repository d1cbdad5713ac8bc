"""What the machine has: CPUs, GPUs, Neuron cores, SageMaker's distributed launchers.

The toolkit probes these with ``nvidia-smi``, ``neuron-ls`` and ``which``; we ask the
same tools (only when they are on PATH) so ``SM_NUM_GPUS`` and friends agree with it.
This is the one module of the environment that touches the outside world; tests pass
a fixed :class:`Hardware` instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass

_PROBE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Hardware:
    num_cpus: int
    num_gpus: int
    num_neurons: int
    smddprun_installed: bool = False
    smddpmprun_installed: bool = False


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        completed = subprocess.run(
            cmd, capture_output=True, check=True, timeout=_PROBE_TIMEOUT_S, text=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout


def count_gpus() -> int:
    """Lines starting with ``GPU `` in ``nvidia-smi --list-gpus``, as the toolkit counts."""
    output = _run(["nvidia-smi", "--list-gpus"])
    if output is None:
        return 0
    return sum(1 for line in output.split("\n") if line.startswith("GPU "))


def count_neuron_cores(instance_type: str) -> int:
    """Neuron cores: 64 on trn2.48xlarge, else the sum of ``nc_count`` in ``neuron-ls -j``."""
    if "trn2.48xlarge" in instance_type:
        return 64
    output = _run(["neuron-ls", "-j"])
    if output is None:
        return 0
    try:
        devices = json.loads(output)
        return sum(int(device.get("nc_count", 0)) for device in devices)
    except (ValueError, TypeError, AttributeError):
        return 0


def probe(instance_type: str) -> Hardware:
    """The hardware of this machine, probed now."""
    return Hardware(
        num_cpus=os.cpu_count() or 1,
        num_gpus=count_gpus(),
        num_neurons=count_neuron_cores(instance_type),
        smddprun_installed=shutil.which("smddprun") is not None,
        smddpmprun_installed=shutil.which("smddpmprun") is not None,
    )
