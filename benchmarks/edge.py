"""Edge packages vs the original framework models: latency, throughput and size, in one run.

    .venv/bin/python benchmarks/edge.py [--budget-s 1.0] [--batch 1000]

For each framework's example model (scikit-learn RandomForest and MLP on iris, an
XGBoost booster on breast cancer, a small PyTorch MLP), the model is compiled with
modelyard's compilation library (verified, as a compilation job does) to ONNX fp32
and int8 (dynamic), then measured in this process, one thread each:

* **p50 single**: median latency of one one-row request (``predict`` / ``predict_proba``
  for scikit-learn and XGBoost, ``model(x)`` under ``no_grad`` for PyTorch;
  ``InferenceSession.run`` for ONNX);
* **req/s**: sequential one-row requests per second (1 / mean latency);
* **rows/s batch**: rows per second in batches of ``--batch`` rows;
* **size**: bytes of the model file (the framework's artifact; ``model.onnx``).

Ratios are ONNX / original (latency: lower is better; throughput: higher).
Each measurement is bounded by ``--budget-s`` and 20,000 calls. Needs the
framework packages and onnxruntime, skl2onnx, onnxmltools in this environment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.unit.edge import models

from modelyard.edge import optimize
from modelyard.edge.compile import CompileRequest, compile_model
from modelyard.edge.signature import parse_data_input_config
from modelyard.edge.targets import get_target

MAX_CALLS = 20_000


def measure(call: Callable[[], Any], budget_s: float) -> list[float]:
    for _ in range(20):
        call()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < MAX_CALLS and time.perf_counter() < deadline:
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def row_stats(single: list[float], batch: list[float], batch_rows: int) -> dict[str, float]:
    return {
        "p50_us": statistics.median(single) * 1e6,
        "req_s": 1.0 / statistics.fmean(single),
        "rows_s": batch_rows / statistics.median(batch),
    }


def benchmark(
    run: Callable[[np.ndarray], Any], one: np.ndarray, rows: np.ndarray, budget_s: float
) -> dict[str, float]:
    single = measure(lambda: run(one), budget_s)
    batch = measure(lambda: run(rows), budget_s)
    return row_stats(single, batch, len(rows))


def original_callable(framework: str, model_dir: Path) -> tuple[Callable[[np.ndarray], Any], int]:
    from modelyard.edge.adapters import get_adapter

    adapter = get_adapter(framework)
    path = adapter.find(model_dir)
    model = adapter.load(path)
    size = path.stat().st_size
    if framework == "pytorch":
        import torch

        torch.set_num_threads(1)

        def run_torch(x: np.ndarray) -> Any:
            with torch.no_grad():
                return model(torch.from_numpy(x))

        return run_torch, size
    if framework == "xgboost":
        import xgboost

        model.set_param({"nthread": 1})
        return (lambda x: model.predict(xgboost.DMatrix(x))), size
    if hasattr(model, "n_jobs"):
        model.n_jobs = 1
    return (lambda x: model.predict_proba(x)), size


def onnx_callable(path: Path) -> Callable[[np.ndarray], Any]:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


CASES: list[tuple[str, str, Callable[[Path], np.ndarray], str | None]] = [
    ("sklearn RandomForest", "sklearn", lambda d: models.sklearn_model(d, "forest"), None),
    ("sklearn MLP", "sklearn", lambda d: models.sklearn_model(d, "mlp"), None),
    ("xgboost booster", "xgboost", models.xgboost_model, None),
    ("pytorch MLP", "pytorch", models.torch_model, '{"input": [1, 4]}'),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-s", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    optimize._quiet_onnxruntime()
    target = get_target("onnx-cpu-x86_64")
    header = (
        f"{'model':<22}{'variant':<9}{'p50 single':>12}{'req/s':>10}{'rows/s batch':>14}"
        f"{'size':>10}   ratios vs original (p50, req/s, rows/s, size)"
    )
    print(header)
    print("-" * len(header))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        for label, framework, make, shapes in CASES:
            work = Path(scratch) / label.replace(" ", "-")
            sample = make(work / "model")
            rng = np.random.default_rng(0)
            rows = sample[rng.integers(0, len(sample), args.batch)]
            one = sample[:1]
            run, size = original_callable(framework, work / "model")
            base = benchmark(run, one, rows, args.budget_s)
            results = [("original", base, size)]
            for quantization in ("none", "int8-dynamic"):
                out = work / quantization
                report = compile_model(
                    CompileRequest(
                        framework=framework,
                        model_dir=work / "model",
                        target=target,
                        signature=parse_data_input_config(shapes),
                        quantization=quantization,
                        sample={"input": sample},
                    ),
                    out,
                )
                run_onnx = onnx_callable(out / "model.onnx")
                stats = benchmark(run_onnx, one, rows, args.budget_s)
                name = "fp32" if quantization == "none" else "int8"
                if quantization != "none" and not report["QuantizedNodes"]:
                    name = "int8*"  # nothing quantisable: the fp32 graph
                results.append((name, stats, report["CompiledModelSizeBytes"]))
            for variant, stats, nbytes in results:
                ratios = ""
                if variant != "original":
                    ratios = (
                        f"   {stats['p50_us'] / base['p50_us']:.2f}x  "
                        f"{stats['req_s'] / base['req_s']:.2f}x  "
                        f"{stats['rows_s'] / base['rows_s']:.2f}x  {nbytes / size:.2f}x"
                    )
                print(
                    f"{label if variant == 'original' else '':<22}{variant:<9}"
                    f"{stats['p50_us']:>10.1f}us{stats['req_s']:>10.0f}{stats['rows_s']:>14.0f}"
                    f"{_size(nbytes):>10}{ratios}"
                )
    print(
        f"\n(one thread each; batch {args.batch} rows; {time.monotonic() - started:.0f} s in all; "
        "int8*: the model has no quantisable operator, its int8 package is its fp32 graph)"
    )
    return 0


def _size(nbytes: int) -> str:
    return f"{nbytes / 1024:.1f} KiB" if nbytes < 1 << 20 else f"{nbytes / (1 << 20):.1f} MiB"


if __name__ == "__main__":
    sys.exit(main())
