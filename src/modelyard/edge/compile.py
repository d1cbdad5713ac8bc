"""Compile a model artifact to a verified ONNX model for an edge target.

:func:`compile_model` is the whole compilation, run inside the framework's compile
image (:mod:`modelyard.edge.compile_entry`) or in-process where the framework is
installed:

1. load the artifact with its framework (:mod:`modelyard.edge.adapters`) and take the
   input signature from the request, or from the model when it knows it;
2. convert it to ONNX at the target's opset (skl2onnx, onnxmltools, torch.onnx);
3. quantise (``int8-dynamic``, or ``int8-static`` calibrated on the sample), then
   optimise the graph at the target's level (:mod:`modelyard.edge.optimize`);
4. **verify**: run the original and the compiled model on the sample and compare
   (:mod:`modelyard.edge.verify`); past the tolerance :class:`VerificationError`
   says by how much.

The output directory holds ``model.onnx``, the self-test of the edge package
(``selftest/inputs/*.npy`` and the compiled model's ``selftest/outputs/*.npy`` on
them) and ``compilation-report.json``.
"""

from __future__ import annotations

import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.edge import optimize
from modelyard.edge.adapters import ArtifactError, get_adapter
from modelyard.edge.signature import (
    SignatureError,
    TensorSpec,
    check_sample,
    generated_sample,
)
from modelyard.edge.targets import Target
from modelyard.edge.verify import FP32_TOLERANCE, INT8_TOLERANCE, Tolerance, compare

MODEL_FILE = "model.onnx"
REPORT_FILE = "compilation-report.json"
SELFTEST_DIR = "selftest"
#: Rows of the sample kept for the edge package's self-test.
SELFTEST_ROWS = 16


class VerificationError(ValueError):
    """The compiled model does not predict what the original predicts (within tolerance)."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class CompileRequest:
    framework: str
    model_dir: Path
    target: Target
    signature: list[TensorSpec] = field(default_factory=list)
    quantization: str = "none"
    sample: dict[str, np.ndarray] | None = None
    tolerance: Tolerance | None = None

    def effective_tolerance(self) -> Tolerance:
        if self.tolerance is not None:
            return self.tolerance
        return FP32_TOLERANCE if self.quantization == "none" else INT8_TOLERANCE


def load_sample(path: Path, signature: list[TensorSpec]) -> dict[str, np.ndarray]:
    """A sample file: ``.npy`` (one input), ``.npz`` (by input name), ``.csv`` or ``.json``."""
    names = [spec.name for spec in signature] or ["input"]
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    if suffix == ".npy":
        return {names[0]: np.load(path, allow_pickle=False)}
    if suffix == ".csv":
        return {names[0]: np.atleast_2d(np.loadtxt(path, delimiter=",", dtype=np.float64))}
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {str(k): np.asarray(v) for k, v in data.items()}
        return {names[0]: np.asarray(data)}
    raise SignatureError(f"sample {path.name}: use a .npy, .npz, .csv or .json file")


def _cast(sample: dict[str, np.ndarray], signature: list[TensorSpec]) -> dict[str, np.ndarray]:
    return {
        spec.name: np.ascontiguousarray(sample[spec.name], dtype=spec.dtype) for spec in signature
    }


def compile_model(request: CompileRequest, out_dir: Path) -> dict[str, Any]:
    """Compile and verify (see the module doc); returns the report (also written to ``out_dir``).

    Raises :class:`ArtifactError` / :class:`SignatureError` (the request's to fix) or
    :class:`VerificationError` (past the tolerance; its ``report`` has the numbers).
    """
    started = time.monotonic()
    adapter = get_adapter(request.framework)
    target = request.target
    if request.quantization not in optimize.QUANTIZATION_MODES:
        raise SignatureError(
            f"quantization {request.quantization!r} is not one of "
            f"{', '.join(optimize.QUANTIZATION_MODES)}"
        )
    if request.quantization != "none" and request.quantization not in target.quantization:
        raise SignatureError(f"target {target.name} does not run {request.quantization} models")
    model_path = adapter.find(request.model_dir)
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as recorded:
        warnings.simplefilter("always")
        try:
            model = adapter.load(model_path)
        except ArtifactError:
            raise
        except Exception as exc:
            raise ArtifactError(
                f"{model_path.name} could not be loaded as a {adapter.framework} model: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        signature = request.signature or adapter.infer_signature(model)
        sample_source = "request"
        sample = request.sample
        if sample is None:
            sample, sample_source = generated_sample(signature), "generated"
        if len(signature) == 1 and signature[0].name not in sample and len(sample) == 1:
            sample = {signature[0].name: next(iter(sample.values()))}
        check_sample(signature, sample)
        sample = _cast(sample, signature)
        original = adapter.predict(model, sample)
        try:
            converted = adapter.to_onnx(model, signature, target)
        except ArtifactError:
            raise
        except Exception as exc:
            raise ArtifactError(
                f"the {adapter.framework} model could not be converted to ONNX: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        caught = sorted({f"{w.category.__name__}: {str(w.message)[:200]}" for w in recorded})
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = out_dir / ".work"
    scratch.mkdir(exist_ok=True)
    converted_path = scratch / "converted.onnx"
    converted_path.write_bytes(converted.SerializeToString())
    converted_size = converted_path.stat().st_size
    stage = converted_path
    if request.quantization != "none":
        stage = optimize.quantize(stage, scratch / "quantized.onnx", request.quantization, sample)
    final = out_dir / MODEL_FILE
    optimize.optimize_graph(stage, final, target.graph_optimization)
    compiled = optimize.run_onnx(final, sample)
    verification = compare(original, compiled, request.effective_tolerance())
    selftest = _write_selftest(out_dir, final, sample)
    shutil.rmtree(scratch, ignore_errors=True)
    report: dict[str, Any] = {
        "Framework": adapter.framework,
        "Target": target.name,
        "Quantization": request.quantization,
        "ModelFile": model_path.relative_to(request.model_dir).as_posix(),
        "InputSignature": [spec.to_dict() for spec in signature],
        "OutputSignature": _output_signature(final),
        "Verification": verification.to_dict(),
        "OriginalModelSizeBytes": model_path.stat().st_size,
        "ConvertedModelSizeBytes": converted_size,
        "CompiledModelSizeBytes": final.stat().st_size,
        "QuantizedNodes": optimize.quantized_node_count(final),
        "Opsets": _opsets(final),
        "SampleSource": sample_source,
        "SelfTest": selftest,
        "Warnings": caught,
        "CompilationSeconds": round(time.monotonic() - started, 3),
    }
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if not verification.passed:
        raise VerificationError(
            "the compiled model does not match the original: " + "; ".join(verification.problems()),
            report,
        )
    return report


def _write_selftest(out_dir: Path, model: Path, sample: dict[str, np.ndarray]) -> dict[str, Any]:
    """The package's self-test: a few sample rows and the compiled model's outputs on them."""
    rows = {name: values[:SELFTEST_ROWS] for name, values in sample.items()}
    outputs = optimize.run_onnx(model, rows)
    inputs_dir = out_dir / SELFTEST_DIR / "inputs"
    outputs_dir = out_dir / SELFTEST_DIR / "outputs"
    for directory, arrays in ((inputs_dir, rows), (outputs_dir, outputs)):
        directory.mkdir(parents=True, exist_ok=True)
        for name, values in arrays.items():
            array = np.asarray(values)
            if array.dtype == object:
                array = array.astype(str)
            np.save(directory / f"{name}.npy", array, allow_pickle=False)
    return {"Rows": int(next(iter(rows.values())).shape[0]), "Outputs": sorted(outputs)}


def _output_signature(model: Path) -> list[dict[str, Any]]:
    sess = optimize.session(model)
    types = {
        "tensor(float)": "float32",
        "tensor(double)": "float64",
        "tensor(int64)": "int64",
        "tensor(int32)": "int32",
        "tensor(string)": "str",
    }
    return [
        TensorSpec(
            name=value.name,
            shape=tuple(d if isinstance(d, int) else None for d in value.shape),
            dtype=types.get(value.type, value.type),
        ).to_dict()
        for value in sess.get_outputs()
    ]


def _opsets(model: Path) -> dict[str, int]:
    import onnx

    loaded = onnx.load(str(model), load_external_data=False)
    return {entry.domain or "ai.onnx": int(entry.version) for entry in loaded.opset_import}
