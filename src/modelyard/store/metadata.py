"""What a backend records beside an object's bytes: content type, user metadata, digests.

The rules are S3's, applied the same way by every backend so that an object
written through one backend reads back identically through another: user
metadata keys are lower-cased HTTP tokens, values printable ASCII, 2 KB in all;
``sha256`` is reserved (the store computes it while streaming).
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Mapping

from modelyard.errors import ValidationError

DEFAULT_CONTENT_TYPE = "application/octet-stream"
SHA256_METADATA_KEY = "sha256"
MAX_METADATA_BYTES = 2048

_METADATA_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_CONTENT_TYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")


def validate_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata with lower-cased keys, or ValidationError(field="Metadata")."""
    if not metadata:
        return {}
    cleaned: dict[str, str] = {}
    for raw_key, value in metadata.items():
        key = str(raw_key).lower()
        if not _METADATA_KEY.fullmatch(key):
            raise ValidationError(
                f"Metadata key {raw_key!r} is refused: use letters, digits, '.', '_' and '-', "
                "starting with a letter or digit",
                field="Metadata",
            )
        if key == SHA256_METADATA_KEY:
            raise ValidationError(
                "Metadata key 'sha256' is reserved: the store computes it while writing",
                field="Metadata",
            )
        if not isinstance(value, str) or not _PRINTABLE_ASCII.fullmatch(value):
            raise ValidationError(
                f"Metadata value of {raw_key!r} is refused: use printable ASCII text",
                field="Metadata",
            )
        cleaned[key] = value
    size = sum(len(k) + len(v) for k, v in cleaned.items())
    if size > MAX_METADATA_BYTES:
        raise ValidationError(
            f"Metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}: store less",
            field="Metadata",
        )
    return cleaned


def validate_content_type(content_type: str | None) -> str:
    """A printable-ASCII media type (default ``application/octet-stream``)."""
    if content_type is None or content_type == "":
        return DEFAULT_CONTENT_TYPE
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise ValidationError(
            f"ContentType={content_type!r} is refused: use a media type such as text/csv",
            field="ContentType",
        )
    return content_type


def guess_content_type(name: str) -> str:
    """The media type a file name suggests, for uploads that do not say."""
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


class Digests:
    """MD5 (S3's single-part ETag) and SHA-256 of a stream, updated chunk by chunk."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    @property
    def etag(self) -> str:
        """The hex MD5 in double quotes, as S3 writes a single-part ETag."""
        return f'"{self._md5.hexdigest()}"'

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()
