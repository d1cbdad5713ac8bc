"""The image-builder seam: what the registry needs from whatever builds environments.

:class:`~modelyard.images.builder.VenvBuilder` (virtualenvs of the server's
interpreter) is the embedded implementation; a Docker or conda builder would be
another. A build always runs as a process of its own (:meth:`build_command`),
launched by the registry through the Runtime, so it survives a server restart.
"""

from __future__ import annotations

import abc
from pathlib import Path
from typing import IO, Any

from modelyard.images.spec import ImageSpec


class ImageBuilder(abc.ABC):
    """Builds image environments, once per spec hash, and finds them again."""

    @abc.abstractmethod
    def check_buildable(self, spec: ImageSpec) -> None:
        """Raise ``ValidationError`` (400) for a spec this builder cannot build."""

    @abc.abstractmethod
    def snapshot_code(self, code_dir: Path) -> tuple[Path, str]:
        """An immutable copy of a user's code directory: its path and content digest."""

    @abc.abstractmethod
    def build_command(self, spec: ImageSpec) -> list[str]:
        """The argv of a process that builds ``spec`` (exit 0 = ready, else see the log)."""

    def build_env(self) -> dict[str, str]:
        """Variables the build process needs beyond the runtime's defaults."""
        return {}

    @abc.abstractmethod
    def ensure_built(self, spec: ImageSpec, *, out: IO[str] | None = None) -> Path:
        """Build in this process if needed; the image root. Instant when ready."""

    @abc.abstractmethod
    def ready_info(self, spec_hash: str) -> dict[str, Any] | None:
        """Metadata of a finished build, ``None`` if not (completely) built."""

    def is_ready(self, spec: ImageSpec) -> bool:
        return self.ready_info(spec.spec_hash) is not None

    @abc.abstractmethod
    def env_dir(self, spec_hash: str) -> Path:
        """The image root of a built spec (what ``ContainerSpec.image_root`` takes)."""

    @abc.abstractmethod
    def log_path(self, spec_hash: str) -> Path:
        """The build log of a spec (rewritten by each build of it)."""
