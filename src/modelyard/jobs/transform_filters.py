"""Batch transform's data processing: SageMaker's JSONPath subset, CSV column selection, join.

``DataProcessing`` applies to CSV and JSON (one document, or JSON Lines) records only.
The JSONPath operators are SageMaker's documented subset:

==================  ==================================================================
``$``               the whole record
``.name``           a child of an object (``$.features``)
``*``               every child (``$.id.*``, ``$[*]``): a list
``['a','b']``       one child, or an object of several (``$['id','SageMakerOutput']``)
``[1]``, ``[1,3]``  one item (negative counts from the end), or a list of several
``[2:5]``           a slice, **inclusive of its end** as SageMaker documents it
                    (``$[1:4]`` is the second through fifth columns); either bound
                    may be left out; mixed with indexes as ``$[0,5:]``, one slice at most
==================  ==================================================================

Steps chain (``$.a.b[0]``) but a step that selects several values must be the last
one, as in SageMaker (``$.a['b','c']`` yes, ``$['a','b'].c`` no). Recursive descent
(``..``) and filter expressions (``?()``) are not part of the subset and are refused.

A CSV record is its parsed row (RFC 4180) taken as a JSON array, so only index paths
apply to it, and the result is always a row (``$[0]`` gives a one-column row).

Joining (``JoinSource=Input``): a CSV row gets the answer's columns appended; a JSON
object gets a ``SageMakerOutput`` key; any other JSON value is wrapped as
``{"SageMakerInput": ..., "SageMakerOutput": ...}``. Where the answer and the input
differ in format: a CSV answer row joined into JSON is a value (numbers parsed, one
column a scalar, several a list); a JSON answer joined into CSV becomes columns (a
list's items, or the value itself; objects as JSON text).

Choices where SageMaker's documentation is silent: a path step that does not apply
(a missing key, an index past the end, a name on a list) is an error naming the
record rather than a silent null; slice bounds past the end are clamped; JSON is
written compactly (``{"a":1}``), CSV with minimal quoting.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from modelyard.errors import ValidationError
from modelyard.formats.content_types import normalize_content_type

__all__ = [
    "JsonPath",
    "PathMismatchError",
    "compile_json_path",
    "join_record",
    "record_format",
    "select_csv_columns",
]

CSV = "csv"
JSON = "json"
JSON_LINES = "jsonlines"
MAX_PATH_CHARS = 63

_FORMATS = {
    "text/csv": CSV,
    "application/csv": CSV,
    "text/x-csv": CSV,
    "application/json": JSON,
    "text/json": JSON,
    "application/jsonlines": JSON_LINES,
    "application/x-jsonlines": JSON_LINES,
    "application/jsonl": JSON_LINES,
    "application/x-ndjson": JSON_LINES,
    "application/ndjson": JSON_LINES,
}
_NAME = re.compile(r"[^.\[\]'\"*\s]+")
_QUOTED = re.compile(r"\s*(?:'([^']*)'|\"([^\"]*)\")\s*")
_INDEX = re.compile(r"\s*(-?\d+)\s*")
_SLICE = re.compile(r"\s*(-?\d+)?\s*:\s*(-?\d+)?\s*")


def record_format(content_type: str | None) -> str | None:
    """``csv``, ``json`` or ``jsonlines`` for a MIME type data processing understands, else None."""
    if not content_type:
        return None
    return _FORMATS.get(normalize_content_type(content_type))


class PathMismatchError(ValueError):
    """A JSONPath that does not apply to one record (the caller names the record).

    ``index`` is the record's position in the list given, when a list was given.
    """

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class _Step:
    kind: str  # "key" | "keys" | "wildcard" | "indexes"
    names: tuple[str, ...] = ()
    indexes: tuple[int, ...] = ()
    slice_bounds: tuple[int | None, int | None] | None = None

    @property
    def selects_many(self) -> bool:
        if self.kind == "keys":
            return len(self.names) > 1
        if self.kind == "indexes":
            return len(self.indexes) != 1 or self.slice_bounds is not None
        return self.kind == "wildcard"


@dataclass(frozen=True)
class JsonPath:
    """A compiled JSONPath of SageMaker's subset."""

    text: str
    steps: tuple[_Step, ...]

    @property
    def is_identity(self) -> bool:
        return not self.steps

    @property
    def index_only(self) -> bool:
        """Whether the path applies to a CSV row: ``$`` or one index, slice or ``*`` step."""
        return len(self.steps) <= 1 and all(s.kind in ("indexes", "wildcard") for s in self.steps)

    def apply(self, value: Any) -> Any:
        """Select from a JSON value; raises ``PathMismatchError`` saying which step failed."""
        for step in self.steps:
            value = _apply_step(step, value, self.text)
        return value

    @property
    def dropped_leading_columns(self) -> int | None:
        """``k`` for ``$[k:]`` (every column from the k-th on, k >= 0), else None."""
        if len(self.steps) != 1:
            return None
        step = self.steps[0]
        if step.kind != "indexes" or step.indexes or step.slice_bounds is None:
            return None
        start, end = step.slice_bounds
        if end is not None or (start is not None and start < 0):
            return None
        return start or 0

    def positions(self, size: int) -> Sequence[int]:
        """The columns an ``index_only`` path selects from a row of ``size`` columns."""
        if not self.index_only:
            raise PathMismatchError(
                f"{self.text}: a CSV row takes index paths only, such as $[0], $[1:] or $[0,-1]"
            )
        if not self.steps or self.steps[0].kind == "wildcard":
            return range(size)
        return _positions(self.steps[0], size, self.text)

    def apply_row(self, row: list[str]) -> list[str]:
        """Select columns of a CSV row (``index_only`` paths); the result is always a row."""
        return [row[i] for i in self.positions(len(row))]


def compile_json_path(text: str, *, field: str) -> JsonPath:
    """Parse ``text``; a ``ValidationError`` on ``field`` says what is wrong and what works."""
    examples = "e.g. $, $.features, $[1:], $[0,5:], $['id','SageMakerOutput']"

    def bad(problem: str) -> ValidationError:
        return ValidationError(f"{field} {text!r}: {problem} ({examples})", field=field)

    if len(text) > MAX_PATH_CHARS:
        raise bad(f"longer than SageMaker's {MAX_PATH_CHARS} characters")
    if not text.startswith("$"):
        raise bad("a JSONPath starts with $")
    steps: list[_Step] = []
    position = 1
    while position < len(text):
        if steps and steps[-1].selects_many:
            raise bad("a step that selects several values must be the last one")
        rest = text[position:]
        if rest.startswith(".."):
            raise bad("recursive descent (..) is not supported")
        if rest.startswith(".["):
            position += 1
            continue
        if rest.startswith(".*") or rest.startswith("[*]"):
            steps.append(_Step("wildcard"))
            position += 2 if rest.startswith(".*") else 3
            continue
        if rest.startswith("."):
            name = _NAME.match(text, position + 1)
            if name is None:
                raise bad(f"expected a name after '.' at character {position + 1}")
            steps.append(_Step("key", names=(name.group(),)))
            position = name.end()
            continue
        if rest.startswith("["):
            close = _closing_bracket(text, position)
            if close < 0:
                raise bad(f"'[' at character {position} is not closed")
            steps.append(_bracket(text[position + 1 : close], bad))
            position = close + 1
            continue
        raise bad(f"unexpected {rest[0]!r} at character {position}")
    return JsonPath(text, tuple(steps))


def _closing_bracket(text: str, start: int) -> int:
    quote = ""
    for index in range(start + 1, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "]":
            return index
    return -1


def _bracket(inside: str, bad: Any) -> _Step:
    if inside.strip().startswith("?") or inside.strip().startswith("("):
        raise bad("filter and script expressions are not supported")
    parts = _split_commas(inside)
    if all(_QUOTED.fullmatch(part) for part in parts):
        names = []
        for part in parts:
            match = _QUOTED.fullmatch(part)
            assert match is not None
            names.append(match.group(1) if match.group(1) is not None else match.group(2))
        return _Step("keys", names=tuple(names))
    indexes: list[int] = []
    bounds: tuple[int | None, int | None] | None = None
    for part in parts:
        index = _INDEX.fullmatch(part)
        if index is not None:
            indexes.append(int(index.group(1)))
            continue
        piece = _SLICE.fullmatch(part)
        if piece is None:
            raise bad(f"[{inside}] is neither quoted names nor indexes and slices")
        if bounds is not None:
            raise bad("only one slice may be given in a bracket, as in $[0,5:]")
        start, end = piece.group(1), piece.group(2)
        bounds = (None if start is None else int(start), None if end is None else int(end))
    return _Step("indexes", indexes=tuple(indexes), slice_bounds=bounds)


def _split_commas(inside: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in inside:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _positions(step: _Step, size: int, path: str) -> tuple[int, ...]:
    try:
        return _cached_positions(step, size)
    except IndexError as exc:
        raise PathMismatchError(f"{path}: index {exc.args[0]} is outside a list of {size}") from exc


@lru_cache(maxsize=256)
def _cached_positions(step: _Step, size: int) -> tuple[int, ...]:
    """The items a step selects from a list of ``size`` (rows of a file share a few sizes)."""
    positions: list[int] = []
    for index in step.indexes:
        actual = index + size if index < 0 else index
        if not 0 <= actual < size:
            raise IndexError(index)
        positions.append(actual)
    if step.slice_bounds is not None:
        start, end = step.slice_bounds
        first = 0 if start is None else (start + size if start < 0 else start)
        last = size - 1 if end is None else (end + size if end < 0 else end)
        positions.extend(range(max(first, 0), min(last, size - 1) + 1))
    return tuple(positions)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__} ({json.dumps(value)[:40]})"


def _apply_step(step: _Step, value: Any, path: str) -> Any:
    if step.kind in ("key", "keys"):
        if not isinstance(value, dict):
            raise PathMismatchError(f"{path}: key {step.names[0]!r} asked of {_describe(value)}")
        missing = [name for name in step.names if name not in value]
        if missing:
            raise PathMismatchError(f"{path}: the object has no key {missing[0]!r}")
        if len(step.names) == 1:
            return value[step.names[0]]
        return {name: value[name] for name in step.names}
    if step.kind == "wildcard":
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return value
        raise PathMismatchError(f"{path}: '*' asked of {_describe(value)}")
    if not isinstance(value, list):
        raise PathMismatchError(f"{path}: an index asked of {_describe(value)}")
    positions = _positions(step, len(value), path)
    if not step.selects_many:
        return value[positions[0]]
    return [value[i] for i in positions]


def parse_csv_lines(lines: Sequence[str]) -> list[list[str]]:
    """Rows of CSV lines (one record a line: SageMaker forbids embedded newlines)."""
    return list(csv.reader(lines))


def render_csv_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    """One CSV line (without terminator) per row, minimally quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    text = buffer.getvalue()
    return text[:-1].split("\n") if text else [""] * len(rows)


def select_csv_columns(lines: Sequence[bytes], path: JsonPath) -> list[bytes]:
    """The columns ``path`` selects from each CSV line (bytes in, bytes out).

    Lines without a quote are split on commas as bytes, which is what the CSV module
    would do at a fraction of the cost; lines with quotes go through the CSV module.
    Raises ``PathMismatchError`` with the ``index`` of the first line it does not fit.
    """
    if path.is_identity:
        return list(lines)
    selected: list[bytes] = []
    for index, line in enumerate(lines):
        try:
            if b'"' in line:
                row = next(csv.reader([line.decode()]), [])
                selected.append(render_csv_rows([path.apply_row(row)])[0].encode())
            else:
                fields = line.split(b",")
                selected.append(b",".join([fields[i] for i in path.positions(len(fields))]))
        except PathMismatchError as exc:
            raise PathMismatchError(str(exc), index) from exc
        except UnicodeDecodeError as exc:
            raise PathMismatchError(f"not UTF-8 text at byte {exc.start}", index) from exc
    return selected


@lru_cache(maxsize=16)
def _leading_columns(count: int) -> re.Pattern[bytes]:
    return re.compile(rb"^(?:[^,\n]*,){%d}" % count, re.MULTILINE)


def select_csv_payload(payload: bytes, path: JsonPath, count: int) -> bytes | None:
    """``$[k:]`` over a whole payload of ``count`` lines at once, or None where it cannot be.

    The documented use of the input filter is dropping leading ID columns; for lines
    without quotes that is one regular-expression pass over the batch. None when a
    line has fewer columns (or quotes), or for any other path: then go line by line.
    """
    dropped = path.dropped_leading_columns
    if dropped is None or b'"' in payload:
        return None
    if dropped == 0:
        return payload
    selected, replaced = _leading_columns(dropped).subn(b"", payload)
    return selected if replaced == count else None


def render_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def csv_row_to_json(row: Sequence[str]) -> Any:
    """A CSV answer row as a JSON value: numbers parsed, one column a scalar."""
    values: list[Any] = []
    for cell in row:
        try:
            values.append(
                json.loads(cell) if cell and (cell[0].isdigit() or cell[0] in "-.") else cell
            )
        except ValueError:
            values.append(cell)
    return values[0] if len(values) == 1 else values


def json_to_csv_row(value: Any) -> list[str]:
    """A JSON answer as CSV columns: a list's items, or the value itself."""
    items = value if isinstance(value, list) else [value]
    return [item if isinstance(item, str) else render_json(item) for item in items]


def join_record(input_value: Any, output_value: Any) -> Any:
    """SageMaker's JSON join: the answer under ``SageMakerOutput``, beside the input."""
    if isinstance(input_value, dict):
        return {**input_value, "SageMakerOutput": output_value}
    return {"SageMakerInput": input_value, "SageMakerOutput": output_value}
