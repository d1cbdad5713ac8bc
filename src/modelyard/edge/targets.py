"""Edge targets as data (``targets.json``): what a compilation job compiles for.

A target is named by us (``onnx-cpu-x86_64``) or reached through SageMaker's
request fields: ``OutputConfig.TargetDevice`` (``rasp4b``, ``ml_c5``...) or
``OutputConfig.TargetPlatform`` (``{"Os": "LINUX", "Arch": "ARM64"}``). This module
imports only the standard library: it also runs inside compile images.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: The target used when a request names none.
DEFAULT_TARGET = "onnx-cpu-x86_64"


class UnknownTargetError(ValueError):
    """The request names no target of ``targets.json``."""


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    opset: int
    ml_opset: int
    execution_providers: tuple[str, ...]
    graph_optimization: str
    quantization: tuple[str, ...]
    platform: dict[str, str]
    devices: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Description": self.description,
            "Opset": self.opset,
            "MlOpset": self.ml_opset,
            "ExecutionProviders": list(self.execution_providers),
            "GraphOptimization": self.graph_optimization,
            "Quantization": list(self.quantization),
            "TargetPlatform": dict(self.platform),
            "TargetDevices": list(self.devices),
        }


@functools.cache
def targets() -> dict[str, Target]:
    """Every target of ``targets.json``, by name."""
    text = resources.files(__package__ or "modelyard.edge").joinpath("targets.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return {
        name: Target(
            name=name,
            description=entry["description"],
            opset=int(entry["opset"]),
            ml_opset=int(entry["ml_opset"]),
            execution_providers=tuple(entry["execution_providers"]),
            graph_optimization=entry["graph_optimization"],
            quantization=tuple(entry["quantization"]),
            platform=dict(entry["platform"]),
            devices=tuple(entry["devices"]),
        )
        for name, entry in data.items()
        if not name.startswith("_")
    }


def get_target(name: str) -> Target:
    """The target called ``name`` (ours, or a SageMaker ``TargetDevice``)."""
    found = targets()
    if name in found:
        return found[name]
    for target in found.values():
        if name.lower() in target.devices:
            return target
    raise UnknownTargetError(
        f"unknown target {name!r}: use one of {', '.join(sorted(found))} "
        "(or a SageMaker TargetDevice they cover)"
    )


def target_for_platform(platform: dict[str, Any]) -> Target:
    """The target matching SageMaker's ``TargetPlatform`` (``Os`` and ``Arch``)."""
    os_name = str(platform.get("Os", "")).upper()
    arch = str(platform.get("Arch", "")).upper()
    for target in targets().values():
        if target.platform["Os"] == os_name and target.platform["Arch"] == arch:
            return target
    known = ", ".join(f"{t.platform['Os']}/{t.platform['Arch']}" for t in targets().values())
    raise UnknownTargetError(f"no target for TargetPlatform {os_name}/{arch}: use one of {known}")
