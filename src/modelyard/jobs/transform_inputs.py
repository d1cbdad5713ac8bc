"""A transform job's input objects: which ones, how they are named, how they are read.

``S3Prefix`` takes every object whose key starts with the prefix; ``ManifestFile`` reads
SageMaker's manifest (``[{"prefix": "s3://bucket/dir/"}, "a.csv", "b/c.csv"]``). Each
object's *name* is its key relative to the prefix's directory (or the manifest's
entry), and its output is ``<S3OutputPath>/<name>.out``, as SageMaker writes it.

Objects are dealt round-robin over the instances in key order (SageMaker spreads a
prefix's objects the same way); an object is never split between instances.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from modelyard.errors import ModelyardError, NotFoundError, ValidationError
from modelyard.jobs.transform_spec import INPUT_URI_FIELD, data_type, gzipped, input_uri
from modelyard.store.base import Store
from modelyard.store.uri import S3Uri, parse_s3_uri

MAX_MANIFEST_BYTES = 64 * 2**20


@dataclass(frozen=True)
class InputObject:
    """One object to transform."""

    bucket: str
    key: str
    size: int
    name: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def list_inputs(store: Store, spec: dict[str, Any]) -> list[InputObject]:
    """Every input object of the request, in key order; ``ValidationError`` when none."""
    uri = input_uri(spec)
    if data_type(spec) == "ManifestFile":
        found = _from_manifest(store, uri)
    else:
        found = _from_prefix(store, uri)
    if not found:
        raise ValidationError(
            f"{INPUT_URI_FIELD}={str(uri)!r}: no objects found under it; upload the input "
            "data first, or fix the URI",
            field=INPUT_URI_FIELD,
        )
    return found


def has_inputs(store: Store, spec: dict[str, Any]) -> None:
    """Refuse (400) a prefix with no object, or a manifest that does not exist."""
    uri = input_uri(spec)
    if not store.bucket_exists(uri.bucket):
        raise ValidationError(
            f"{INPUT_URI_FIELD}={str(uri)!r}: the bucket {uri.bucket!r} does not exist",
            field=INPUT_URI_FIELD,
        )
    if data_type(spec) == "ManifestFile":
        list_inputs(store, spec)
        return
    page = store.list_objects(uri.bucket, uri.key, max_keys=1)
    if not page.objects:
        raise ValidationError(
            f"{INPUT_URI_FIELD}={str(uri)!r}: no objects found under it; upload the input "
            "data first, or fix the URI",
            field=INPUT_URI_FIELD,
        )


def _from_prefix(store: Store, uri: S3Uri) -> list[InputObject]:
    return [
        InputObject(info.bucket, info.key, info.size, object_name(info.key, uri.key))
        for info in sorted(store.iter_objects(uri.bucket, uri.key), key=lambda i: i.key)
        if not info.key.endswith("/")
    ]


def object_name(key: str, prefix: str) -> str:
    """The key below the prefix (``s3://b/in`` and ``s3://b/in/`` both make ``in/a.csv``
    ``a.csv``); the file name when the prefix is the key; below the prefix's directory
    when the prefix ends inside a name (``in/part`` makes ``in/part-1.csv`` ``part-1.csv``)."""
    if key == prefix:
        return key.rsplit("/", 1)[-1]
    rest = key[len(prefix) :]
    if not prefix or prefix.endswith("/") or rest.startswith("/"):
        return rest.lstrip("/")
    return key[prefix.rfind("/") + 1 :]


def _from_manifest(store: Store, uri: S3Uri) -> list[InputObject]:
    try:
        info = store.head_object(uri.bucket, uri.key)
    except NotFoundError as exc:
        raise ValidationError(
            f"{INPUT_URI_FIELD}={str(uri)!r}: the manifest file does not exist",
            field=INPUT_URI_FIELD,
        ) from exc
    if info.size > MAX_MANIFEST_BYTES:
        raise ValidationError(
            f"{INPUT_URI_FIELD}={str(uri)!r}: the manifest is over "
            f"{MAX_MANIFEST_BYTES // 2**20} MB",
            field=INPUT_URI_FIELD,
        )
    try:
        entries = json.loads(store.get_object(uri.bucket, uri.key))
    except ValueError as exc:
        raise _manifest_error(uri, f"it is not JSON ({exc})") from exc
    if (
        not isinstance(entries, list)
        or not entries
        or not isinstance(entries[0], dict)
        or not isinstance(entries[0].get("prefix"), str)
    ):
        raise _manifest_error(
            uri, 'expected a JSON list starting with {"prefix": "s3://bucket/dir/"}'
        )
    prefix = parse_s3_uri(entries[0]["prefix"], field=INPUT_URI_FIELD)
    found: list[InputObject] = []
    for index, entry in enumerate(entries[1:], start=1):
        if not isinstance(entry, str) or not entry:
            raise _manifest_error(uri, f"entry {index} is not a relative key: {entry!r}")
        target = prefix.child(entry)
        try:
            head = store.head_object(target.bucket, target.key)
        except NotFoundError as exc:
            raise _manifest_error(uri, f"entry {index} ({target}) does not exist") from exc
        found.append(InputObject(head.bucket, head.key, head.size, entry.lstrip("/")))
    return found


def _manifest_error(uri: S3Uri, problem: str) -> ValidationError:
    return ValidationError(f"{INPUT_URI_FIELD}={str(uri)!r}: {problem}", field=INPUT_URI_FIELD)


class CountingReader(io.RawIOBase):
    """Reads a stream while reporting the bytes read (the job's progress in input bytes)."""

    def __init__(self, stream: BinaryIO, report: Callable[[int], None]) -> None:
        self._stream = stream
        self._report = report

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Straight into the caller's buffer when the store's stream can (no copy)."""
        readinto = getattr(self._stream, "readinto", None)
        if readinto is not None:
            size = int(readinto(buffer) or 0)
        else:
            data = self._stream.read(len(buffer))
            size = len(data)
            buffer[:size] = data
        if size:
            self._report(size)
        return size

    def close(self) -> None:
        self._stream.close()
        super().close()


def open_input(
    store: Store, item: InputObject, spec: dict[str, Any], report: Callable[[int], None]
) -> BinaryIO:
    """The object's (decompressed) bytes as a stream; input bytes read are reported."""
    try:
        raw = store.open_object(item.bucket, item.key)
    except ModelyardError as exc:
        raise ValidationError(f"{item.name}: the input object cannot be read: {exc}") from exc
    counted = io.BufferedReader(CountingReader(raw, report), buffer_size=1 << 20)
    if gzipped(spec):
        return cast(BinaryIO, gzip.GzipFile(fileobj=counted, mode="rb"))
    return cast(BinaryIO, counted)
