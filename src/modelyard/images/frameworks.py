"""Framework images by ``(framework, version)``, with SageMaker's version strings.

The data lives in ``frameworks.json`` (package data): for each framework its
versions (``1.2-1``, ``1.5``...), the exact pins each one installs and the Python
versions those pins ship for. A framework image is named ``<framework>:<version>``
(``sklearn:1.5``); a version that cannot be installed on the server's Python is
refused with an error that names the versions that can.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from modelyard.errors import ValidationError
from modelyard.images.spec import ImageSpec, server_python_version


@dataclass(frozen=True)
class FrameworkVersion:
    """One framework image: what it installs and on which Pythons it can."""

    framework: str
    version: str
    packages: tuple[str, ...]
    python_versions: tuple[str, ...]

    @property
    def name_tag(self) -> str:
        return f"{self.framework}:{self.version}"

    def supports(self, python_version: str) -> bool:
        return python_version in self.python_versions

    def image_spec(self) -> ImageSpec:
        return ImageSpec(
            name=self.framework,
            tag=self.version,
            packages=self.packages,
            framework=self.framework,
            framework_version=self.version,
        )


@dataclass(frozen=True)
class Framework:
    name: str
    aliases: tuple[str, ...]
    version_aliases: dict[str, str]
    versions: dict[str, FrameworkVersion]


@functools.cache
def frameworks() -> dict[str, Framework]:
    """Every framework of ``frameworks.json``, by name."""
    text = resources.files("modelyard.images").joinpath("frameworks.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    found = {}
    for name, entry in data.items():
        if name.startswith("_"):
            continue
        versions = {
            version: FrameworkVersion(
                framework=name,
                version=version,
                packages=tuple(spec["packages"]),
                python_versions=tuple(spec["python"]),
            )
            for version, spec in entry["versions"].items()
        }
        found[name] = Framework(
            name=name,
            aliases=tuple(entry.get("aliases", ())),
            version_aliases=dict(entry.get("version_aliases", {})),
            versions=versions,
        )
    return found


def get_framework(name: str) -> Framework:
    wanted = name.strip().lower()
    for framework in frameworks().values():
        if wanted == framework.name or wanted in framework.aliases:
            return framework
    raise ValidationError(
        f"unknown framework {name!r}: modelyard has images for {', '.join(sorted(frameworks()))}",
        field="Framework",
    )


def buildable_versions(framework: str, python_version: str | None = None) -> list[str]:
    """The versions of ``framework`` that install on ``python_version`` (the server's)."""
    python = python_version or server_python_version()
    return [v for v, fv in get_framework(framework).versions.items() if fv.supports(python)]


def resolve(framework: str, version: str, python_version: str | None = None) -> FrameworkVersion:
    """The framework image for ``(framework, version)``, if it installs on this Python.

    ``version`` is SageMaker's string (``1.2-1``) or an alias of it (``1.2``).
    """
    found = get_framework(framework)
    python = python_version or server_python_version()
    canonical = found.version_aliases.get(version, version)
    valid = ", ".join(buildable_versions(found.name, python)) or "none"
    chosen = found.versions.get(canonical)
    if chosen is None:
        raise ValidationError(
            f"{found.name} has no version {version!r}; versions that install on Python "
            f"{python}: {valid}",
            field="FrameworkVersion",
        )
    if not chosen.supports(python):
        raise ValidationError(
            f"{found.name} {canonical} needs Python {_either(chosen.python_versions)}, "
            f"but images here use the server's Python {python}; versions that install: {valid}",
            field="FrameworkVersion",
        )
    return chosen


def all_buildable(python_version: str | None = None) -> list[FrameworkVersion]:
    """Every framework image that installs on ``python_version`` (the server's)."""
    python = python_version or server_python_version()
    return [
        fv
        for framework in frameworks().values()
        for fv in framework.versions.values()
        if fv.supports(python)
    ]


def _either(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
