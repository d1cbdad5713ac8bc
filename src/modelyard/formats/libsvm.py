"""libsvm / svmlight text (``text/libsvm``): ``<label> <index>:<value> ...`` per line.

Indices are written and read as they are (``zero_based=True``, what XGBoost
expects, and what scikit-learn's ``dump_svmlight_file`` writes by default);
``zero_based=False`` shifts them by one (libsvm's own 1-based convention).
A line may omit its label (an inference payload): its label reads as NaN, and
``labels`` is ``None`` when no line has one; so a blank line is a row without
label or features (what the writer emits for an all-zero row without label).
``qid:`` tokens are skipped; ``#`` starts a comment (a comment-only line is no row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelyard.formats.errors import FormatError, import_optional

__all__ = ["CONTENT_TYPE", "SparseRows", "read_libsvm", "write_libsvm"]

CONTENT_TYPE = "text/libsvm"


@dataclass(frozen=True)
class SparseRows:
    """Rows in CSR form (NumPy only), with their labels."""

    indptr: NDArray[np.int64]
    indices: NDArray[np.int64]
    values: NDArray[np.float64]
    labels: NDArray[np.float64] | None
    n_features: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.indptr.size - 1, self.n_features)

    def to_dense(self) -> NDArray[np.float64]:
        out = np.zeros(self.shape, dtype=np.float64)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.indices] = self.values
        return out

    def to_csr(self) -> Any:
        sparse = import_optional("scipy.sparse", "libsvm to a sparse matrix")
        return sparse.csr_matrix((self.values, self.indices, self.indptr), shape=self.shape)


def _number(token: str, line: int, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise FormatError(
            f"libsvm line {line}: {what} {token!r} is not a number", field=f"line {line}"
        ) from None


def read_libsvm(
    body: bytes | bytearray | memoryview | str,
    *,
    zero_based: bool = True,
    n_features: int | None = None,
) -> SparseRows:
    text = body if isinstance(body, str) else bytes(body).decode("utf-8")
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    labels: list[float] = []
    shift = 0 if zero_based else 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line and raw.strip():
            continue  # a comment line
        tokens = line.split()
        label = math.nan
        if tokens and ":" not in tokens[0]:
            label = _number(tokens[0], number, "label")
            tokens = tokens[1:]
        for token in tokens:
            key, sep, value = token.partition(":")
            if not sep:
                raise FormatError(
                    f"libsvm line {number}: {token!r} is not index:value", field=f"line {number}"
                )
            if key == "qid":
                continue
            try:
                index = int(key) - shift
            except ValueError:
                raise FormatError(
                    f"libsvm line {number}: index {key!r} is not an integer", field=f"line {number}"
                ) from None
            if index < 0:
                raise FormatError(
                    f"libsvm line {number}: index {key} is out of range", field=f"line {number}"
                )
            indices.append(index)
            values.append(_number(value, number, "value"))
        labels.append(label)
        indptr.append(len(indices))
    index_array = np.asarray(indices, dtype=np.int64)
    width = int(index_array.max()) + 1 if index_array.size else 0
    if n_features is not None:
        if width > n_features:
            raise FormatError(
                f"libsvm index {width - 1} beyond n_features={n_features}", field="n_features"
            )
        width = n_features
    label_array = np.asarray(labels, dtype=np.float64)
    return SparseRows(
        indptr=np.asarray(indptr, dtype=np.int64),
        indices=index_array,
        values=np.asarray(values, dtype=np.float64),
        labels=None if bool(np.isnan(label_array).all()) and label_array.size else label_array,
        n_features=width,
    )


def _format(value: float) -> str:
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def write_libsvm(matrix: Any, labels: ArrayLike | None = None, *, zero_based: bool = True) -> bytes:
    """libsvm text of a dense array, a SciPy sparse matrix or ``SparseRows``; zeros are skipped."""
    if isinstance(matrix, SparseRows):
        indptr, indices, data = matrix.indptr, matrix.indices, matrix.values
        count = matrix.shape[0]
        if labels is None:
            labels = matrix.labels
    elif hasattr(matrix, "tocsr"):
        csr = matrix.tocsr()
        csr.sort_indices()
        indptr, indices, data, count = csr.indptr, csr.indices, csr.data, csr.shape[0]
    else:
        dense = np.asarray(matrix)
        if dense.ndim != 2:
            raise FormatError(f"libsvm needs a 2-D matrix, got shape {dense.shape}", field="matrix")
        rows, columns = np.nonzero(dense)
        count = dense.shape[0]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=count))])
        indices, data = columns, dense[rows, columns]
    label_list: list[Any] | None = None
    if labels is not None:
        label_array = np.asarray(labels, dtype=np.float64).reshape(-1)
        if label_array.size != count:
            raise FormatError(f"{label_array.size} labels for {count} rows", field="labels")
        label_list = label_array.tolist()
    shift = 0 if zero_based else 1
    index_list = (np.asarray(indices, dtype=np.int64) + shift).tolist()
    value_list = np.asarray(data, dtype=np.float64).tolist()
    bounds = np.asarray(indptr).tolist()
    lines = []
    for row in range(count):
        begin, end = bounds[row], bounds[row + 1]
        pairs = " ".join(
            f"{i}:{_format(v)}"
            for i, v in zip(index_list[begin:end], value_list[begin:end], strict=True)
        )
        if label_list is not None and not math.isnan(label_list[row]):
            lines.append(f"{_format(label_list[row])} {pairs}".rstrip())
        else:
            lines.append(pairs)
    return "".join(line + "\n" for line in lines).encode()
