"""Buckets and objects over HTTP, shaped like S3's API (ListObjectsV2, CopyObject, ...).

Routes validate nothing themselves: the store refuses bad bucket names and keys
(400 naming the field) before it touches anything, and every error is a
ModelyardError the app turns into its JSON body. Object bodies stream both
ways; no route holds a whole object in memory.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from email.utils import format_datetime
from typing import Any, BinaryIO, cast

import anyio
import anyio.from_thread
import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from modelyard.api.deps import ServicesDep
from modelyard.store.base import BucketInfo, ObjectInfo
from modelyard.store.metadata import SHA256_METADATA_KEY

router = APIRouter()

CHUNK_BYTES = 1024 * 1024
METADATA_HEADER = "x-amz-meta-"
OBJECT_PATH = "/buckets/{bucket}/objects/{key:path}"


class CopyObjectRequest(BaseModel):
    """Body of a copy: where the bytes come from (the path names the destination)."""

    SourceBucket: str = Field(description="Bucket of the object to copy.")
    SourceKey: str = Field(description="Key of the object to copy.")


class ObjectIdentifier(BaseModel):
    Key: str = Field(description="Key of an object.")


class DeleteObjectsRequest(BaseModel):
    """S3's DeleteObjects body: ``{"Objects": [{"Key": ...}, ...]}``."""

    Objects: list[ObjectIdentifier] = Field(description="The objects to delete.")


# Buckets.


@router.get("/buckets")
def list_buckets(services: ServicesDep) -> dict[str, Any]:
    return {"Buckets": [_bucket_json(info) for info in services.store.list_buckets()]}


@router.put("/buckets/{bucket}")
def create_bucket(bucket: str, services: ServicesDep, exist_ok: bool = False) -> dict[str, Any]:
    info = services.store.create_bucket(bucket, exist_ok=exist_ok)
    return {**_bucket_json(info), "Location": f"/{info.name}"}


@router.delete("/buckets/{bucket}", status_code=204)
def delete_bucket(bucket: str, services: ServicesDep, force: bool = False) -> Response:
    services.store.delete_bucket(bucket, force=force)
    return Response(status_code=204)


@router.get("/buckets/{bucket}/objects")
def list_objects(
    bucket: str,
    services: ServicesDep,
    prefix: str = "",
    delimiter: str | None = None,
    max_keys: int = 1000,
    continuation_token: str | None = None,
) -> dict[str, Any]:
    """ListObjectsV2: one page of keys and common prefixes."""
    page = services.store.list_objects(
        bucket,
        prefix,
        delimiter=delimiter,
        max_keys=max_keys,
        continuation_token=continuation_token,
    )
    body: dict[str, Any] = {
        "Name": bucket,
        "Prefix": prefix,
        "MaxKeys": max_keys,
        "KeyCount": len(page.objects) + len(page.common_prefixes),
        "IsTruncated": page.next_token is not None,
        "Contents": [_object_json(info) for info in page.objects],
        "CommonPrefixes": [{"Prefix": p} for p in page.common_prefixes],
    }
    if delimiter:
        body["Delimiter"] = delimiter
    if continuation_token:
        body["ContinuationToken"] = continuation_token
    if page.next_token is not None:
        body["NextContinuationToken"] = page.next_token
    return body


@router.post("/buckets/{bucket}/delete-objects")
def delete_objects(
    bucket: str, request: DeleteObjectsRequest, services: ServicesDep
) -> dict[str, Any]:
    """DeleteObjects: every key is validated before the first is deleted."""
    keys = [item.Key for item in request.Objects]
    services.store.delete_objects(bucket, keys)
    return {"Deleted": [{"Key": key} for key in keys]}


# Objects.


@router.put(OBJECT_PATH)
async def put_object(bucket: str, key: str, request: Request, services: ServicesDep) -> Response:
    """PutObject: the request body streams into the store; metadata from x-amz-meta-*."""
    metadata = {
        name[len(METADATA_HEADER) :]: value
        for name, value in request.headers.items()
        if name.startswith(METADATA_HEADER)
    }
    body = cast(BinaryIO, _RequestBody(request.stream()))  # read() is all put_object uses
    put = functools.partial(
        services.store.put_object,
        bucket,
        key,
        body,
        content_type=request.headers.get("content-type"),
        metadata=metadata,
    )
    info = await anyio.to_thread.run_sync(put)
    return JSONResponse(
        {"ETag": info.etag, "Key": info.key, "Size": info.size, "Sha256": info.sha256},
        headers=_object_headers(info, content=False),
    )


@router.head(OBJECT_PATH)
def head_object(bucket: str, key: str, services: ServicesDep) -> Response:
    info = services.store.head_object(bucket, key)
    return Response(status_code=200, headers=_object_headers(info))


@router.get(OBJECT_PATH)
def get_object(bucket: str, key: str, services: ServicesDep) -> StreamingResponse:
    """GetObject: the bytes stream out with ETag, length, type and sha256 headers."""
    info, stream = services.store.open_object_with_info(bucket, key)
    return StreamingResponse(
        _chunks(stream),
        media_type=info.content_type,
        headers=_object_headers(info),
        background=BackgroundTask(stream.close),
    )


@router.delete(OBJECT_PATH, status_code=204)
def delete_object(bucket: str, key: str, services: ServicesDep) -> Response:
    services.store.delete_object(bucket, key)
    return Response(status_code=204)


@router.post(OBJECT_PATH + "/copy")
def copy_object(
    bucket: str, key: str, request: CopyObjectRequest, services: ServicesDep
) -> dict[str, Any]:
    info = services.store.copy_object(request.SourceBucket, request.SourceKey, bucket, key)
    return {
        "CopyObjectResult": {"ETag": info.etag, "LastModified": _iso(info.last_modified)},
        "Key": info.key,
        "Size": info.size,
    }


# Shapes.


class _RequestBody:
    """The request body as a blocking ``read(size)`` stream for the store's worker thread."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._done = True
            else:
                self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    async def _next(self) -> bytes | None:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(CHUNK_BYTES):
            yield chunk
    finally:
        stream.close()


def _object_headers(info: ObjectInfo, *, content: bool = True) -> dict[str, str]:
    headers = {"ETag": info.etag}
    if content:
        headers.update(
            {
                "Content-Length": str(info.size),
                "Content-Type": info.content_type,
                "Last-Modified": format_datetime(info.last_modified, usegmt=True),
            }
        )
    if info.sha256:
        headers[METADATA_HEADER + SHA256_METADATA_KEY] = info.sha256
    for name, value in info.metadata.items():
        headers[METADATA_HEADER + name] = value
    return headers


def _object_json(info: ObjectInfo) -> dict[str, Any]:
    return {
        "Key": info.key,
        "Size": info.size,
        "ETag": info.etag,
        "LastModified": _iso(info.last_modified),
    }


def _bucket_json(info: BucketInfo) -> dict[str, Any]:
    return {"Name": info.name, "CreationDate": _iso(info.created_at)}


def _iso(moment: datetime) -> str:
    return moment.isoformat()
