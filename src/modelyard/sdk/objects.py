"""Buckets and objects through the control plane's HTTP API, boto3-style (bucket, key).

Bodies stream both ways (a file is never read whole), downloads land whole
(written aside, renamed) and are checked against the store's SHA-256, and
directory trees move in parallel with an optional Rich progress bar. The
planning and the parallel runner are :mod:`modelyard.store.transfer`'s, so the
SDK and the server-side transfers behave the same.

Keys are validated here too: a key such as ``a/../b`` must never reach an HTTP
client that would normalise the URL into another key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from modelyard.errors import NoSuchKeyError, NotFoundError
from modelyard.sdk.client import ApiClient
from modelyard.store.metadata import SHA256_METADATA_KEY, guess_content_type
from modelyard.store.progress import ProgressOption, Reporter, reporting
from modelyard.store.transfer import (
    DEFAULT_MAX_WORKERS,
    DownloadItem,
    UploadItem,
    directory_prefix,
    plan_download,
    plan_upload,
    run_parallel,
    write_file_atomically,
)
from modelyard.store.uri import validate_bucket_name, validate_key

CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000
METADATA_HEADER = "x-amz-meta-"


# Buckets.


def create_bucket(client: ApiClient, bucket: str, *, exist_ok: bool = False) -> dict[str, Any]:
    """Create a bucket; with ``exist_ok`` an existing one is fine."""
    body: dict[str, Any] = client.request(
        "PUT", _bucket_path(bucket), params={"exist_ok": exist_ok}
    ).json()
    return body


def delete_bucket(client: ApiClient, bucket: str, *, force: bool = False) -> None:
    """Delete a bucket; a non-empty one only with ``force`` (its objects go too)."""
    client.delete(_bucket_path(bucket), force=force)


def list_buckets(client: ApiClient) -> list[dict[str, Any]]:
    """Every bucket as ``{"Name", "CreationDate"}``."""
    buckets: list[dict[str, Any]] = client.get_json("/buckets")["Buckets"]
    return buckets


# Listing.


def list_objects_page(
    client: ApiClient,
    bucket: str,
    prefix: str = "",
    *,
    delimiter: str | None = None,
    max_keys: int = 1000,
    continuation_token: str | None = None,
) -> dict[str, Any]:
    """One ListObjectsV2 page, as the API returns it."""
    page: dict[str, Any] = client.get_json(
        f"{_bucket_path(bucket)}/objects",
        prefix=prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        continuation_token=continuation_token,
    )
    return page


def list_objects(
    client: ApiClient, bucket: str, prefix: str = "", *, delimiter: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every entry under ``prefix``, following pages: objects as ``{"Key", "Size",
    "ETag", "LastModified"}`` and, with a delimiter, common prefixes as ``{"Prefix"}``."""
    token: str | None = None
    while True:
        page = list_objects_page(
            client, bucket, prefix, delimiter=delimiter, continuation_token=token
        )
        entries = page.get("Contents", []) + page.get("CommonPrefixes", [])
        yield from sorted(entries, key=lambda e: str(e.get("Key", e.get("Prefix"))).encode())
        token = page.get("NextContinuationToken")
        if not token:
            return


# Objects.


def head_object(client: ApiClient, bucket: str, key: str) -> dict[str, Any]:
    """``{"Key", "Size", "ETag", "ContentType", "LastModified", "Sha256", "Metadata"}``."""
    try:
        response = client.request("HEAD", _object_path(bucket, key))
    except NotFoundError as exc:
        # A HEAD answer has no body to name the error: ask the bucket which it is.
        list_objects_page(client, bucket, max_keys=1)  # raises NoSuchBucketError
        raise NoSuchKeyError(f"no object {key!r} in bucket {bucket!r}", field="Key") from exc
    headers = response.headers
    metadata = {
        name[len(METADATA_HEADER) :]: value
        for name, value in headers.items()
        if name.lower().startswith(METADATA_HEADER)
    }
    sha256 = metadata.pop(SHA256_METADATA_KEY, None)
    return {
        "Key": key,
        "Size": int(headers["content-length"]),
        "ETag": headers.get("etag"),
        "ContentType": headers.get("content-type"),
        "LastModified": headers.get("last-modified"),
        "Sha256": sha256,
        "Metadata": metadata,
    }


def put_bytes(
    client: ApiClient,
    bucket: str,
    key: str,
    data: bytes,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Store ``data`` under ``key``; returns ``{"ETag", "Key", "Size", "Sha256"}``."""
    response = client.request(
        "PUT",
        _object_path(bucket, key),
        content=data,
        headers=_put_headers(content_type, metadata),
    )
    body: dict[str, Any] = response.json()
    return body


def get_bytes(client: ApiClient, bucket: str, key: str) -> bytes:
    """The whole object in memory: for small objects; stream big ones with download_file."""
    return client.request("GET", _object_path(bucket, key)).content


def upload_file(
    client: ApiClient,
    path: str | os.PathLike[str],
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    metadata: dict[str, str] | None = None,
    progress: ProgressOption = False,
) -> dict[str, Any]:
    """Stream one local file to ``bucket``/``key``."""
    source = Path(path)
    size = source.stat().st_size
    with reporting(progress, description=f"upload {source.name}", total_bytes=size) as rep:
        result = _upload(client, UploadItem(source, key, size), bucket, rep, content_type, metadata)
        rep.file_done()
    return result


def download_file(
    client: ApiClient,
    bucket: str,
    key: str,
    path: str | os.PathLike[str],
    *,
    progress: ProgressOption = False,
) -> Path:
    """Stream one object to ``path`` (into it, if it is a directory); returns the file."""
    target = Path(path)
    if target.is_dir():
        target = target / key.rsplit("/", 1)[-1]
    with reporting(progress, description=f"download {target.name}", total_bytes=None) as rep:
        _download(client, bucket, DownloadItem(key, target, 0), rep)
        rep.file_done()
    return target


def upload_directory(
    client: ApiClient,
    local_dir: str | os.PathLike[str],
    bucket: str,
    key_prefix: str = "",
    *,
    progress: ProgressOption = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> list[dict[str, Any]]:
    """Upload every file under ``local_dir`` to keys under ``key_prefix``, in parallel.

    Every key is validated before the first byte moves.
    """
    validate_bucket_name(bucket)
    items = plan_upload(local_dir, key_prefix)
    return run_parallel(
        items,
        lambda item, rep: _upload(client, item, bucket, rep, None, None),
        progress=progress,
        description=f"upload to s3://{bucket}/{directory_prefix(key_prefix)}",
        total_bytes=sum(item.size for item in items),
        max_workers=max_workers,
    )


def download_directory(
    client: ApiClient,
    bucket: str,
    key_prefix: str,
    local_dir: str | os.PathLike[str],
    *,
    progress: ProgressOption = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> list[Path]:
    """Download every object under ``key_prefix`` into ``local_dir``, keeping the tree.

    A ``key_prefix`` naming one object (and no objects below it) downloads that
    object into ``local_dir``, as sagemaker's ``download_data`` does. Keys that
    would land outside ``local_dir`` are refused before anything is written.
    """
    prefix = directory_prefix(key_prefix)
    listed = [(entry["Key"], int(entry["Size"])) for entry in list_objects(client, bucket, prefix)]
    items = plan_download(listed, prefix, local_dir)
    if not items and key_prefix and not key_prefix.endswith("/"):
        try:
            size = head_object(client, bucket, key_prefix)["Size"]
        except NoSuchKeyError:
            return []
        name = key_prefix.rsplit("/", 1)[-1]
        items = plan_download([(name, size)], "", local_dir)
        items = [DownloadItem(key_prefix, item.path, item.size) for item in items]
    return run_parallel(
        items,
        lambda item, rep: _download(client, bucket, item, rep),
        progress=progress,
        description=f"download s3://{bucket}/{prefix}",
        total_bytes=sum(item.size for item in items),
        max_workers=max_workers,
    )


def copy_object(
    client: ApiClient, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
) -> dict[str, Any]:
    """A server-side copy; returns ``{"CopyObjectResult": {"ETag", "LastModified"}, ...}``."""
    validate_key(src_key, field="SourceKey")
    result: dict[str, Any] = client.request(
        "POST",
        f"{_object_path(dst_bucket, dst_key)}/copy",
        json={"SourceBucket": src_bucket, "SourceKey": src_key},
    ).json()
    return result


def delete_object(client: ApiClient, bucket: str, key: str) -> None:
    """Delete one object; a missing key is not an error."""
    client.delete(_object_path(bucket, key))


def delete_objects(client: ApiClient, bucket: str, keys: Iterable[str]) -> list[str]:
    """Delete many objects, a thousand per request; returns the keys deleted."""
    checked = [validate_key(key) for key in keys]
    for start in range(0, len(checked), DELETE_BATCH):
        batch = checked[start : start + DELETE_BATCH]
        client.request(
            "POST",
            f"{_bucket_path(bucket)}/delete-objects",
            json={"Objects": [{"Key": key} for key in batch]},
        )
    return checked


# Internals.


def _upload(
    client: ApiClient,
    item: UploadItem,
    bucket: str,
    reporter: Reporter,
    content_type: str | None,
    metadata: dict[str, str] | None,
) -> dict[str, Any]:
    path = _object_path(bucket, item.key)
    headers = _put_headers(content_type or guess_content_type(item.path.name), metadata)
    with open(item.path, "rb") as stream:
        response = client.request(
            "PUT", path, content=_file_chunks(stream, reporter), headers=headers
        )
    body: dict[str, Any] = response.json()
    return body


def _download(client: ApiClient, bucket: str, item: DownloadItem, reporter: Reporter) -> Path:
    with client.stream("GET", _object_path(bucket, item.key)) as response:
        write_file_atomically(
            item.path,
            response.iter_bytes(CHUNK_BYTES),
            reporter,
            expected_sha256=response.headers.get(METADATA_HEADER + SHA256_METADATA_KEY),
        )
    return item.path


def _file_chunks(stream: BinaryIO, reporter: Reporter) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        reporter.advance(len(chunk))
        yield chunk


def _put_headers(content_type: str | None, metadata: dict[str, str] | None) -> dict[str, str]:
    headers = {METADATA_HEADER + name: value for name, value in (metadata or {}).items()}
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def _bucket_path(bucket: str) -> str:
    return f"/buckets/{validate_bucket_name(bucket)}"


def _object_path(bucket: str, key: str) -> str:
    return f"{_bucket_path(bucket)}/objects/{quote(validate_key(key), safe='/')}"
