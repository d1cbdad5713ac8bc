"""JSON (``application/json``) and JSON Lines (``application/jsonlines``).

NumPy arrays and scalars are written as lists and numbers; JSON Lines is one
JSON value per line, blank lines ignored on reading. Errors name the line and
the byte offset where parsing failed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from modelyard.formats.errors import FormatError

__all__ = [
    "JSONLINES_CONTENT_TYPE",
    "JSON_CONTENT_TYPE",
    "read_json",
    "read_jsonlines",
    "to_builtin",
    "write_json",
    "write_jsonlines",
]

JSON_CONTENT_TYPE = "application/json"
JSONLINES_CONTENT_TYPE = "application/jsonlines"


def to_builtin(value: Any) -> Any:
    """``json.dumps`` ``default=`` hook: NumPy arrays and scalars, pandas objects, bytes."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "to_dict") and hasattr(value, "columns"):
        return value.to_dict(orient="list")
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(body: bytes | bytearray | memoryview | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("JSON body is not valid UTF-8", offset=exc.start) from exc


def read_json(body: bytes | bytearray | memoryview | str) -> Any:
    text = _text(body)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"invalid JSON: {exc.msg}", offset=len(text[: exc.pos].encode()), field="body"
        ) from exc


def write_json(data: Any) -> bytes:
    return json.dumps(data, default=to_builtin, separators=(",", ":")).encode()


def read_jsonlines(body: bytes | bytearray | memoryview | str) -> list[Any]:
    text = _text(body)
    decoder = json.JSONDecoder()
    items: list[Any] = []
    offset = 0
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if stripped:
            try:
                items.append(decoder.decode(stripped))
            except json.JSONDecodeError as exc:
                raise FormatError(
                    f"invalid JSON on line {number}: {exc.msg}",
                    offset=offset
                    + len(line[: exc.pos + (len(line) - len(line.lstrip()))].encode()),
                    field=f"line {number}",
                ) from exc
        offset += len(line.encode())
    return items


def write_jsonlines(items: Iterable[Any]) -> bytes:
    """One JSON value per line (a 2-D array: one row per line), newline-terminated."""
    if isinstance(items, np.ndarray) and items.ndim == 0:
        items = [items.item()]
    lines = [json.dumps(item, default=to_builtin, separators=(",", ":")) for item in items]
    return "".join(line + "\n" for line in lines).encode()
