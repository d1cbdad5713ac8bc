"""The embedded object store: a directory that stays browsable.

Layout under ``root``::

    <bucket>/<key>                 the object's bytes, as a plain file
    .meta/buckets/<bucket>.json    when the bucket was created
    .meta/objects/<bucket>/<key>   JSON sidecar: ETag, sha256, content type, user metadata
    .tmp/                          uploads in flight (same filesystem, renamed into place)

Bucket names never start with a dot, so ``.meta`` and ``.tmp`` are never buckets.
A put streams into ``.tmp``, fsyncs, then renames over the key: readers see the
old object or the new one, never half of either, and a failed or killed upload
leaves the previous object as it was. The sidecar records the identity (inode,
size, mtime) of the file it describes; when they disagree (a crash between the
two renames, or a file a local job wrote straight into the bucket) the digests
are recomputed from the bytes, so the file is always the truth.

A filesystem cannot hold a file ``a`` and a file ``a/b`` at once; where S3
would allow both, this store answers ConflictError.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from modelyard.config import Settings
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidKeyError,
    InvalidNameError,
    NoSuchBucketError,
    NoSuchKeyError,
    StoreError,
)
from modelyard.store import local_listing as listing
from modelyard.store.base import BucketInfo, ListPage, ObjectInfo, Store
from modelyard.store.local_files import (
    Sidecars,
    file_identity,
    fsync_dir,
    hash_fd,
    mtime,
    prune_empty_parents,
    write_json_atomically,
    write_stream,
)
from modelyard.store.metadata import (
    guess_content_type,
    validate_content_type,
    validate_metadata,
)
from modelyard.store.uri import validate_bucket_name, validate_key, validate_prefix

CHUNK_BYTES = 1024 * 1024
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common filesystems
STALE_TEMP_AGE_S = 24 * 3600


class LocalStore(Store):
    """Buckets are directories under ``root``; objects are files inside them."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self._tmp = self.root / ".tmp"
        self._bucket_meta = self.root / ".meta" / "buckets"
        self._object_meta = self.root / ".meta" / "objects"
        for directory in (self.root, self._tmp, self._bucket_meta, self._object_meta):
            directory.mkdir(parents=True, exist_ok=True)
        self._sidecars = Sidecars(self._object_meta, self._tmp)
        self._remove_stale_temp_files()

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalStore:
        return cls(settings.store_root)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # Buckets.

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> BucketInfo:
        path = self.root / validate_bucket_name(bucket)
        try:
            path.mkdir()
        except FileExistsError as exc:
            if exist_ok and path.is_dir():
                return self._bucket_info(bucket)
            raise AlreadyExistsError(
                f"bucket {bucket!r} already exists: pick another name or reuse it",
                field="Bucket",
            ) from exc
        except OSError as exc:
            raise StoreError(f"cannot create bucket {bucket!r}: {exc}") from exc
        created = datetime.now(UTC)
        write_json_atomically(
            self._bucket_meta / f"{bucket}.json", {"created_at": created.isoformat()}, self._tmp
        )
        fsync_dir(self.root)
        return BucketInfo(bucket, created)

    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        path = self._bucket_dir(bucket)
        if not force and listing.has_files(str(path)):
            raise ConflictError(
                f"bucket {bucket!r} is not empty (BucketNotEmpty): delete its objects first "
                "or pass force",
                field="Bucket",
            )
        # Renamed away first, so the name is free at once and a crash midway
        # never leaves half a bucket visible.
        trash = self._tmp / f"trash-{uuid.uuid4().hex}"
        trash.mkdir()
        try:
            os.rename(path, trash / "data")
            with contextlib.suppress(FileNotFoundError):
                os.rename(self._object_meta / bucket, trash / "meta")
            (self._bucket_meta / f"{bucket}.json").unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot delete bucket {bucket!r}: {exc}") from exc
        finally:
            shutil.rmtree(trash, ignore_errors=True)

    def list_buckets(self) -> list[BucketInfo]:
        names = sorted(
            entry.name
            for entry in os.scandir(self.root)
            if not entry.name.startswith(".")
            and entry.is_dir(follow_symlinks=False)
            and _is_valid_bucket(entry.name)
        )
        return [self._bucket_info(name) for name in names]

    def bucket_exists(self, bucket: str) -> bool:
        return (self.root / validate_bucket_name(bucket)).is_dir()

    # Objects.

    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        bucket_dir = self._bucket_dir(bucket)
        path = self._object_path(bucket_dir, key)
        content_type = validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        self._refuse_collisions(bucket_dir, key)
        temp = self._tmp / f"{uuid.uuid4().hex}.part"
        try:
            digests = write_stream(temp, data)
            identity = os.stat(temp)
            self._move_into_place(temp, path, bucket_dir, key)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=digests.size,
            etag=digests.etag,
            last_modified=mtime(identity),
            content_type=content_type,
            sha256=digests.sha256,
            metadata=user_metadata,
        )
        self._sidecars.write(bucket, key, info, identity)
        return info

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        return self.open_object_with_info(bucket, key)[1]

    def open_object_with_info(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        path = self._object_path(self._bucket_dir(bucket), key)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise _no_such_key(bucket, key) from exc
        except OSError as exc:
            raise StoreError(f"cannot open {bucket}/{key}: {exc}") from exc
        try:
            identity = os.fstat(stream.fileno())
            if not stat.S_ISREG(identity.st_mode):
                raise _no_such_key(bucket, key)
            return self._info(bucket, key, path, identity, stream.fileno()), stream
        except BaseException:
            stream.close()
            raise

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        path = self._object_path(self._bucket_dir(bucket), key)
        try:
            identity = os.stat(path)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise _no_such_key(bucket, key) from exc
        if not stat.S_ISREG(identity.st_mode):
            raise _no_such_key(bucket, key)
        return self._info(bucket, key, path, identity)

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
    ) -> ListPage:
        bucket_dir = self._bucket_dir(bucket)
        prefix = validate_prefix(prefix)
        delimiter = listing.check_delimiter(delimiter)
        max_keys = listing.check_max_keys(max_keys)
        resume = listing.decode_token(continuation_token)
        start = prefix.rpartition("/")[0]
        start_dir = self._object_path(bucket_dir, start) if start else bucket_dir
        base = f"{start}/" if start else ""
        entries = listing.walk(str(start_dir), base, prefix, resume, group_dirs=delimiter == "/")

        objects: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: listing.Resume | None = None
        for entry in listing.group(entries, prefix, delimiter):
            if len(objects) + len(prefixes) == max_keys:
                assert last is not None
                return ListPage(objects, prefixes, listing.encode_token(last))
            if entry.is_prefix:
                prefixes.append(entry.key)
            else:
                info = self._listed_info(bucket, entry)
                if info is None:
                    continue
                objects.append(info)
            last = listing.Resume(entry.key, entry.is_prefix)
        return ListPage(objects, prefixes, None)

    def delete_object(self, bucket: str, key: str) -> None:
        bucket_dir = self._bucket_dir(bucket)
        path = self._object_path(bucket_dir, key)
        try:
            if path.is_file():
                path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot delete {bucket}/{key}: {exc}") from exc
        sidecar = self._sidecars.path(bucket, key)
        with contextlib.suppress(OSError):
            if sidecar.is_file():
                sidecar.unlink()
        prune_empty_parents(path.parent, bucket_dir)
        prune_empty_parents(sidecar.parent, self._object_meta / bucket)

    def copy_object(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
    ) -> ObjectInfo:
        dst_dir = self._bucket_dir(dst_bucket)
        self._object_path(dst_dir, dst_key)
        info, stream = self.open_object_with_info(src_bucket, src_key)
        with stream:
            return self.put_object(
                dst_bucket,
                dst_key,
                stream,
                content_type=info.content_type,
                metadata=info.metadata,
            )

    # Paths: every one is checked to stay inside its bucket.

    def _bucket_dir(self, bucket: str) -> Path:
        path = self.root / validate_bucket_name(bucket)
        if not path.is_dir():
            raise NoSuchBucketError(
                f"bucket {bucket!r} does not exist: create it first", field="Bucket"
            )
        return path

    def _object_path(self, bucket_dir: Path, key: str) -> Path:
        validate_key(key)
        for segment in key.split("/"):
            if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
                raise InvalidKeyError(
                    f"Key={key!r} is refused: the local store keeps each '/'-separated "
                    f"segment under {MAX_SEGMENT_BYTES} bytes (a filesystem limit); shorten it",
                    field="Key",
                )
        path = bucket_dir.joinpath(*key.split("/"))
        resolved = os.path.realpath(path)
        inside = os.path.realpath(bucket_dir) + os.sep
        if not resolved.startswith(inside):
            raise InvalidKeyError(
                f"Key={key!r} is refused: it resolves outside its bucket (a symbolic link?)",
                field="Key",
            )
        return path

    def _refuse_collisions(self, bucket_dir: Path, key: str) -> None:
        """Explain, before any byte is written, why ``key`` cannot be a file here."""
        segments = key.split("/")
        for depth in range(1, len(segments)):
            ancestor = bucket_dir.joinpath(*segments[:depth])
            if ancestor.is_file():
                parent_key = "/".join(segments[:depth])
                raise ConflictError(
                    f"Key={key!r} cannot be stored: object {parent_key!r} exists, and the "
                    f"local store (a filesystem) cannot hold both {parent_key!r} and keys "
                    f"under {parent_key + '/'!r}. Delete or rename one of them",
                    field="Key",
                )
        target = bucket_dir.joinpath(*segments)
        if target.is_dir() and not os.path.islink(target):
            if listing.has_files(str(target)):
                raise ConflictError(
                    f"Key={key!r} cannot be stored: objects exist under {key + '/'!r}, and the "
                    f"local store (a filesystem) cannot hold both. Delete or rename one of them",
                    field="Key",
                )
            shutil.rmtree(target, ignore_errors=True)

    def _move_into_place(self, temp: Path, path: Path, bucket_dir: Path, key: str) -> None:
        for _attempt in range(5):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, path)
            except FileNotFoundError:
                continue  # a concurrent delete pruned the parent: make it again
            except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
                self._refuse_collisions(bucket_dir, key)
                raise ConflictError(
                    f"Key={key!r} collides with another object being written", field="Key"
                ) from exc
            except OSError as exc:
                raise StoreError(f"cannot store {key!r}: {exc}") from exc
            fsync_dir(path.parent)
            return
        raise StoreError(f"cannot store {key!r}: its directory keeps disappearing")

    # Sidecars.

    def _info(
        self,
        bucket: str,
        key: str,
        path: Path,
        identity: os.stat_result,
        fd: int | None = None,
    ) -> ObjectInfo:
        """The object's description; ``fd``, when given, is an open descriptor of the
        version ``identity`` describes (so a re-hash reads those very bytes)."""
        recorded = self._sidecars.read(bucket, key)
        if recorded is not None and recorded.get("identity") == file_identity(identity):
            return ObjectInfo(
                bucket=bucket,
                key=key,
                size=identity.st_size,
                etag=str(recorded["etag"]),
                last_modified=mtime(identity),
                content_type=str(recorded["content_type"]),
                sha256=str(recorded["sha256"]),
                metadata=dict(recorded.get("metadata", {})),
            )
        # No sidecar, or one describing another version: the file is the truth.
        if fd is None:
            try:
                with open(path, "rb") as stream:
                    identity = os.fstat(stream.fileno())
                    digests = hash_fd(stream.fileno())
            except (FileNotFoundError, NotADirectoryError) as exc:
                raise _no_such_key(bucket, key) from exc
        else:
            digests = hash_fd(fd)
        content_type = guess_content_type(key)
        metadata: dict[str, str] = {}
        if recorded is not None:
            content_type = str(recorded.get("content_type", content_type))
            metadata = dict(recorded.get("metadata", {}))
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=digests.size,
            etag=digests.etag,
            last_modified=mtime(identity),
            content_type=content_type,
            sha256=digests.sha256,
            metadata=metadata,
        )
        self._sidecars.write(bucket, key, info, identity)
        return info

    def _listed_info(self, bucket: str, entry: listing.Entry) -> ObjectInfo | None:
        path = Path(entry.path)
        try:
            return self._info(bucket, entry.key, path, os.stat(path))
        except (FileNotFoundError, NoSuchKeyError):
            return None  # deleted while we listed

    def _bucket_info(self, bucket: str) -> BucketInfo:
        try:
            with open(self._bucket_meta / f"{bucket}.json", encoding="utf-8") as stream:
                return BucketInfo(bucket, datetime.fromisoformat(json.load(stream)["created_at"]))
        except (OSError, ValueError, KeyError):
            # A bucket directory made by hand: its mtime is the best we know.
            return BucketInfo(bucket, mtime(os.stat(self.root / bucket)))

    def _remove_stale_temp_files(self) -> None:
        cutoff = time.time() - STALE_TEMP_AGE_S
        for entry in os.scandir(self._tmp):
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)


def _no_such_key(bucket: str, key: str) -> NoSuchKeyError:
    return NoSuchKeyError(f"no object {key!r} in bucket {bucket!r}", field="Key")


def _is_valid_bucket(name: str) -> bool:
    try:
        validate_bucket_name(name)
    except InvalidNameError:
        return False
    return True
