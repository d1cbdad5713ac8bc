"""Instance types as resource profiles: ``ml.m5.large`` -> 2 CPUs, 8 GiB on this machine.

The table is data (``instance_types.json``, package data). ``local`` is this machine
without limits. A job's containers get the profile's CPU count (the runtime pins
them to that many of the machine's cores, at most all of them) and memory (an
rlimit per process, see :mod:`modelyard.runtime.local`).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from modelyard.errors import ValidationError
from modelyard.runtime.base import Resources


@dataclass(frozen=True)
class InstanceProfile:
    """What one instance of a type gets: ``None`` means no limit (the whole machine)."""

    name: str
    vcpus: int | None
    memory_mb: int | None
    gpus: int = 0

    @property
    def resources(self) -> Resources:
        return Resources(cpus=self.vcpus, memory_mb=self.memory_mb)


@functools.cache
def instance_profiles() -> dict[str, InstanceProfile]:
    """Every instance type of the table, by name."""
    text = resources.files("modelyard.jobs").joinpath("instance_types.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    profiles: dict[str, InstanceProfile] = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue
        memory_gib = entry.get("memory_gib")
        profiles[name] = InstanceProfile(
            name=name,
            vcpus=entry.get("vcpus"),
            memory_mb=None if memory_gib is None else int(float(memory_gib) * 1024),
            gpus=int(entry.get("gpus", 0)),
        )
    return profiles


def instance_profile(
    name: object, *, field: str = "ResourceConfig.InstanceType"
) -> InstanceProfile:
    """The profile of ``name``; an unknown type is refused (400) naming some that exist."""
    profiles = instance_profiles()
    if isinstance(name, str) and name in profiles:
        return profiles[name]
    examples = ", ".join(["local", "ml.m5.large", "ml.m5.xlarge", "ml.c5.2xlarge", "..."])
    raise ValidationError(
        f"{field}={name!r} is not an instance type modelyard knows: use one of {examples} "
        f"({len(profiles)} in all; 'local' is this machine without limits)",
        field=field,
    )
