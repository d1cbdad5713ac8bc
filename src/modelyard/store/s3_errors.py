"""Errors of S3 calls, translated into :mod:`modelyard.errors` at the boundary.

s3fs turns botocore's ClientError into Python's OSError family and keeps the
original as ``__cause__``; the S3 error code is read from there.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any, BinaryIO

from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidNameError,
    ModelyardError,
    NoSuchBucketError,
    NoSuchKeyError,
    StoreError,
    ValidationError,
)


def translate_error(
    exc: BaseException,
    operation: str,
    bucket: str | None,
    key: str | None,
    *,
    endpoint: str | None,
    bucket_exists: Callable[[str], bool],
) -> ModelyardError:
    """The modelyard error for a failed S3 call (``bucket_exists`` tells a 404's cause)."""
    code, message = error_code(exc)
    where = f"{bucket}/{key}" if key else (bucket or "")
    if code == "NoSuchBucket" or (code in ("404", "NotFound") and key is None and bucket):
        return NoSuchBucketError(
            f"bucket {bucket!r} does not exist: create it first", field="Bucket"
        )
    if code in ("NoSuchKey", "404", "NotFound") or (
        code is None and isinstance(exc, FileNotFoundError)
    ):
        if bucket and key and not bucket_exists(bucket):
            return NoSuchBucketError(
                f"bucket {bucket!r} does not exist: create it first", field="Bucket"
            )
        return NoSuchKeyError(f"no object {key!r} in bucket {bucket!r}", field="Key")
    if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
        return bucket_already_exists(bucket or "")
    if code == "BucketNotEmpty":
        return ConflictError(
            f"bucket {bucket!r} is not empty (BucketNotEmpty): delete its objects first "
            "or pass force",
            field="Bucket",
        )
    if code == "InvalidBucketName":
        return InvalidNameError(f"S3 refuses bucket name {bucket!r}: {message}", field="Bucket")
    if code == "PreconditionFailed":
        return ConflictError(f"{where} changed during {operation}: retry", field="Key")
    if code == "InvalidArgument" and operation == "list_objects_v2":
        return ValidationError(
            "ContinuationToken is not one this store returned: pass NextContinuationToken "
            "of the previous page unchanged",
            field="ContinuationToken",
        )
    if code is None:
        return StoreError(
            f"S3 endpoint {endpoint or 'AWS'} failed during {operation} "
            f"on {where or 'the account'}: {exc}"
        )
    return StoreError(f"S3 {operation} on {where or 'the account'} failed: {code}: {message}")


class TranslatingReader(io.RawIOBase):
    """An s3fs file whose read errors come out as modelyard errors."""

    def __init__(
        self, inner: BinaryIO, translate: Callable[[BaseException], ModelyardError]
    ) -> None:
        super().__init__()
        self._inner = inner
        self._translate = translate

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._inner.read(-1 if size is None else size)
        except Exception as exc:
            raise self._translate(exc) from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._inner.close()
        super().close()


def error_code(exc: BaseException) -> tuple[str | None, str]:
    """The S3 error code and message of a botocore error, wherever s3fs put it."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and isinstance(response.get("Error"), dict):
            error = response["Error"]
            return str(error.get("Code")), str(error.get("Message", ""))
        seen = seen.__cause__ or seen.__context__
    return None, str(exc)


def bucket_already_exists(bucket: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"bucket {bucket!r} already exists: pick another name or reuse it", field="Bucket"
    )
