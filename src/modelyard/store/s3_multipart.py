"""S3 multipart uploads: the parts of a stream, or the ranges of a server-side copy.

A multipart upload is created, fed part by part and completed; if anything
fails it is aborted, so S3 never makes the object visible and the previous
version stays intact.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

S3Call = Callable[..., dict[str, Any]]

PARTS_PER_SIZE_STEP = 1000  # part size doubles every 1000 parts: S3 allows 10,000


def multipart_upload(
    call: S3Call,
    bucket: str,
    key: str,
    parts: Iterable[dict[str, Any]],
    *,
    content_type: str,
    metadata: dict[str, str],
    operation: str = "upload_part",
) -> dict[str, Any]:
    """Create, fill (``operation`` once per item of ``parts``) and complete an upload.

    Returns CompleteMultipartUpload's answer; aborts the upload on any failure.
    """
    created = call(
        "create_multipart_upload",
        Bucket=bucket,
        Key=key,
        ContentType=content_type,
        Metadata=metadata,
    )
    upload_id = created["UploadId"]
    try:
        done: list[dict[str, Any]] = []
        for number, part in enumerate(parts, 1):
            answer = call(
                operation, Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, **part
            )
            etag = answer["ETag"] if "ETag" in answer else answer["CopyPartResult"]["ETag"]
            done.append({"PartNumber": number, "ETag": etag})
        return call(
            "complete_multipart_upload",
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": done},
        )
    except BaseException:
        with contextlib.suppress(Exception):
            call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
        raise


class StreamedParts:
    """The ``Body`` of each part of a stream, hashed (SHA-256) and counted on the way.

    Parts are ``part_bytes`` long (doubling every 1000 parts, so a stream of
    unknown length fits in S3's 10,000 parts); the last may be shorter.
    """

    def __init__(self, first: bytes, stream: BinaryIO, part_bytes: int) -> None:
        self._first = first
        self._stream = stream
        self._part_bytes = part_bytes
        self._sha256 = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        chunk = self._first
        number = 1
        while chunk:
            self._sha256.update(chunk)
            self.size += len(chunk)
            yield {"Body": chunk}
            chunk = read_full(self._stream, self._part_bytes << (number // PARTS_PER_SIZE_STEP))
            number += 1

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()


def copy_ranges(size: int, step: int) -> Iterator[str]:
    """``bytes=start-end`` ranges covering ``size`` bytes in steps of ``step``."""
    for start in range(0, size, step):
        yield f"bytes={start}-{min(start + step, size) - 1}"


def read_full(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at the end of the stream."""
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0:
        chunk = stream.read(wanted)
        if not chunk:
            break
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)
