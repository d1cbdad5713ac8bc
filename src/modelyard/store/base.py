"""The object store seam: a narrow interface every backend implements.

Keys are validated by :mod:`modelyard.store.uri` before they reach a backend,
so a backend may trust that a key names an object inside its bucket.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created_at: datetime


@dataclass(frozen=True)
class ObjectInfo:
    """What ``head`` tells about an object. ``etag`` is S3's (MD5 or multipart form)."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    content_type: str = "application/octet-stream"
    sha256: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListPage:
    """One page of a listing: objects, the common prefixes under a delimiter, and
    the token of the next page (``None`` on the last one)."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    next_token: str | None


class Store(abc.ABC):
    """An object store holding buckets of keyed byte streams."""

    @abc.abstractmethod
    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> BucketInfo: ...

    @abc.abstractmethod
    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        """Delete a bucket; a non-empty one only with ``force`` (its objects go too)."""

    @abc.abstractmethod
    def list_buckets(self) -> list[BucketInfo]: ...

    @abc.abstractmethod
    def bucket_exists(self, bucket: str) -> bool: ...

    @abc.abstractmethod
    def put_object(
        self,
        bucket: str,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` (bytes or a readable stream, read in chunks) under ``key``.

        The object appears whole or not at all: a failed upload leaves any
        previous object at the key untouched.
        """

    @abc.abstractmethod
    def open_object(self, bucket: str, key: str) -> BinaryIO:
        """A readable, seekable stream over the object; the caller closes it."""

    @abc.abstractmethod
    def head_object(self, bucket: str, key: str) -> ObjectInfo: ...

    @abc.abstractmethod
    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
    ) -> ListPage: ...

    @abc.abstractmethod
    def delete_object(self, bucket: str, key: str) -> None:
        """Delete an object; deleting a missing key is not an error (as in S3)."""

    @abc.abstractmethod
    def copy_object(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
    ) -> ObjectInfo: ...

    def open_object_with_info(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """The object's description and a stream over the same version of its bytes.

        Backends override this when they can make the pair consistent under a
        concurrent overwrite; the default heads, then opens.
        """
        info = self.head_object(bucket, key)
        return info, self.open_object(bucket, key)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        """Delete many objects; missing keys are not an error. Every key is
        validated before the first one is deleted."""
        from modelyard.store.uri import validate_key

        checked = [validate_key(key) for key in keys]
        for key in checked:
            self.delete_object(bucket, key)

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections and threads the backend holds (nothing by default)."""

    def get_object(self, bucket: str, key: str) -> bytes:
        with self.open_object(bucket, key) as stream:
            return stream.read()

    def iter_objects(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, following pagination."""
        token: str | None = None
        while True:
            page = self.list_objects(bucket, prefix, continuation_token=token)
            yield from page.objects
            if page.next_token is None:
                return
            token = page.next_token
