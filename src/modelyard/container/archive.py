"""Extracting a model archive (``model.tar.gz``) without letting it write outside.

:func:`safe_extract` checks every member *before* anything is written, and refuses the
whole archive, naming the member, when one is:

- an absolute path (``/etc/passwd``), or one that climbs out with ``..``;
- a symbolic link whose target is absolute or resolves outside the destination;
- a hard link to a member that is not a regular file inside the archive;
- a device file, FIFO or anything but a regular file, directory or link;
- a path that passes through a symlink of the archive itself (a link planted to
  redirect a later member).

It then extracts with the standard library's ``data`` filter as a second line (which
also drops set-uid bits and owner names). Errors are :class:`UnsafeArchiveError` (the
user's archive is at fault) and :class:`ArchiveReadError` (not a readable tarball).
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

from modelyard.container.errors import UnsafeArchiveError, UserError

__all__ = ["ArchiveReadError", "UnsafeArchiveError", "check_members", "safe_extract"]

StrPath = str | os.PathLike[str]


class ArchiveReadError(UserError):
    """The model archive is not a readable (optionally compressed) tarball."""


def _normalized(name: str) -> str:
    return posixpath.normpath(name.replace("\\", "/")) if name else name


def _climbs_out(path: str) -> bool:
    return path == ".." or path.startswith("../")


def check_members(members: list[tarfile.TarInfo], archive: str) -> None:
    """Raise :class:`UnsafeArchiveError` for the first member that is not safe."""
    files: set[str] = set()
    links: set[str] = set()
    for member in members:
        name = member.name
        where = f"{archive}: member {name!r}"
        if name.startswith("/"):
            raise UnsafeArchiveError(f"{where} has an absolute path")
        path = _normalized(name)
        if _climbs_out(path) or ".." in name.replace("\\", "/").split("/"):
            raise UnsafeArchiveError(f"{where} has a '..' component")
        parents = path.split("/")[:-1]
        for depth in range(1, len(parents) + 1):
            if "/".join(parents[:depth]) in links:
                raise UnsafeArchiveError(
                    f"{where} lies under the symlink {'/'.join(parents[:depth])!r} of the "
                    "same archive"
                )
        if member.issym():
            target = member.linkname
            if target.startswith("/"):
                raise UnsafeArchiveError(f"{where} is a symlink to the absolute path {target!r}")
            resolved = _normalized(posixpath.join(posixpath.dirname(path), target))
            if _climbs_out(resolved):
                raise UnsafeArchiveError(
                    f"{where} is a symlink to {target!r}, which leads outside the destination"
                )
            links.add(path)
        elif member.islnk():
            target = _normalized(member.linkname)
            if member.linkname.startswith("/") or _climbs_out(target) or target not in files:
                raise UnsafeArchiveError(
                    f"{where} is a hard link to {member.linkname!r}, which is not a file "
                    "earlier in the archive"
                )
            files.add(path)
        elif member.isfile():
            files.add(path)
        elif not member.isdir():
            kind = (
                "device"
                if member.ischr() or member.isblk()
                else ("FIFO" if member.isfifo() else "special file")
            )
            raise UnsafeArchiveError(f"{where} is a {kind}: only files, directories and links")


def safe_extract(tar_path: StrPath, dest: StrPath) -> list[str]:
    """Extract ``tar_path`` (gzip, bzip2, xz or plain) into ``dest``; returns member names.

    Nothing is written when any member is refused (see the module doc).
    """
    target = Path(dest)
    try:
        with tarfile.open(tar_path, mode="r:*") as archive:
            members = archive.getmembers()
            check_members(members, str(tar_path))
            target.mkdir(parents=True, exist_ok=True)
            archive.extractall(target, members=members, filter="data")
    except UnsafeArchiveError:
        raise
    except tarfile.FilterError as exc:
        raise UnsafeArchiveError(f"{tar_path}: {exc}") from exc
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveReadError(f"cannot extract {tar_path}: {exc}") from exc
    return [member.name for member in members]
