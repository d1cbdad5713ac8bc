"""Graph optimisation and int8 quantisation with onnxruntime.

* **optimise**: onnxruntime's offline graph optimisation at the target's level
  (``basic``: constant folding and redundant-node removal, portable to any CPU;
  ``extended``: fusions into onnxruntime's contrib operators);
* **int8-dynamic**: weights of MatMul/Gemm (and friends) stored as int8, activations
  quantised on the fly (``quantize_dynamic``); no calibration needed;
* **int8-static**: weights and activations int8 (QDQ format), activation ranges
  calibrated on the compilation's sample (``quantize_static``).

Tree ensembles and linear models converted from scikit-learn / XGBoost have no
quantisable operator: their int8 model is their fp32 model, and the report says so
(``QuantizedNodes: 0``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

QUANTIZATION_MODES = ("none", "int8-dynamic", "int8-static")
_FLOAT = 1  # onnx.TensorProto.FLOAT
_QUANTIZED_OPS = frozenset(
    {
        "QuantizeLinear",
        "DynamicQuantizeLinear",
        "MatMulInteger",
        "QLinearMatMul",
        "DynamicQuantizeMatMul",
        "QLinearConv",
        "ConvInteger",
        "MatMulIntegerToFloat",
    }
)


def _quiet_onnxruntime() -> Any:
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    logging.getLogger("root").setLevel(logging.ERROR)  # the quantizer's advice lines
    return onnxruntime


def session(
    model: bytes | str | Path, providers: tuple[str, ...] = ("CPUExecutionProvider",)
) -> Any:
    ort = _quiet_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    source = str(model) if isinstance(model, Path) else model
    return ort.InferenceSession(source, sess_options=options, providers=list(providers))


def run_onnx(model: bytes | str | Path, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output of ``model`` on ``sample``, by output name."""
    sess = session(model)
    feeds = _feeds(sess, sample)
    names = [output.name for output in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds), strict=True))


_ORT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def _feeds(sess: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    feeds = {}
    for value in sess.get_inputs():
        if value.name not in sample:
            raise ValueError(f"the sample has no input {value.name!r}")
        dtype = _ORT_TYPES.get(value.type, np.float32)
        feeds[value.name] = np.ascontiguousarray(sample[value.name], dtype=dtype)
    return feeds


def optimize_graph(source: Path, target_path: Path, level: str) -> Path:
    """Write ``source`` optimised offline at ``level`` (basic, extended, none)."""
    ort = _quiet_onnxruntime()
    levels = {
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    }
    if level not in levels:
        raise ValueError(f"graph optimization {level!r} is not one of {', '.join(levels)}")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = levels[level]
    options.optimized_model_filepath = str(target_path)
    ort.InferenceSession(str(source), sess_options=options, providers=["CPUExecutionProvider"])
    return target_path


class _SampleReader:
    """onnxruntime's CalibrationDataReader over the sample, one row at a time."""

    def __init__(self, input_names: list[str], sample: dict[str, np.ndarray], rows: int) -> None:
        self._rows: Iterator[dict[str, np.ndarray]] = iter(
            [{name: sample[name][i : i + 1] for name in input_names} for i in range(rows)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._rows, None)

    def rewind(self) -> None:  # pragma: no cover - not used by the MinMax calibrator
        pass


def quantize(
    source: Path, target_path: Path, mode: str, sample: dict[str, np.ndarray] | None = None
) -> Path:
    """Write ``source`` quantised with ``mode`` (int8-dynamic / int8-static) to ``target_path``."""
    _quiet_onnxruntime()
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as scratch:
        normalized = _with_default_opset(source, Path(scratch) / "normalized.onnx")
        prepared = Path(scratch) / "prepared.onnx"
        try:
            # Symbolic shape inference is for transformer graphs; on ai.onnx.ml graphs it
            # fails and leaves a temporary file in the working directory.
            quant_pre_process(str(normalized), str(prepared), skip_symbolic_shape=True)
        except Exception:  # shape inference fails on some ai.onnx.ml graphs: use as is
            prepared = normalized
        if mode == "int8-dynamic":
            quantize_dynamic(
                str(prepared),
                str(target_path),
                weight_type=QuantType.QInt8,
                # Graphs optimised by onnxruntime hold contrib operators shape inference
                # cannot type: their weights are float.
                extra_options={"DefaultTensorType": _FLOAT},
            )
        elif mode == "int8-static":
            if sample is None:
                raise ValueError("int8-static quantization needs a sample to calibrate on")
            inputs = [value.name for value in session(source).get_inputs()]
            rows = min(len(next(iter(sample.values()))), 256)

            class Reader(CalibrationDataReader):  # type: ignore[misc]
                def __init__(self) -> None:
                    self.inner = _SampleReader(inputs, sample or {}, rows)

                def get_next(self) -> dict[str, np.ndarray] | None:
                    return self.inner.get_next()

            quantize_static(
                str(prepared),
                str(target_path),
                Reader(),
                quant_format=QuantFormat.QDQ,
                weight_type=QuantType.QInt8,
                activation_type=QuantType.QUInt8,
                extra_options={"DefaultTensorType": _FLOAT},
            )
        else:
            raise ValueError(f"quantization {mode!r} is not one of {', '.join(QUANTIZATION_MODES)}")
    return target_path


def _with_default_opset(source: Path, target_path: Path, version: int = 15) -> Path:
    """``source`` with exactly one entry for the default domain, as the quantizer needs.

    onnxmltools' tree ensembles import only ``ai.onnx.ml``; skl2onnx may list the
    default domain twice ("Failed to find proper ai.onnx domain" either way).
    """
    import onnx

    model = onnx.load(str(source))
    best: dict[str, int] = {}
    for entry in model.opset_import:
        domain = "" if entry.domain == "ai.onnx" else entry.domain
        best[domain] = max(best.get(domain, 0), entry.version)
    best.setdefault("", version)
    del model.opset_import[:]
    for domain, opset in best.items():
        model.opset_import.append(onnx.helper.make_opsetid(domain, opset))
    onnx.save(model, str(target_path))
    return target_path


def quantized_node_count(model_path: Path) -> int:
    """How many operators of the model work on int8 (0: nothing was quantisable)."""
    import onnx

    model = onnx.load(str(model_path))
    return sum(1 for node in model.graph.node if node.op_type in _QUANTIZED_OPS)
