"""``s3://bucket/key`` URIs, and the rules a bucket name and a key must follow.

Every store backend calls :func:`validate_bucket_name` and :func:`validate_key`
at each entry point, so an API request can never name a file outside its
bucket, whatever the backend does with the key afterwards. The rules are S3's
for bucket names; for keys they are stricter than S3 so that every accepted key
is also a safe relative path on a filesystem:

* not empty, at most 1024 UTF-8 bytes (S3's limit), valid UTF-8;
* no control characters (NUL included) and no backslash;
* no leading ``/``, no empty segment (``a//b``) and no trailing ``/``
  (a "folder marker" cannot be a file);
* no ``.`` or ``..`` segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.errors import InvalidKeyError, InvalidNameError, ValidationError

SCHEME = "s3://"
MAX_KEY_BYTES = 1024

_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_LIKE = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_FORBIDDEN_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_FORBIDDEN_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class S3Uri:
    """A parsed ``s3://bucket/key``; ``key`` may be empty (the whole bucket) or a prefix."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    def child(self, *parts: str) -> S3Uri:
        """The URI of ``parts`` below this one, joined with single slashes."""
        return S3Uri(self.bucket, _join_keys(self.key, *parts))

    @property
    def name(self) -> str:
        """The last segment of the key (``""`` for a bucket or a prefix ending in ``/``)."""
        return self.key.rsplit("/", 1)[-1]


def parse_s3_uri(uri: str | S3Uri, *, field: str = "S3Uri") -> S3Uri:
    """Split ``s3://bucket/key`` into its bucket and key; the bucket name is validated.

    The key is returned as written (it may be empty or a prefix ending in
    ``/``); store operations validate it when it is used as a key.
    """
    if isinstance(uri, S3Uri):
        return uri
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise ValidationError(
            f"{field}={uri!r} is not an S3 URI: write it as s3://bucket/key", field=field
        )
    bucket, _, key = uri[len(SCHEME) :].partition("/")
    validate_bucket_name(bucket, field=field)
    return S3Uri(bucket, key)


def is_s3_uri(value: str) -> bool:
    return value.startswith(SCHEME)


def join(base: str | S3Uri, *parts: str) -> str:
    """Join key parts onto an S3 URI with single slashes, like sagemaker's ``s3_path_join``.

    >>> join("s3://bucket/data/", "train", "part-0.csv")
    's3://bucket/data/train/part-0.csv'
    """
    return str(parse_s3_uri(base).child(*parts))


def _join_keys(*parts: str) -> str:
    segments = [part.strip("/") for part in parts if part.strip("/")]
    joined = "/".join(segments)
    # Keep a trailing slash of the last part: it marks a prefix.
    if parts and parts[-1].endswith("/") and joined:
        joined += "/"
    return joined


def validate_bucket_name(bucket: object, *, field: str = "Bucket") -> str:
    """Return ``bucket`` if it follows S3's bucket naming rules, else raise InvalidNameError."""
    problem = _bucket_problem(bucket)
    if problem:
        raise InvalidNameError(
            f"{field}={bucket!r} is not a valid bucket name: {problem}. Use 3-63 lowercase "
            "letters, digits, dots and hyphens, starting and ending with a letter or digit",
            field=field,
        )
    assert isinstance(bucket, str)
    return bucket


def _bucket_problem(bucket: object) -> str | None:
    if not isinstance(bucket, str):
        return "it is not a string"
    if not 3 <= len(bucket) <= 63:
        return f"it has {len(bucket)} characters"
    if not _BUCKET_CHARS.fullmatch(bucket):
        return "it holds characters other than a-z, 0-9, '.' and '-' or does not start/end alnum"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "it has a dot next to another dot or a hyphen"
    if _IP_LIKE.fullmatch(bucket):
        return "it looks like an IP address"
    if bucket.startswith(_FORBIDDEN_BUCKET_PREFIXES) or bucket.endswith(_FORBIDDEN_BUCKET_SUFFIXES):
        return "it uses a prefix or suffix S3 reserves"
    return None


def validate_key(key: object, *, field: str = "Key") -> str:
    """Return ``key`` if it names an object inside its bucket, else raise InvalidKeyError."""
    problem = _key_problem(key)
    if problem:
        raise InvalidKeyError(f"{field}={key!r} is refused: {problem}", field=field)
    assert isinstance(key, str)
    return key


def validate_prefix(prefix: object, *, field: str = "Prefix") -> str:
    """Return a listing prefix if it is a valid key's beginning, else raise.

    A prefix may be empty and may end in ``/`` or in the middle of a segment
    (``data/par`` matches ``data/part-0``); the segments it completes follow the
    key rules.
    """
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"{field}={prefix!r} is not a string", field=field)
    complete = prefix.rpartition("/")[0]
    problem = _characters_problem(prefix)
    if problem is None and complete:
        problem = _key_problem(complete)
    if problem is None and prefix.startswith("/"):
        problem = "it starts with '/': keys are relative to their bucket, drop the leading slash"
    if problem:
        raise InvalidKeyError(f"{field}={prefix!r} is refused: {problem}", field=field)
    return prefix


def _characters_problem(text: str) -> str | None:
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return "it is not valid UTF-8 (it holds a lone surrogate)"
    if size > MAX_KEY_BYTES:
        return f"it is {size} bytes long in UTF-8; the limit is {MAX_KEY_BYTES}"
    control = _CONTROL.search(text)
    if control:
        return (
            f"it holds the control character {control.group()!r} at position "
            f"{control.start()}: remove it"
        )
    if "\\" in text:
        return "it holds a backslash: separate segments with '/'"
    return None


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return "it is not a string"
    if key == "":
        return "it is empty: name the object"
    problem = _characters_problem(key)
    if problem:
        return problem
    if key.startswith("/"):
        return "it starts with '/': keys are relative to their bucket, drop the leading slash"
    if key.endswith("/"):
        return "it ends with '/': name an object, not a folder"
    for segment in key.split("/"):
        if segment == "":
            return "it has an empty segment ('//'): use single slashes"
        if segment in (".", ".."):
            return f"it has a {segment!r} segment, which could escape the bucket: remove it"
    return None
