"""Files and directory trees in and out of a store, in parallel, with progress.

The planning here (which file becomes which key, which key lands where on
disk, refusing any that would escape the target directory) and the parallel
runner are shared with the SDK, whose helpers move the same trees over HTTP:
one implementation, two transports.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar, cast

from modelyard.errors import ConflictError, InvalidKeyError, StoreError, ValidationError
from modelyard.store.base import ObjectInfo, Store
from modelyard.store.metadata import guess_content_type
from modelyard.store.progress import CountingReader, ProgressOption, Reporter, reporting
from modelyard.store.uri import S3Uri, parse_s3_uri, validate_key

CHUNK_BYTES = 1024 * 1024
DEFAULT_MAX_WORKERS = 4

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class UploadItem:
    path: Path
    key: str
    size: int


@dataclass(frozen=True)
class DownloadItem:
    key: str
    path: Path
    size: int


# Store transfers.


def upload_file(
    store: Store,
    path: str | os.PathLike[str],
    uri: str | S3Uri,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    progress: ProgressOption = False,
) -> ObjectInfo:
    """Stream one local file to ``uri`` (a key ending in ``/`` gets the file's name)."""
    source = Path(path)
    target = parse_s3_uri(uri)
    key = file_key(target, source.name)
    with reporting(progress, description=f"upload {source.name}", total_bytes=_size(source)) as rep:
        info = _put_file(
            store,
            UploadItem(source, key, _size(source)),
            target.bucket,
            rep,
            content_type=content_type,
            metadata=metadata,
        )
        rep.file_done()
    return info


def download_file(
    store: Store,
    uri: str | S3Uri,
    path: str | os.PathLike[str],
    *,
    progress: ProgressOption = False,
) -> Path:
    """Stream one object to ``path`` (into it, if it is a directory); returns the file.

    The file appears whole (written aside, then renamed) and its SHA-256 is
    checked against the one the store recorded.
    """
    source = parse_s3_uri(uri)
    validate_key(source.key)
    target = Path(path)
    if target.is_dir():
        target = target / source.name
    info, stream = store.open_object_with_info(source.bucket, source.key)
    with (
        stream,
        reporting(progress, description=f"download {source.name}", total_bytes=info.size) as rep,
    ):
        write_file_atomically(target, _chunks(stream), rep, expected_sha256=info.sha256)
        rep.file_done()
    return target


def upload_directory(
    store: Store,
    local_dir: str | os.PathLike[str],
    uri: str | S3Uri,
    *,
    progress: ProgressOption = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> list[ObjectInfo]:
    """Upload every file under ``local_dir`` to keys under ``uri``'s prefix.

    Every key is validated before the first byte moves, so a tree holding a
    name that cannot be a key uploads nothing.
    """
    target = parse_s3_uri(uri)
    items = plan_upload(local_dir, target.key)
    return run_parallel(
        items,
        lambda item, rep: _put_file(store, item, target.bucket, rep),
        progress=progress,
        description=f"upload to {target}",
        total_bytes=sum(item.size for item in items),
        max_workers=max_workers,
    )


def download_directory(
    store: Store,
    uri: str | S3Uri,
    local_dir: str | os.PathLike[str],
    *,
    progress: ProgressOption = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> list[Path]:
    """Download every object under ``uri``'s prefix into ``local_dir``, keeping the tree.

    A key that would land outside ``local_dir`` is refused before anything is written.
    """
    source = parse_s3_uri(uri)
    prefix = directory_prefix(source.key)
    listed = ((info.key, info.size) for info in store.iter_objects(source.bucket, prefix))
    items = plan_download(listed, prefix, local_dir)

    def fetch(item: DownloadItem, rep: Reporter) -> Path:
        info, stream = store.open_object_with_info(source.bucket, item.key)
        with stream:
            write_file_atomically(item.path, _chunks(stream), rep, expected_sha256=info.sha256)
        return item.path

    return run_parallel(
        items,
        fetch,
        progress=progress,
        description=f"download {source}",
        total_bytes=sum(item.size for item in items),
        max_workers=max_workers,
    )


# Planning, shared with the SDK.


def file_key(target: S3Uri, file_name: str) -> str:
    """The key a single file goes to: the URI's key, or the file's name below a prefix."""
    key = target.key + file_name if target.key == "" or target.key.endswith("/") else target.key
    return validate_key(key)


def directory_prefix(key: str) -> str:
    """The listing prefix a directory URI names: ``data`` and ``data/`` both mean ``data/``."""
    return key.rstrip("/") + "/" if key.strip("/") else ""


def plan_upload(local_dir: str | os.PathLike[str], key_prefix: str) -> list[UploadItem]:
    """Every regular file under ``local_dir`` with its key, validated, in key order."""
    root = Path(local_dir)
    if not root.is_dir():
        raise ValidationError(f"{str(root)!r} is not a directory", field="LocalPath")
    prefix = directory_prefix(key_prefix)
    items: list[UploadItem] = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            key = prefix + relative
            validate_key(key, field="Key")
            items.append(UploadItem(path, key, path.stat().st_size))
    return sorted(items, key=lambda item: item.key)


def plan_download(
    listed: Iterable[tuple[str, int]], prefix: str, local_dir: str | os.PathLike[str]
) -> list[DownloadItem]:
    """Where each listed ``(key, size)`` lands under ``local_dir``; refuses escapes.

    Keys ending in ``/`` (folder markers some S3 tools write) are skipped. A
    key that is also a "directory" of another key cannot land on a filesystem
    and is refused with ConflictError before anything is written.
    """
    root = Path(local_dir)
    inside = os.path.realpath(root) + os.sep
    items: list[DownloadItem] = []
    for key, size in listed:
        relative = key[len(prefix) :]
        if not key.startswith(prefix) or relative == "" or key.endswith("/"):
            continue
        try:
            validate_key(relative, field="Key")
        except InvalidKeyError as exc:
            raise InvalidKeyError(
                f"Key={key!r} is refused: it would be written outside {str(root)!r} "
                f"({exc.message})",
                field="Key",
            ) from exc
        path = root.joinpath(*relative.split("/"))
        if not os.path.realpath(path).startswith(inside):
            raise InvalidKeyError(
                f"Key={key!r} is refused: it would be written outside {str(root)!r}", field="Key"
            )
        items.append(DownloadItem(key, path, size))
    keys = {item.key[len(prefix) :] for item in items}
    for relative in keys:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in keys:
                raise ConflictError(
                    f"objects {prefix + parent!r} and {prefix + relative!r} cannot both be "
                    "downloaded: a filesystem cannot hold a file and a directory of one name",
                    field="Key",
                )
    return items


def run_parallel(
    items: Sequence[Item],
    work: Callable[[Item, Reporter], Result],
    *,
    progress: ProgressOption,
    description: str,
    total_bytes: int | None,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> list[Result]:
    """``work`` on every item in a thread pool; results in item order.

    The first failure stops what has not started and is raised once the
    running items finish.
    """
    if max_workers < 1:
        raise ValidationError(f"max_workers={max_workers} must be at least 1", field="max_workers")
    with reporting(
        progress, description=description, total_bytes=total_bytes, total_files=len(items)
    ) as rep:

        def one(item: Item) -> Result:
            result = work(item, rep)
            rep.file_done()
            return result

        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
            futures = [pool.submit(one, item) for item in items]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
            return [future.result() for future in futures]


def write_file_atomically(
    path: Path,
    chunks: Iterable[bytes],
    reporter: Reporter,
    *,
    expected_sha256: str | None = None,
) -> None:
    """Write ``chunks`` beside ``path`` and rename into place once whole and verified."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    digest = hashlib.sha256()
    try:
        with open(temp, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                reporter.advance(len(chunk))
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            raise StoreError(
                f"download of {path.name} is corrupt: sha256 {digest.hexdigest()} differs from "
                f"the recorded {expected_sha256}; retry"
            )
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _put_file(
    store: Store,
    item: UploadItem,
    bucket: str,
    reporter: Reporter,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
) -> ObjectInfo:
    with open(item.path, "rb") as stream:
        return store.put_object(
            bucket,
            item.key,
            cast(BinaryIO, CountingReader(stream, reporter)),
            content_type=content_type or guess_content_type(item.path.name),
            metadata=metadata,
        )


def _chunks(stream: BinaryIO) -> Iterable[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError as exc:
        raise ValidationError(f"{str(path)!r} does not exist", field="LocalPath") from exc
