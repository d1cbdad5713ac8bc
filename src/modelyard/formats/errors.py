"""Errors of ``modelyard.formats``.

``formats`` runs inside framework images too, where ``modelyard.errors`` (and
pydantic) may be absent, so it keeps its own small tree. Every error is a
``ValueError`` (bad input), carries the byte ``offset`` and/or the ``field`` to
blame when one is known, and says so in its message. The server layer maps
``FormatError`` to HTTP 400 and ``UnsupportedContentTypeError`` to HTTP 415.

    ValueError
    └── FormatError                     malformed input (offset, field)
        ├── RecordIOError               bad RecordIO framing: magic, length, truncation
        ├── ProtobufError               a malformed or unexpected aialgs.data.Record
        └── UnsupportedContentTypeError no codec for a MIME type (lists the supported ones)
    ImportError
    └── MissingDependencyError          an optional package (scipy, pandas, pyarrow) is needed
"""

from __future__ import annotations

import importlib
from types import ModuleType


class FormatError(ValueError):
    """Input that cannot be decoded (or data that cannot be encoded) in a format."""

    def __init__(self, message: str, *, offset: int | None = None, field: str | None = None):
        details = []
        if offset is not None:
            details.append(f"byte offset {offset}")
        if field is not None:
            details.append(f"field {field}")
        full = f"{message} ({', '.join(details)})" if details else message
        super().__init__(full)
        self.message = message
        self.offset = offset
        self.field = field


class RecordIOError(FormatError):
    """Malformed RecordIO framing: bad magic number, bad flag, truncated record."""


class ProtobufError(FormatError):
    """A RecordIO-protobuf payload that is not a valid ``aialgs.data.Record``."""


class UnsupportedContentTypeError(FormatError):
    """No codec is registered for a content type (HTTP 415)."""

    def __init__(self, content_type: str, supported: tuple[str, ...]):
        super().__init__(
            f"unsupported content type {content_type!r}; supported: {', '.join(supported)}",
            field="ContentType",
        )
        self.content_type = content_type
        self.supported = supported


class MissingDependencyError(ImportError):
    """An optional package needed by one format is not installed."""


def import_optional(module: str, purpose: str) -> ModuleType:
    """Import ``module`` lazily, or say which package ``purpose`` needs."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise MissingDependencyError(
            f"{purpose} needs the {package!r} package: pip install {package}"
        ) from exc
