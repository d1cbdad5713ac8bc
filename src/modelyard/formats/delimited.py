"""CSV (``text/csv``): numeric matrices and string tables.

SageMaker's conventions: no header, one record per line, (for training) the
target in the first column. Encoding follows ``np.savetxt`` as the inference
toolkit does (a 1-D array is one value per line, each record of a batch
transform output on its own line); floats are written with Python's shortest
round-tripping ``repr``, so numbers survive a round trip exactly.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from modelyard.formats.errors import FormatError

__all__ = ["CONTENT_TYPE", "read_csv", "write_csv"]

CONTENT_TYPE = "text/csv"


def _text(body: bytes | bytearray | memoryview | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("CSV body is not valid UTF-8", offset=exc.start) from exc


def read_csv(
    body: bytes | bytearray | memoryview | str,
    *,
    dtype: DTypeLike | None = None,
    delimiter: str = ",",
) -> NDArray[Any]:
    """A 2-D array of the CSV rows: float64 (empty cells NaN) when every cell is a number,
    else strings. ``dtype`` forces a type. Ragged rows raise ``FormatError`` naming the line."""
    text = _text(body)
    if not text.strip():
        return np.zeros((0, 0), dtype=dtype or np.float64)
    if dtype is None or np.dtype(dtype).kind in "biuf":
        try:  # numbers: numpy's C parser
            return np.loadtxt(
                io.StringIO(text),
                delimiter=delimiter,
                dtype=dtype or np.float64,
                ndmin=2,
                comments=None,
            )
        except ValueError:
            pass
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise FormatError(
                f"CSV row {number} has {len(row)} columns, the first row has {width}",
                field=f"line {number}",
            )
    table = np.array(rows, dtype=str)
    if dtype is not None:
        try:
            return table.astype(dtype)
        except ValueError as exc:
            raise FormatError(f"CSV cells are not all {np.dtype(dtype)}: {exc}") from exc
    try:
        return np.where(np.char.strip(table) == "", "nan", table).astype(np.float64)
    except ValueError:
        return table


def _cell(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    return value


def write_csv(data: Any, *, delimiter: str = ",") -> bytes:
    """CSV of an array (1-D: one value per line), a list of rows, or a pandas DataFrame."""
    if hasattr(data, "to_csv") and hasattr(data, "columns"):
        return str(data.to_csv(header=False, index=False, lineterminator="\n")).encode()
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            data = data.reshape(1, 1)
        elif data.ndim == 1:
            data = data.reshape(-1, 1)
        elif data.ndim > 2:
            raise FormatError(f"CSV holds 1-D or 2-D arrays, got shape {data.shape}", field="data")
        rows: Iterable[Any] = data.tolist()
    elif isinstance(data, (list, tuple)):
        rows = [row if isinstance(row, (list, tuple)) else [row] for row in data]
    else:
        raise FormatError(f"cannot write {type(data).__name__} as CSV", field="data")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue().encode()
