"""Filesystem primitives of the local store: atomic writes, digests, sidecars.

Kept apart from :mod:`modelyard.store.local` (which decides *what* to write)
so the durability rules (temp file on the same filesystem, fsync, rename,
fsync the directory) live in one place.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from modelyard.errors import StoreError
from modelyard.store.base import ObjectInfo
from modelyard.store.metadata import Digests

CHUNK_BYTES = 1024 * 1024


class Sidecars:
    """JSON records beside the objects, in a tree mirroring the buckets under ``root``.

    The tree mirrors the object files name for name, so two sidecars collide
    exactly when two objects would; stale ones (left by a crash or by files
    deleted by hand) are cleared when they block a new one.
    """

    def __init__(self, root: Path, tmp: Path) -> None:
        self.root = root
        self.tmp = tmp

    def path(self, bucket: str, key: str) -> Path:
        return self.root.joinpath(bucket, *key.split("/"))

    def read(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            with open(self.path(bucket, key), encoding="utf-8") as stream:
                data = json.load(stream)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, bucket: str, key: str, info: ObjectInfo, identity: os.stat_result) -> None:
        """Best effort: a lost sidecar costs a re-hash, never the object."""
        record = {
            "etag": info.etag,
            "sha256": info.sha256,
            "content_type": info.content_type,
            "metadata": info.metadata,
            "identity": file_identity(identity),
        }
        sidecar = self.path(bucket, key)
        for _attempt in range(2):
            try:
                write_json_atomically(sidecar, record, self.tmp)
                return
            except OSError:
                self._clear_stale(bucket, key)

    def _clear_stale(self, bucket: str, key: str) -> None:
        """Remove sidecars left by objects that no longer exist and block ``key``'s."""
        segments = key.split("/")
        meta_root = self.root / bucket
        for depth in range(1, len(segments)):
            ancestor = meta_root.joinpath(*segments[:depth])
            if ancestor.is_file():
                ancestor.unlink(missing_ok=True)
        target = meta_root.joinpath(*segments)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)


def write_json_atomically(path: Path, record: dict[str, Any], tmp: Path) -> None:
    """Write JSON beside its place in ``tmp`` (same filesystem), fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = tmp / f"{uuid.uuid4().hex}.json"
    try:
        with open(temp, "w", encoding="utf-8") as stream:
            json.dump(record, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_stream(temp: Path, data: bytes | BinaryIO) -> Digests:
    """Copy ``data`` into ``temp`` and fsync it. Errors of the caller's stream pass
    through untouched; errors writing the file become StoreError."""
    digests = Digests()
    try:
        out = open(temp, "xb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise _write_error(exc) from exc
    with out:
        chunks: Iterable[bytes] = (
            [bytes(data)] if isinstance(data, bytes | bytearray | memoryview) else read_chunks(data)
        )
        for chunk in chunks:
            digests.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise _write_error(exc) from exc
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError as exc:
            raise _write_error(exc) from exc
    return digests


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _write_error(exc: OSError) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return StoreError("the local store's disk is full: free space and retry")
    return StoreError(f"cannot write to the local store: {exc}")


def hash_fd(fd: int) -> Digests:
    """Digest a file through its descriptor without moving its read offset."""
    digests = Digests()
    offset = 0
    while chunk := os.pread(fd, CHUNK_BYTES, offset):
        digests.update(chunk)
        offset += len(chunk)
    return digests


def file_identity(identity: os.stat_result) -> list[int]:
    return [identity.st_ino, identity.st_size, identity.st_mtime_ns]


def mtime(identity: os.stat_result) -> datetime:
    return datetime.fromtimestamp(identity.st_mtime, UTC)


def fsync_dir(directory: Path) -> None:
    """Make a rename durable: fsync the directory that holds the new name."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def prune_empty_parents(directory: Path, stop: Path) -> None:
    """Remove empty directories from ``directory`` up to (not including) ``stop``."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent
