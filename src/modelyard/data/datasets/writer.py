"""Query results streamed to files: Parquet, CSV or JSON Lines, in parts of bounded size.

A :class:`ResultWriter` takes Arrow record batches one at a time and writes them to
``part-00000.<ext>``, ``part-00001.<ext>``... in its directory, starting a new part once
``rows_per_part`` rows are in the current one (a batch is never split, so a part may
hold up to one batch more). Memory stays flat: one batch at a time. Parts are what a
``ShardedByS3Key`` input deals to its hosts, as S3 objects would be.

Formats: ``parquet`` (compression ``snappy`` by default, or ``gzip`` / ``zstd``),
``csv`` (a header line, RFC 4180 quoting; ``gzip`` compresses the file and adds
``.gz``), ``jsonl`` (one JSON object per line, likewise). A result with no row still
writes one part, so the schema (Parquet) or the header (CSV) reaches the script.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("parquet", "csv", "jsonl")
PARQUET_CODECS = ("snappy", "gzip", "zstd", "none")
DEFAULT_ROWS_PER_PART = 1_000_000


@dataclass
class WrittenResult:
    """The parts written and how many rows they hold in all."""

    parts: list[Path] = field(default_factory=list)
    rows: int = 0


class ResultWriter:
    """Writes record batches into parts under ``directory`` (see the module doc)."""

    def __init__(
        self,
        directory: Path,
        fmt: str,
        *,
        compression: str | None = None,
        rows_per_part: int = DEFAULT_ROWS_PER_PART,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown result format {fmt!r}; use one of {', '.join(FORMATS)}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.compression = (compression or ("snappy" if fmt == "parquet" else "none")).lower()
        self.rows_per_part = max(1, rows_per_part)
        self.result = WrittenResult()
        self._sink: Any = None
        self._stream: Any = None
        self._rows_in_part = 0
        self._schema: pa.Schema | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._schema is None:
            self._schema = batch.schema
        elif batch.schema != self._schema:
            batch = batch.cast(self._schema)
        if self._sink is not None and self._rows_in_part >= self.rows_per_part:
            self._close_part()
        if self._sink is None:
            self._open_part(batch.schema)
        self._write_batch(batch)
        self._rows_in_part += batch.num_rows
        self.result.rows += batch.num_rows

    def close(self, schema: pa.Schema | None = None) -> WrittenResult:
        """Finish the last part (an empty result writes one part with ``schema``)."""
        if self._sink is None and not self.result.parts:
            import pyarrow as pa

            self._open_part(self._schema or schema or pa.schema([]))
        self._close_part()
        return self.result

    # -- parts ---------------------------------------------------------------

    def _part_path(self) -> Path:
        suffix = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}[self.fmt]
        if self.fmt != "parquet" and self.compression == "gzip":
            suffix += ".gz"
        return self.directory / f"part-{len(self.result.parts):05d}{suffix}"

    def _open_part(self, schema: pa.Schema) -> None:
        path = self._part_path()
        self.result.parts.append(path)
        self._rows_in_part = 0
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            codec = None if self.compression == "none" else self.compression
            self._sink = pq.ParquetWriter(str(path), schema, compression=codec)
            return
        self._stream = gzip.open(path, "wb") if self.compression == "gzip" else open(path, "wb")  # noqa: SIM115
        if self.fmt == "csv":
            import pyarrow.csv as pcsv

            self._sink = pcsv.CSVWriter(self._stream, schema)
        else:
            self._sink = self._stream

    def _write_batch(self, batch: pa.RecordBatch) -> None:
        if self.fmt == "jsonl":
            assert self._stream is not None
            for row in batch.to_pylist():
                self._stream.write(json.dumps(row, default=str, ensure_ascii=False).encode())
                self._stream.write(b"\n")
        else:
            self._sink.write_batch(batch)

    def _close_part(self) -> None:
        if self._sink is not None and self.fmt != "jsonl":
            self._sink.close()
        if self._stream is not None:
            self._stream.close()
        self._sink = None
        self._stream = None
