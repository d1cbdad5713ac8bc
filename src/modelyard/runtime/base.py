"""The runtime seam: where containers run.

``Runtime.launch(ContainerSpec) -> Handle`` is the whole contract between the
controllers and compute. The local process runtime is the embedded default;
Ray and Docker are other implementations of the same protocol.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Mount:
    """``source`` (a host path) made visible at ``target`` inside the container."""

    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class Resources:
    """Limits of one container: CPUs (count) and memory (MiB); ``None`` = no limit."""

    cpus: int | None = None
    memory_mb: int | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """What to run: an image's environment, a command, and how to run it.

    ``image_root`` is the built environment of the image (a virtualenv for the
    local runtime); its ``bin`` directory leads ``PATH`` so ``python`` is the
    image's. ``ports`` maps a port name to a container port; the runtime reports
    the host port it was given through :meth:`Handle.ports`.
    """

    name: str
    command: list[str]
    image_root: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    mounts: list[Mount] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    ports: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


class Handle(abc.ABC):
    """A launched container. Its ``id`` survives a server restart (see ``adopt``)."""

    @property
    @abc.abstractmethod
    def id(self) -> str: ...

    @abc.abstractmethod
    def is_running(self) -> bool: ...

    @abc.abstractmethod
    def wait(self, timeout_s: float | None = None) -> int | None:
        """The exit code once it has exited, ``None`` if still running at the timeout."""

    @abc.abstractmethod
    def exit_code(self) -> int | None:
        """The exit code if it has exited (negative: killed by that signal), else None."""

    @abc.abstractmethod
    def stop(self, grace_s: float = 120.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace_s``; returns the exit code."""

    @abc.abstractmethod
    def logs(self, *, follow: bool = False, since_line: int = 0) -> Iterator[str]:
        """Log lines (stdout and stderr, interleaved as written), optionally following."""

    @abc.abstractmethod
    def ports(self) -> dict[str, int]:
        """Host ports by the names of ``ContainerSpec.ports``."""

    def pid(self) -> int | None:
        """The command's process id on this host while it runs (None: not known or not
        local). Its process group holds every process of the container (metrics read it)."""
        return None


class Runtime(abc.ABC):
    """Launches containers and finds them again after a restart."""

    @abc.abstractmethod
    def launch(self, spec: ContainerSpec) -> Handle: ...

    @abc.abstractmethod
    def adopt(self, handle_id: str) -> Handle:
        """The handle of a container launched earlier, possibly by another server
        process; raises ``NotFoundError`` if nothing is known of it."""

    @abc.abstractmethod
    def list(self) -> list[Handle]:
        """Every container this runtime knows of, running or exited."""

    def remove(self, handle_id: str) -> None:  # noqa: B027 - optional, not abstract
        """Forget an exited container, logs included (optional: the default keeps all).

        Backends that keep state per container refuse this while it runs.
        """
