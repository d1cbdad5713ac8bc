"""Dataset definitions as processing inputs: SQL results materialised as files.

SageMaker's ``DatasetDefinition`` runs a query (Athena, Redshift) and hands its result
to the processing script as files. Here, before the script starts and on the platform:

- ``AthenaDatasetDefinition``: DuckDB SQL over the store's objects (:mod:`.athena`);
- ``RedshiftDatasetDefinition``: SQL on any SQLAlchemy database (:mod:`.warehouse`);

each streamed into part files (:mod:`.writer`) in Parquet, CSV or JSON Lines.
:func:`result_format` checks a definition's ``OutputFormat`` / ``OutputCompression``
(the request validation calls it); :func:`materialize` runs one. Failures are
:class:`DatasetError`, whose ``reason`` becomes the job's FailureReason.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.config import Settings
from modelyard.data.datasets.errors import DatasetError
from modelyard.data.datasets.writer import DEFAULT_ROWS_PER_PART, ResultWriter, WrittenResult
from modelyard.store.base import Store

ATHENA = "AthenaDatasetDefinition"
REDSHIFT = "RedshiftDatasetDefinition"

_ATHENA_FORMATS = {"PARQUET": "parquet", "JSON": "jsonl", "TEXTFILE": "csv"}
_REDSHIFT_FORMATS = {"PARQUET": "parquet", "CSV": "csv"}
_CODECS = {
    "parquet": {None: "snappy", "NONE": "none", "SNAPPY": "snappy", "GZIP": "gzip", "ZSTD": "zstd"},
    "csv": {None: "none", "NONE": "none", "GZIP": "gzip"},
    "jsonl": {None: "none", "NONE": "none", "GZIP": "gzip"},
}


def result_format(kind: str, definition: Mapping[str, Any]) -> tuple[str, str]:
    """``(format, compression)`` of the files a definition produces; ValueError if unsupported.

    Athena's ``TEXTFILE`` is written as CSV with a header and ``JSON`` as JSON Lines;
    ``ORC`` and ``AVRO`` are not supported. Parquet takes SNAPPY (default), GZIP or
    ZSTD; text formats GZIP.
    """
    formats = _ATHENA_FORMATS if kind == ATHENA else _REDSHIFT_FORMATS
    given = str(definition.get("OutputFormat"))
    fmt = formats.get(given)
    if fmt is None:
        raise ValueError(
            f"OutputFormat {given!r} is not supported here; use {' or '.join(formats)}"
        )
    raw = definition.get("OutputCompression")
    compression = _CODECS[fmt].get(None if raw is None else str(raw).upper())
    if compression is None:
        allowed = ", ".join(k for k in _CODECS[fmt] if k)
        raise ValueError(f"OutputCompression {raw!r} does not apply to {given}; use {allowed}")
    return fmt, compression


def materialize(
    kind: str,
    definition: Mapping[str, Any],
    directory: Path,
    *,
    store: Store,
    settings: Settings,
    what: str,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
) -> WrittenResult:
    """Run the definition's query; its result as part files under ``directory``."""
    try:
        fmt, compression = result_format(kind, definition)
    except ValueError as exc:
        raise DatasetError(f"ClientError: {what}: {exc}") from exc
    writer = ResultWriter(directory, fmt, compression=compression, rows_per_part=rows_per_part)
    query = str(definition["QueryString"])
    if kind == ATHENA:
        from modelyard.data.datasets import athena

        return athena.run_query(store, settings, query, writer, what=what)
    from modelyard.data.datasets import warehouse

    connections = {k: v.get_secret_value() for k, v in settings.sql_connections.items()}
    try:
        url = warehouse.resolve_url(
            str(definition["ClusterId"]),
            definition.get("Database"),
            definition.get("DbUser"),
            connections,
        )
    except ValueError as exc:
        raise DatasetError(f"ClientError: {what}: ClusterId: {exc}") from exc
    return warehouse.run_query(url, query, writer, what=what)


__all__ = [
    "ATHENA",
    "REDSHIFT",
    "DatasetError",
    "ResultWriter",
    "WrittenResult",
    "materialize",
    "result_format",
]
