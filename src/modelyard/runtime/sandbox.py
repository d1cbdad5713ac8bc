"""Absolute mounts for the local runtime: the command runs under bubblewrap (``bwrap``).

A process cannot see a directory at ``/opt/ml`` unless something mounts it there, and
SageMaker processing scripts hard-code ``/opt/ml/processing/...``. When a
:class:`~modelyard.runtime.base.ContainerSpec` has a mount with an absolute target, the
local runtime wraps its command in ``bwrap`` (Debian package ``bubblewrap``), which
builds a private mount namespace without privileges:

- the host's root is visible **read-only** (``--ro-bind / /``), so the image's
  virtualenv, the system Python and Java are there unchanged; ``/dev``, ``/proc`` and a
  fresh, private ``/tmp`` are the sandbox's own;
- each absolute mount is bound at its target, read-write or read-only as the mount says
  (parents first). A target whose parent does not exist on the host (``/opt/ml`` when
  there is no ``/opt/ml``) gets it from a tmpfs laid over the nearest existing ancestor,
  whose entries are bound back read-only, so nothing of the host disappears;
- the image root is bound read-only at its own path (it may live under the host's
  ``/tmp``, which the sandbox hides), and so are the other host paths the command
  needs from there: the environment of an absolute ``argv[0]`` (``<env>/bin/python``)
  and the ``PYTHONPATH`` entries; the working directory is bound too unless it lies
  inside a mount, in which case the command starts at the matching path inside;
- the network, users and pids are the host's (scripts reach databases, Spark masters
  and the object store as any process does); the command dies with bwrap
  (``--die-with-parent``), and a stop reaches it because it stays in the container's
  process group.

The argv is computed once, at launch, and is what the supervisor executes: a re-adopted
container needs nothing of this module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from modelyard.errors import ContainerRuntimeError
from modelyard.runtime.base import Mount

BWRAP = "bwrap"
#: Paths the sandbox provides itself, never bound from the host.
_OWN_PATHS = frozenset({"/dev", "/proc", "/tmp"})


def needs_sandbox(mounts: Sequence[Mount]) -> bool:
    """True when a mount has an absolute target (only bwrap can honour it)."""
    return any(PurePosixPath(mount.target).is_absolute() for mount in mounts)


def find_bwrap() -> str:
    """The ``bwrap`` executable, or a ContainerRuntimeError saying how to install it."""
    found = shutil.which(BWRAP)
    if found is None:
        raise ContainerRuntimeError(
            "mounting at an absolute path (such as /opt/ml) needs bubblewrap: install the "
            "Debian package 'bubblewrap' (apt-get install bubblewrap; 'make setup' does it)"
        )
    return found


def sandbox_argv(
    argv: Sequence[str],
    mounts: Sequence[Mount],
    *,
    workdir: Path,
    image_root: Path | None = None,
    python_path: str = "",
    bwrap: str | None = None,
) -> tuple[list[str], str]:
    """The bwrap command running ``argv``, and the working directory it sees inside.

    Only the absolute mounts are handled here (relative ones are the caller's links).
    """
    absolute = sorted(
        (m for m in mounts if PurePosixPath(m.target).is_absolute()),
        key=lambda m: (len(PurePosixPath(m.target).parts), m.target),
    )
    for mount in absolute:
        _check_target(mount)
    command = [bwrap or find_bwrap(), "--die-with-parent"]
    expanded = sorted(
        {_expansion_point(PurePosixPath(m.target)) for m in absolute} - {None},
        key=lambda p: len(p.parts),  # type: ignore[union-attr]
    )
    if PurePosixPath("/") in expanded:
        command += _rebind_children(PurePosixPath("/"))
    else:
        command += ["--ro-bind", "/", "/"]
    command += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for point in expanded:
        if point is not None and point != PurePosixPath("/"):
            command += ["--tmpfs", str(point), *_rebind_children(point)]
    for needed in _host_paths(argv, image_root, python_path):
        command += ["--ro-bind", needed, needed]
    inside = _inside_path(Path(workdir), absolute)
    if inside is None:
        host = str(Path(workdir).resolve())
        command += ["--bind", host, host]
        inside = host
    for mount in absolute:
        source = Path(mount.source).resolve()
        if not source.exists():
            raise ContainerRuntimeError(f"mount source {source} does not exist")
        command += ["--ro-bind" if mount.read_only else "--bind", str(source), mount.target]
    command += ["--chdir", inside, "--", *argv]
    return command, inside


def _host_paths(argv: Sequence[str], image_root: Path | None, python_path: str) -> list[str]:
    """Host directories the command reads that the sandbox's private ``/tmp`` hides.

    Everything else of the host is visible already (read-only), so only paths under
    ``/tmp`` are bound again; binding ``/`` or ``/usr`` here would cover the sandbox's
    own mounts.
    """
    wanted: list[Path] = []
    if image_root is not None:
        wanted.append(Path(image_root))
    if argv and PurePosixPath(argv[0]).is_absolute():
        program_dir = Path(argv[0]).parent
        wanted.append(program_dir.parent if program_dir.name == "bin" else program_dir)
    wanted.extend(Path(entry) for entry in python_path.split(os.pathsep) if entry)
    found: list[str] = []
    for path in wanted:
        resolved = path.resolve()
        hidden = resolved.is_relative_to("/tmp") and resolved != Path("/tmp")
        if path.is_absolute() and hidden and resolved.is_dir() and str(resolved) not in found:
            found.append(str(resolved))
    return found


def _check_target(mount: Mount) -> None:
    target = PurePosixPath(mount.target)
    if ".." in target.parts or str(target) in _OWN_PATHS or target == PurePosixPath("/"):
        raise ContainerRuntimeError(
            f"mount target {mount.target!r} is not allowed: name a directory below /, "
            "not /, /dev, /proc, /tmp or a path with '..'"
        )


def _expansion_point(target: PurePosixPath) -> PurePosixPath | None:
    """The existing directory that must become writable to create ``target``, if any."""
    current = PurePosixPath("/")
    for part in target.parts[1:]:
        child = current / part
        if not os.path.lexists(child):
            return current
        current = child
    return None


def _rebind_children(directory: PurePosixPath) -> list[str]:
    """Bind every entry of the host ``directory`` back, read-only (links as links)."""
    args: list[str] = []
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ContainerRuntimeError(f"cannot list {directory} for the sandbox: {exc}") from exc
    for name in names:
        path = directory / name
        if str(path) in _OWN_PATHS:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), str(path)]
        elif os.path.isdir(path) or os.path.isfile(path):
            args += ["--ro-bind", str(path), str(path)]
    return args


def _inside_path(workdir: Path, mounts: Sequence[Mount]) -> str | None:
    """Where ``workdir`` (a host path) appears inside, when a mount covers it."""
    resolved = workdir.resolve()
    for mount in reversed(mounts):  # deepest first
        source = Path(mount.source).resolve()
        if resolved == source or source in resolved.parents:
            return str(PurePosixPath(mount.target) / resolved.relative_to(source).as_posix())
    return None
