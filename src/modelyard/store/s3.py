"""The object store over any S3-compatible endpoint (AWS, MinIO, Ceph, moto), via s3fs.

s3fs owns the connection (its aiobotocore client and event-loop thread); this
module calls the S3 API through ``fs.call_s3`` so that listing pages, multipart
parts and copies are the real S3 operations, never a whole-bucket walk. Every
error leaving this module is a :mod:`modelyard.errors` one, raised ``from`` the
botocore/s3fs error it translates.

Puts stream: a body up to one chunk (``multipart_chunk_mb``) goes in one
PutObject; a longer one as a multipart upload, aborted if anything fails, so
the previous object stays intact. The SHA-256 is computed while streaming;
S3 wants user metadata before the bytes, so a multipart object gets its
``sha256`` by a server-side copy onto itself once complete, guarded by the
ETag it completed with (a later writer wins, as in S3).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from modelyard.config import Settings
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    ModelyardError,
    NoSuchBucketError,
    StoreError,
)
from modelyard.store.base import BucketInfo, ListPage, ObjectInfo, Store
from modelyard.store.local_listing import check_delimiter, check_max_keys
from modelyard.store.metadata import (
    DEFAULT_CONTENT_TYPE,
    SHA256_METADATA_KEY,
    validate_content_type,
    validate_metadata,
)
from modelyard.store.s3_errors import TranslatingReader, bucket_already_exists, translate_error
from modelyard.store.s3_multipart import StreamedParts, copy_ranges, multipart_upload, read_full
from modelyard.store.uri import validate_bucket_name, validate_key, validate_prefix

MIB = 1024 * 1024
MAX_SINGLE_COPY_BYTES = 5 * 1024 * MIB  # S3's CopyObject limit
DELETE_BATCH = 1000


class S3Store(Store):
    """Buckets and objects of one S3-compatible endpoint."""

    def __init__(
        self,
        endpoint_url: str | None = None,
        *,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str = "us-east-1",
        multipart_chunk_mb: int = 8,
    ) -> None:
        import s3fs  # imported here: the local store never needs it

        self.endpoint_url = endpoint_url
        self.region = region
        self.chunk_bytes = multipart_chunk_mb * MIB
        self._fs = s3fs.S3FileSystem(
            endpoint_url=endpoint_url,
            key=access_key_id,
            secret=secret_access_key,
            client_kwargs={"region_name": region},
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Store:
        secret = settings.s3_secret_access_key
        return cls(
            settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            region=settings.s3_region,
            multipart_chunk_mb=settings.multipart_chunk_mb,
        )

    def __repr__(self) -> str:
        return f"S3Store({self.endpoint_url!r})"

    def close(self) -> None:
        """Close the HTTP connections s3fs holds (it would at garbage collection, late)."""
        from fsspec.asyn import sync

        creator = getattr(self._fs, "_s3creator", None)
        if creator is None or getattr(self._fs, "_s3", None) is None:
            return
        with contextlib.suppress(Exception):
            sync(self._fs.loop, creator.__aexit__, None, None, None, timeout=5)
        self._fs._s3 = None

    # Buckets.

    def create_bucket(self, bucket: str, *, exist_ok: bool = False) -> BucketInfo:
        validate_bucket_name(bucket)
        # us-east-1 answers 200 to re-creating one's own bucket: look first.
        if self.bucket_exists(bucket):
            if exist_ok:
                return self._bucket_info(bucket)
            raise bucket_already_exists(bucket)
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._call("create_bucket", **kwargs)
        except AlreadyExistsError:
            if not exist_ok:
                raise
        return self._bucket_info(bucket)

    def delete_bucket(self, bucket: str, *, force: bool = False) -> None:
        validate_bucket_name(bucket)
        if force:
            self._empty_bucket(bucket)
        self._call("delete_bucket", Bucket=bucket)

    def list_buckets(self) -> list[BucketInfo]:
        response = self._call("list_buckets")
        found = [
            BucketInfo(item["Name"], _utc(item["CreationDate"]))
            for item in response.get("Buckets", [])
        ]
        return sorted(found, key=lambda info: info.name)

    def bucket_exists(self, bucket: str) -> bool:
        validate_bucket_name(bucket)
        try:
            self._call("head_bucket", Bucket=bucket)
        except NoSuchBucketError:
            return False
        return True

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
        validate_bucket_name(bucket)
        validate_key(key)
        content_type = validate_content_type(content_type)
        user_metadata = validate_metadata(metadata)
        stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        first = read_full(stream, self.chunk_bytes)
        if len(first) < self.chunk_bytes:
            sha256 = hashlib.sha256(first).hexdigest()
            response = self._call(
                "put_object",
                Bucket=bucket,
                Key=key,
                Body=first,
                ContentType=content_type,
                Metadata={**user_metadata, SHA256_METADATA_KEY: sha256},
            )
            return ObjectInfo(
                bucket=bucket,
                key=key,
                size=len(first),
                etag=response["ETag"],
                last_modified=datetime.now(UTC),
                content_type=content_type,
                sha256=sha256,
                metadata=user_metadata,
            )
        return self._put_multipart(bucket, key, first, stream, content_type, user_metadata)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        return self.open_object_with_info(bucket, key)[1]

    def open_object_with_info(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        info = self.head_object(bucket, key)
        try:
            # s3fs reads in ranges with If-Match on the ETag it saw: an overwrite
            # during the read fails the read instead of mixing two versions.
            stream: BinaryIO = self._fs.open(
                f"{bucket}/{key}", "rb", block_size=self.chunk_bytes, cache_type="readahead"
            )
        except Exception as exc:
            raise self._translate(exc, "GetObject", bucket, key) from exc
        return info, cast(
            BinaryIO,
            TranslatingReader(stream, lambda exc: self._translate(exc, "GetObject", bucket, key)),
        )

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        validate_bucket_name(bucket)
        validate_key(key)
        response = self._call("head_object", Bucket=bucket, Key=key)
        metadata = {k.lower(): v for k, v in response.get("Metadata", {}).items()}
        sha256 = metadata.pop(SHA256_METADATA_KEY, None)
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(response["ContentLength"]),
            etag=response["ETag"],
            last_modified=_utc(response["LastModified"]),
            content_type=response.get("ContentType") or DEFAULT_CONTENT_TYPE,
            sha256=sha256,
            metadata=metadata,
        )

    def list_objects(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        continuation_token: str | None = None,
    ) -> ListPage:
        validate_bucket_name(bucket)
        kwargs: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": validate_prefix(prefix),
            "MaxKeys": check_max_keys(max_keys),
        }
        delimiter = check_delimiter(delimiter)
        if delimiter:
            kwargs["Delimiter"] = delimiter
        if continuation_token:
            kwargs["ContinuationToken"] = continuation_token
        response = self._call("list_objects_v2", **kwargs)
        objects = [
            ObjectInfo(
                bucket=bucket,
                key=item["Key"],
                size=int(item["Size"]),
                etag=item.get("ETag", ""),
                last_modified=_utc(item["LastModified"]),
            )
            for item in response.get("Contents", [])
        ]
        prefixes = [item["Prefix"] for item in response.get("CommonPrefixes", [])]
        token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return ListPage(objects, prefixes, token)

    def delete_object(self, bucket: str, key: str) -> None:
        validate_bucket_name(bucket)
        validate_key(key)
        self._call("delete_object", Bucket=bucket, Key=key)

    def delete_objects(self, bucket: str, keys: Iterable[str]) -> None:
        validate_bucket_name(bucket)
        checked = [validate_key(key) for key in keys]
        self._delete_keys(bucket, checked)

    def copy_object(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str
    ) -> ObjectInfo:
        validate_bucket_name(dst_bucket)
        validate_key(dst_key, field="Key")
        source = self.head_object(src_bucket, src_key)
        metadata = dict(source.metadata)
        if source.sha256:
            metadata[SHA256_METADATA_KEY] = source.sha256
        etag, modified = self._server_copy(
            source, dst_bucket, dst_key, source.content_type, metadata
        )
        return ObjectInfo(
            bucket=dst_bucket,
            key=dst_key,
            size=source.size,
            etag=etag,
            last_modified=modified,
            content_type=source.content_type,
            sha256=source.sha256,
            metadata=source.metadata,
        )

    # Internals.

    def _put_multipart(
        self,
        bucket: str,
        key: str,
        first: bytes,
        stream: BinaryIO,
        content_type: str,
        user_metadata: dict[str, str],
    ) -> ObjectInfo:
        parts = StreamedParts(first, stream, self.chunk_bytes)
        completed = multipart_upload(
            self._call, bucket, key, parts, content_type=content_type, metadata=user_metadata
        )
        written = ObjectInfo(
            bucket=bucket,
            key=key,
            size=parts.size,
            etag=completed["ETag"],
            last_modified=datetime.now(UTC),
            content_type=content_type,
            metadata=user_metadata,
        )
        metadata = {**user_metadata, SHA256_METADATA_KEY: parts.sha256}
        try:
            etag, modified = self._server_copy(written, bucket, key, content_type, metadata)
        except ConflictError:
            return written  # replaced by a later writer meanwhile: theirs is the object now
        return replace(written, etag=etag, last_modified=modified, sha256=parts.sha256)

    def _server_copy(
        self,
        source: ObjectInfo,
        dst_bucket: str,
        dst_key: str,
        content_type: str,
        metadata: dict[str, str],
    ) -> tuple[str, datetime]:
        """Copy ``source`` (exactly the version with its ETag) to the destination."""
        copy_source = {"Bucket": source.bucket, "Key": source.key}
        if source.size <= MAX_SINGLE_COPY_BYTES:
            response = self._call(
                "copy_object",
                Bucket=dst_bucket,
                Key=dst_key,
                CopySource=copy_source,
                CopySourceIfMatch=source.etag,
                MetadataDirective="REPLACE",
                ContentType=content_type,
                Metadata=metadata,
            )
            result = response["CopyObjectResult"]
            return result["ETag"], _utc(result["LastModified"])
        ranges = copy_ranges(source.size, MAX_SINGLE_COPY_BYTES)
        parts = (
            {"CopySource": copy_source, "CopySourceRange": span, "CopySourceIfMatch": source.etag}
            for span in ranges
        )
        completed = multipart_upload(
            self._call,
            dst_bucket,
            dst_key,
            parts,
            content_type=content_type,
            metadata=metadata,
            operation="upload_part_copy",
        )
        return completed["ETag"], datetime.now(UTC)

    def _empty_bucket(self, bucket: str) -> None:
        token: str | None = None
        while True:
            page = self.list_objects(bucket, continuation_token=token)
            self._delete_keys(bucket, [info.key for info in page.objects])
            if page.next_token is None:
                break
            token = page.next_token
        uploads = self._call("list_multipart_uploads", Bucket=bucket)
        for upload in uploads.get("Uploads", []):
            with contextlib.suppress(ModelyardError):
                self._call(
                    "abort_multipart_upload",
                    Bucket=bucket,
                    Key=upload["Key"],
                    UploadId=upload["UploadId"],
                )

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = self._call(
                "delete_objects",
                Bucket=bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise StoreError(
                    f"S3 refused to delete {len(errors)} of {len(batch)} objects in {bucket!r}, "
                    f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )

    def _bucket_info(self, bucket: str) -> BucketInfo:
        for info in self.list_buckets():
            if info.name == bucket:
                return info
        return BucketInfo(bucket, datetime.now(UTC))

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One S3 API call; its errors come back as modelyard errors."""
        try:
            response: dict[str, Any] = self._fs.call_s3(operation, **kwargs)
        except Exception as exc:
            raise self._translate(exc, operation, kwargs.get("Bucket"), kwargs.get("Key")) from exc
        return response

    def _translate(
        self, exc: BaseException, operation: str, bucket: str | None, key: str | None
    ) -> ModelyardError:
        return translate_error(
            exc,
            operation,
            bucket,
            key,
            endpoint=self.endpoint_url,
            bucket_exists=self.bucket_exists,
        )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
