"""RecordIO-protobuf encode/decode throughput: modelyard vs the sagemaker SDK, in one run.

    .venv/bin/python benchmarks/formats.py [--rows 100000] [--repeats 7]

Encodes and decodes the same data with both implementations and prints
records/s, MB/s (of RecordIO-protobuf bytes) and the ratio ours/theirs.
"decode" is, for the SDK, ``read_records`` (bytes -> protobuf ``Record``
objects, the SDK's own reader, its protobuf parsing done in C by upb) and, for
modelyard, ``decode_to_numpy`` / ``decode_to_sparse`` (bytes -> arrays).
"decode+" compares the same modelyard call with what an SDK user needs to get
the same arrays: ``read_records`` plus the conversion of the records to arrays.
Before timing, both sides are checked to agree on the bytes and the values.

Method, the same for both sides: each operation runs once untimed, then
``--repeats`` times back to back, timed, on each side, with Python's garbage
collector left as it is by default. Runs of a side follow runs of the same
side: right after the SDK's reader has freed its hundreds of thousands of
objects, the next run of anything is slower (our sparse decode: ~22 ms instead
of ~13 ms), a cost of the SDK's that alternating the sides would charge to us.
The table gives records/s of the best run of each side and the ratios of the best runs
and of the median runs. The two differ mostly on the SDK's side: its reader
allocates one Python object per record and field, so a full collection of the
garbage collector lands in some of its runs (its best run is what ``timeit``,
which turns the collector off, would report); ours allocates a few arrays.
The "slowest ratio" line takes the best-run ratio, the one less favourable to
us. The SDK's slow encodes run on a subset of rows and are scaled.
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
from statistics import median
from typing import Any

import numpy as np

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


@dataclass
class Result:
    case: str
    operation: str
    rows: int
    payload_bytes: int
    ours: list[float]
    theirs: list[float]

    def line(self) -> str:
        ours_best, theirs_best = min(self.ours), min(self.theirs)
        ours_median, theirs_median = median(self.ours), median(self.theirs)
        mb = self.payload_bytes / 1e6
        return (
            f"{self.case:<28} {self.operation:<7} {self.rows / ours_best:>12,.0f}"
            f" {mb / ours_best:>9.1f} {self.rows / theirs_best:>12,.0f} {mb / theirs_best:>9.1f}"
            f" {1e3 * ours_best:>8.1f} {1e3 * ours_median:>8.1f}"
            f" {1e3 * theirs_best:>8.1f} {1e3 * theirs_median:>8.1f}"
            f" {theirs_best / ours_best:>7.1f}x {theirs_median / ours_median:>7.1f}x"
        )


def elapsed_s(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def steady_times(function: Callable[[], Any], repeats: int, scale: float = 1.0) -> list[float]:
    """``repeats`` timed runs back to back, after one untimed run (``scale``: times multiplied)."""
    function()
    return [scale * elapsed_s(function) for _ in range(repeats)]


def both(
    ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int, theirs_scale: float = 1.0
) -> tuple[list[float], list[float]]:
    """Our steady times, then the SDK's, measured the same way."""
    return steady_times(ours, repeats), steady_times(theirs, repeats, theirs_scale)


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
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of each side")
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
    repeats = args.repeats
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
        ours_encode, theirs_encode = both(
            encode_ours,
            lambda w=sdk_writer, m=subset, y=subset_labels: sdk_bytes(w, m, y),
            repeats,
            theirs_scale=scale,
        )
        results.append(Result(name, "encode", rows, len(payload), ours_encode, theirs_encode))

        decoder = ours.decode_to_sparse if is_sparse else ours.decode_to_numpy
        to_arrays = sdk_records_to_sparse if is_sparse else sdk_records_to_dense
        ours_decode, theirs_decode = both(
            lambda p=payload, d=decoder: d(p),
            lambda p=payload: sdk.read_records(io.BytesIO(p)),
            repeats,
        )
        results.append(Result(name, "decode", rows, len(payload), ours_decode, theirs_decode))
        ours_again, theirs_arrays = both(
            lambda p=payload, d=decoder: d(p),
            lambda p=payload, f=to_arrays: f(sdk.read_records(io.BytesIO(p))),
            repeats,
        )
        results.append(Result(name, "decode+", rows, len(payload), ours_again, theirs_arrays))

    header = (
        f"{'case':<28} {'op':<7} {'ours rec/s':>12} {'ours MB/s':>9}"
        f" {'SDK rec/s':>12} {'SDK MB/s':>9} {'ours ms':>8} {'(med)':>8} {'SDK ms':>8}"
        f" {'(med)':>8} {'best':>8} {'median':>8}"
    )
    print(f"{repeats} runs of each side after a warm-up; rec/s and MB/s of the best run;")
    print("ours/SDK ratios of the best runs and of the median runs (garbage collector on)\n")
    print(header)
    print("-" * len(header))
    for result in results:
        print(result.line())
    timed = [r for r in results if r.operation != "decode+"]
    slowest = min(min(r.theirs) / min(r.ours) for r in timed)
    slowest_median = min(median(r.theirs) / median(r.ours) for r in timed)
    took_s = time.perf_counter() - started
    print(
        f"\nslowest ratio (encode, decode): {slowest:.1f}x best/best,"
        f" {slowest_median:.1f}x median/median (target >= 20x); took {took_s:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
