"""Listing a local store directory the way S3 lists a bucket.

Keys come out in UTF-8 byte order (for valid Unicode that is code-point order,
so plain ``str`` comparison), grouped into common prefixes under a delimiter,
in pages resumed by an opaque continuation token. The walk enters only the
directories the prefix can match and skips whole subtrees that sort before the
token, so a page costs what it returns, not the size of the bucket.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass

from modelyard.errors import ValidationError

MAX_KEYS_LIMIT = 1000


@dataclass(frozen=True)
class Resume:
    """Where a page starts: strictly after ``after`` (and past every key under it
    when it was a common prefix)."""

    after: str = ""
    after_is_prefix: bool = False

    def skips_key(self, key: str) -> bool:
        if not self.after:
            return False
        return key <= self.after or (self.after_is_prefix and key.startswith(self.after))

    def skips_tree(self, dir_prefix: str) -> bool:
        """True when every key starting with ``dir_prefix`` (ending in '/') is skipped."""
        if not self.after:
            return False
        if self.after_is_prefix and dir_prefix.startswith(self.after):
            return True
        return self.after > dir_prefix and not self.after.startswith(dir_prefix)


def encode_token(resume: Resume) -> str:
    raw = json.dumps({"a": resume.after, "p": resume.after_is_prefix}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> Resume:
    if not token:
        return Resume()
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return Resume(after=str(data["a"]), after_is_prefix=bool(data["p"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ValidationError(
            "ContinuationToken is not one this store returned: pass NextContinuationToken "
            "of the previous page unchanged",
            field="ContinuationToken",
        ) from exc


def check_max_keys(max_keys: int) -> int:
    if not isinstance(max_keys, int) or max_keys < 1:
        raise ValidationError(
            f"MaxKeys={max_keys!r} is refused: ask for 1 to {MAX_KEYS_LIMIT} keys per page",
            field="MaxKeys",
        )
    return min(max_keys, MAX_KEYS_LIMIT)


def check_delimiter(delimiter: str | None) -> str | None:
    if delimiter is None or delimiter == "":
        return None
    if not isinstance(delimiter, str) or any(ord(c) < 0x20 for c in delimiter):
        raise ValidationError(f"Delimiter={delimiter!r} is refused", field="Delimiter")
    return delimiter


@dataclass(frozen=True)
class Entry:
    """A key (``path`` set) or a directory that is a common prefix (``path`` the dir)."""

    key: str
    path: str
    is_prefix: bool


def is_listable_name(name: str) -> bool:
    """A file name that can be one segment of a key (files made by hand may not be)."""
    if name in (".", "..") or "\\" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def walk(
    directory: str, base: str, prefix: str, resume: Resume, *, group_dirs: bool
) -> Iterator[Entry]:
    """Regular files under ``directory`` (whose keys start with ``base``) in key order.

    With ``group_dirs`` (delimiter ``/``) a directory whose key extends past
    ``prefix`` is yielded as a common prefix instead of being entered.
    Symbolic links are never objects and are not followed.
    """
    try:
        with os.scandir(directory) as scan:
            found = []
            for entry in scan:
                if not is_listable_name(entry.name) or entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    found.append((f"{base}{entry.name}/", entry.path, True))
                elif entry.is_file(follow_symlinks=False):
                    found.append((f"{base}{entry.name}", entry.path, False))
    except (FileNotFoundError, NotADirectoryError):
        return
    found.sort()
    for key, path, is_dir in found:
        if not is_dir:
            if key.startswith(prefix) and not resume.skips_key(key):
                yield Entry(key, path, is_prefix=False)
            continue
        if not (key.startswith(prefix) or prefix.startswith(key)) or resume.skips_tree(key):
            continue
        if group_dirs and key.startswith(prefix) and len(key) > len(prefix):
            if not resume.skips_key(key) and has_files(path):
                yield Entry(key, path, is_prefix=True)
            continue
        yield from walk(path, key, prefix, resume, group_dirs=group_dirs)


def has_files(directory: str) -> bool:
    """Whether a directory holds at least one object (empty directories are not prefixes)."""
    for _ in walk(directory, "", "", Resume(), group_dirs=False):
        return True
    return False


def group(entries: Iterator[Entry], prefix: str, delimiter: str | None) -> Iterator[Entry]:
    """Fold keys sharing ``prefix + ... + delimiter`` into one common prefix, as S3 does.

    Directories already arrive folded when the delimiter is ``/``; keys sharing
    a prefix are contiguous in key order, so remembering the last one is enough.
    """
    last_prefix: str | None = None
    for entry in entries:
        if entry.is_prefix or delimiter is None:
            yield entry
            continue
        found = entry.key.find(delimiter, len(prefix))
        if found < 0:
            yield entry
            continue
        common = entry.key[: found + len(delimiter)]
        if common != last_prefix:
            last_prefix = common
            yield Entry(common, "", is_prefix=True)
