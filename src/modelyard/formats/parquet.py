"""Parquet (``application/x-parquet``) and Arrow IPC streams: the columnar formats.

pyarrow (and pandas, for DataFrames) are imported only when these functions
run, so images without them still import ``modelyard.formats``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from modelyard.formats.errors import FormatError, import_optional

__all__ = [
    "ARROW_CONTENT_TYPE",
    "CONTENT_TYPE",
    "read_arrow",
    "read_parquet",
    "read_parquet_table",
    "to_table",
    "write_arrow",
    "write_parquet",
]

CONTENT_TYPE = "application/x-parquet"
ARROW_CONTENT_TYPE = "application/vnd.apache.arrow.stream"


def to_table(data: Any) -> Any:
    """A ``pyarrow.Table`` from a Table, a pandas DataFrame, a dict of columns or a 2-D
    array (columns named ``"0"``, ``"1"``, ...)."""
    pa = import_optional("pyarrow", "Parquet/Arrow")
    if isinstance(data, pa.Table):
        return data
    if hasattr(data, "columns") and hasattr(data, "to_numpy"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, dict):
        return pa.table({str(k): np.asarray(v) for k, v in data.items()})
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise FormatError(f"a table needs a 2-D array, got shape {array.shape}", field="data")
    return pa.table({str(i): array[:, i] for i in range(array.shape[1])})


def write_parquet(data: Any, *, compression: str = "snappy") -> bytes:
    parquet = import_optional("pyarrow.parquet", "Parquet")
    sink = io.BytesIO()
    parquet.write_table(to_table(data), sink, compression=compression)
    return sink.getvalue()


def read_parquet_table(body: bytes | bytearray | memoryview) -> Any:
    parquet = import_optional("pyarrow.parquet", "Parquet")
    pa = import_optional("pyarrow", "Parquet")
    try:
        return parquet.read_table(pa.BufferReader(bytes(body)))
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"not a valid Parquet body: {exc}", field="body") from exc


def read_parquet(body: bytes | bytearray | memoryview) -> Any:
    """A pandas DataFrame of a Parquet body."""
    import_optional("pandas", "Parquet to a DataFrame")
    return read_parquet_table(body).to_pandas()


def write_arrow(data: Any) -> bytes:
    pa = import_optional("pyarrow", "Arrow IPC")
    table = to_table(data)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def read_arrow(body: bytes | bytearray | memoryview) -> Any:
    """A ``pyarrow.Table`` of an Arrow IPC stream body."""
    pa = import_optional("pyarrow", "Arrow IPC")
    try:
        return pa.ipc.open_stream(pa.BufferReader(bytes(body))).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise FormatError(f"not a valid Arrow IPC stream: {exc}", field="body") from exc
