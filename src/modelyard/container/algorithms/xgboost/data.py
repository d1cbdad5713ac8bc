"""The built-in XGBoost algorithm's input: a channel read by its content type and mode.

Content types (the channel's ``ContentType``; parameters after ``;`` are read, case
ignored), as SageMaker's XGBoost algorithm takes them:

``text/csv``            no header, the label in the first column (``label_size=1``, the
                        only size allowed); with ``csv_weights=1`` the second column is
                        the instance weight. File, FastFile and Pipe mode.
``text/libsvm``         ``<label> <index>:<value> ...``, indices as XGBoost reads them
                        (zero-based). File and FastFile mode only: refused in Pipe mode,
                        as SageMaker refuses it. The default when no ContentType is given.
``application/x-parquet``  label in the first column. File and FastFile mode (Parquet
                        needs its footer, which a stream gives last).
``application/x-recordio-protobuf``  SageMaker's records (dense or sparse features,
                        the label in ``label["values"]``). File, FastFile and Pipe mode.

File mode reads every file under the channel directory (sorted, hidden files skipped,
FastFile's streamed files included); Pipe mode reads epoch 0 of the channel's FIFO
(``<channel>_0``) to its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from modelyard import formats
from modelyard.container.algorithms.xgboost.hyperparameters import ClientError

CSV: Final = "text/csv"
LIBSVM: Final = "text/libsvm"
PARQUET: Final = "application/x-parquet"
RECORDIO_PROTOBUF: Final = "application/x-recordio-protobuf"
_ALIASES: Final = {
    "csv": CSV,
    "text/x-libsvm": LIBSVM,
    "libsvm": LIBSVM,
    "parquet": PARQUET,
    "recordio-protobuf": RECORDIO_PROTOBUF,
    "application/x-recordio": RECORDIO_PROTOBUF,
}
SUPPORTED: Final = (CSV, LIBSVM, PARQUET, RECORDIO_PROTOBUF)
DEFAULT_CONTENT_TYPE: Final = LIBSVM
PIPE_CAPABLE: Final = (CSV, RECORDIO_PROTOBUF)


@dataclass(frozen=True)
class Dataset:
    """A channel's rows: features (a dense array or a SciPy CSR matrix), labels, weights."""

    features: Any
    labels: NDArray[np.float32]
    weights: NDArray[np.float32] | None = None

    @property
    def rows(self) -> int:
        return int(self.labels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.features.shape[1])


def content_type_of(channel: str, config: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The channel's content type (normalized) and its parameters."""
    raw = str(config.get("ContentType") or DEFAULT_CONTENT_TYPE)
    base, *rest = [part.strip() for part in raw.split(";")]
    options = {}
    for part in rest:
        key, _, value = part.partition("=")
        options[key.strip().lower()] = value.strip()
    kind = _ALIASES.get(base.lower(), base.lower())
    if kind not in SUPPORTED:
        raise ClientError(
            f"channel {channel!r}: ContentType {raw!r} is not supported by the XGBoost "
            f"algorithm; use one of {', '.join(SUPPORTED)}"
        )
    if kind == CSV and options.get("label_size", "1") != "1":
        raise ClientError(
            f"channel {channel!r}: ContentType {raw!r}: only label_size=1 is supported "
            "(the label in the first column)"
        )
    return kind, options


def read_channel(
    channel: str, config: Mapping[str, Any], channel_dir: Path, *, csv_weights: bool
) -> Dataset:
    """The rows of ``channel`` (see the module doc); ClientError for what cannot be read."""
    kind, _options = content_type_of(channel, config)
    pipe = config.get("TrainingInputMode") == "Pipe"
    if pipe and kind not in PIPE_CAPABLE:
        raise ClientError(
            f"channel {channel!r}: {kind} is not supported in Pipe mode; use File mode "
            f"(Pipe mode takes {', '.join(PIPE_CAPABLE)})"
        )
    bodies = [_read_fifo(channel_dir)] if pipe else list(_read_files(channel_dir))
    if not any(bodies):
        raise ClientError(f"channel {channel!r} has no data (nothing under {channel_dir})")
    try:
        if kind == CSV:
            return _from_csv(bodies, csv_weights)
        if kind == LIBSVM:
            return _from_libsvm(bodies)
        if kind == PARQUET:
            return _from_parquet(bodies)
        return _from_recordio_protobuf(bodies)
    except formats.FormatError as exc:
        raise ClientError(f"channel {channel!r}: cannot read it as {kind}: {exc}") from exc


def _read_files(channel_dir: Path) -> Iterator[bytes]:
    """Every file below ``channel_dir`` (FIFOs of FastFile included), sorted by path."""
    found: list[Path] = []
    for root, dirs, files in os.walk(channel_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root, name) for name in files if not name.startswith("."))
    for path in sorted(found):
        with open(path, "rb") as handle:
            yield handle.read()


def _read_fifo(channel_dir: Path) -> bytes:
    fifo = channel_dir.with_name(f"{channel_dir.name}_0")
    if not fifo.exists():
        raise ClientError(f"channel {channel_dir.name!r}: no Pipe-mode FIFO at {fifo}")
    with open(fifo, "rb") as handle:
        return handle.read()


def _split_label(table: NDArray[Any], csv_weights: bool, what: str) -> Dataset:
    needed = 3 if csv_weights else 2
    if table.ndim != 2 or table.shape[1] < needed:
        raise ClientError(
            f"{what}: each row needs the label first, "
            + ("then the weight, " if csv_weights else "")
            + "then at least one feature"
        )
    start = 2 if csv_weights else 1
    weights = table[:, 1].astype(np.float32) if csv_weights else None
    return Dataset(table[:, start:].astype(np.float32), table[:, 0].astype(np.float32), weights)


def _from_csv(bodies: list[bytes], csv_weights: bool) -> Dataset:
    text = b"".join(body if body.endswith(b"\n") else body + b"\n" for body in bodies if body)
    table = formats.read_csv(text, dtype=np.float64)
    return _split_label(table, csv_weights, "text/csv")


def _from_libsvm(bodies: list[bytes]) -> Dataset:
    rows = formats.read_libsvm(b"\n".join(body.rstrip(b"\n") for body in bodies if body))
    if rows.labels is None:
        raise ClientError("text/libsvm: the rows have no labels")
    return Dataset(rows.to_csr().astype(np.float32), rows.labels.astype(np.float32))


def _from_parquet(bodies: list[bytes]) -> Dataset:
    tables = [formats.read_parquet_table(body).to_pandas().to_numpy() for body in bodies if body]
    widths = {t.shape[1] for t in tables}
    if len(widths) != 1:
        raise ClientError(f"application/x-parquet: the files have different widths {widths}")
    return _split_label(np.vstack(tables).astype(np.float64), False, "application/x-parquet")


def _from_recordio_protobuf(bodies: list[bytes]) -> Dataset:
    features, labels = formats.decode_to_sparse(b"".join(bodies))
    if labels is None:
        raise ClientError("application/x-recordio-protobuf: the records have no label")
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ClientError("application/x-recordio-protobuf: each record needs exactly one label")
    return Dataset(features.astype(np.float32), labels.astype(np.float32))
