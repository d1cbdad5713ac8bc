"""RecordIO-protobuf encode/decode throughput: modelyard vs the sagemaker SDK, in one run.

    .venv/bin/python benchmarks/formats.py [--rows 100000] [--budget-s 60]

Encodes and decodes the same data with both implementations and prints
records/s, MB/s (of RecordIO-protobuf bytes) and the ratio ours/theirs.
"decode" is, for the SDK, ``read_records`` (bytes -> protobuf ``Record``
objects, the SDK's own reader, its protobuf parsing done in C by upb) and, for
modelyard, ``decode_to_numpy`` / ``decode_to_sparse`` (bytes -> arrays).
"decode+" compares the same modelyard call with what an SDK user needs to get
the same arrays: ``read_records`` plus the conversion of the records to arrays.
Before timing, both sides are checked to agree on the bytes and the values.
Each measurement is the best of the same number of repeats on both sides,
bounded by a time budget; the SDK's slow encodes run on a subset of rows and
are scaled.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

#: Every measurement, ours or the SDK's, is the best of as many runs (within its time
#: budget): fewer runs for the slower side would bias the best-of towards us.
REPEATS = 5


@dataclass
class Result:
    case: str
    operation: str
    rows: int
    payload_bytes: int
    ours_s: float
    theirs_s: float

    def line(self) -> str:
        ours_rps = self.rows / self.ours_s
        theirs_rps = self.rows / self.theirs_s
        mb = self.payload_bytes / 1e6
        return (
            f"{self.case:<28} {self.operation:<7} {ours_rps:>12,.0f} {mb / self.ours_s:>9.1f}"
            f" {theirs_rps:>12,.0f} {mb / self.theirs_s:>9.1f} {self.theirs_s / self.ours_s:>8.1f}x"
        )


def best_time(function: Callable[[], Any], *, repeats: int, budget_s: float) -> float:
    """The fastest of up to ``repeats`` runs, stopping early once ``budget_s`` is spent."""
    best = float("inf")
    spent = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        spent += elapsed
        if spent > budget_s:
            break
    return best


def sdk_bytes(writer: Callable[..., None], *args: Any) -> bytes:
    buffer = io.BytesIO()
    writer(buffer, *args)
    return buffer.getvalue()


def _tensor(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value"))


def sdk_records_to_dense(records: list[Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """What an SDK user writes to get arrays out of ``read_records``."""
    features = np.array([_tensor(r.features["values"]).values for r in records])
    labels = [_tensor(r.label["values"]).values[0] for r in records if "values" in r.label]
    return features, (np.array(labels) if labels else None)


def sdk_records_to_sparse(records: list[Any]) -> Any:
    import scipy.sparse

    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    columns = 0
    for record in records:
        tensor = _tensor(record.features["values"])
        data.extend(tensor.values)
        indices.extend(tensor.keys)
        indptr.append(len(indices))
        columns = max(columns, tensor.shape[0] if len(tensor.shape) else 0)
    return scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(records), columns))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--sparse-columns", type=int, default=1_000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--sdk-rows", type=int, default=20_000, help="rows the SDK encodes")
    parser.add_argument("--budget-s", type=float, default=60.0)
    args = parser.parse_args()

    warnings.simplefilter("ignore")
    try:
        from sagemaker.amazon import common as sdk
    except ImportError:
        print("needs the sagemaker SDK v2: pip install 'sagemaker>=2.257,<3'", file=sys.stderr)
        return 2
    import scipy.sparse

    from modelyard.formats import recordio_protobuf as ours

    started = time.perf_counter()
    per_case_s = args.budget_s / 8
    rng = np.random.default_rng(0)
    rows = args.rows
    sdk_rows = min(args.sdk_rows, rows)
    dense = rng.random((rows, args.columns), dtype=np.float32)
    labels = rng.integers(0, 10, rows)
    sparse = scipy.sparse.random(
        rows, args.sparse_columns, density=args.density, format="csr", dtype=np.float32, rng=rng
    )
    cases: list[tuple[str, Any, Any, bool]] = [
        (f"dense {rows:,}x{args.columns} f32", dense, None, False),
        (f"dense {rows:,}x{args.columns} + int label", dense, labels, False),
        (f"sparse {rows:,}x{args.sparse_columns} d={args.density}", sparse, None, True),
    ]
    results: list[Result] = []
    for name, matrix, label, is_sparse in cases:
        sdk_writer = (
            sdk.write_spmatrix_to_sparse_tensor if is_sparse else sdk.write_numpy_to_dense_tensor
        )

        def encode_ours(m: Any = matrix, y: Any = label, s: bool = is_sparse) -> bytes:
            return ours.encode_sparse(m, y) if s else ours.encode_dense(m, y)

        # Agreement first: same bytes on a subset, same values back.
        subset = matrix[:sdk_rows]
        subset_labels = None if label is None else label[:sdk_rows]
        theirs_subset = sdk_bytes(sdk_writer, subset, subset_labels)
        if encode_ours(subset, subset_labels) != theirs_subset:
            print(f"{name}: modelyard's bytes differ from the SDK's", file=sys.stderr)
            return 1
        payload = encode_ours()
        decoded, _ = (ours.decode_to_sparse if is_sparse else ours.decode_to_numpy)(payload)
        same = (decoded != matrix).nnz == 0 if is_sparse else np.array_equal(decoded, matrix)
        if not same:
            print(f"{name}: decoded values differ", file=sys.stderr)
            return 1

        scale = rows / sdk_rows
        ours_encode = best_time(encode_ours, repeats=REPEATS, budget_s=per_case_s / 4)
        theirs_encode = scale * best_time(
            lambda w=sdk_writer, m=subset, y=subset_labels: sdk_bytes(w, m, y),
            repeats=REPEATS,
            budget_s=per_case_s / 4,
        )
        results.append(Result(name, "encode", rows, len(payload), ours_encode, theirs_encode))

        decoder = ours.decode_to_sparse if is_sparse else ours.decode_to_numpy
        ours_decode = best_time(
            lambda p=payload, d=decoder: d(p), repeats=REPEATS, budget_s=per_case_s / 4
        )
        theirs_decode = best_time(
            lambda p=payload: sdk.read_records(io.BytesIO(p)),
            repeats=REPEATS,
            budget_s=per_case_s / 4,
        )
        results.append(Result(name, "decode", rows, len(payload), ours_decode, theirs_decode))
        to_arrays = sdk_records_to_sparse if is_sparse else sdk_records_to_dense
        theirs_arrays = best_time(
            lambda p=payload, f=to_arrays: f(sdk.read_records(io.BytesIO(p))),
            repeats=REPEATS,
            budget_s=per_case_s / 4,
        )
        results.append(Result(name, "decode+", rows, len(payload), ours_decode, theirs_arrays))

    header = (
        f"{'case':<28} {'op':<7} {'ours rec/s':>12} {'ours MB/s':>9}"
        f" {'SDK rec/s':>12} {'SDK MB/s':>9} {'ours/SDK':>9}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        print(result.line())
    slowest = min(r.theirs_s / r.ours_s for r in results if r.operation != "decode+")
    took_s = time.perf_counter() - started
    print(f"\nslowest ratio (encode, decode): {slowest:.1f}x (target >= 20x); took {took_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
