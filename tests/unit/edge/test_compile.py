"""Compilation in-process: each framework's example model, fp32 and int8, verified."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.edge.adapters import ArtifactError
from modelyard.edge.compile import (
    MODEL_FILE,
    REPORT_FILE,
    CompileRequest,
    VerificationError,
    compile_model,
)
from modelyard.edge.optimize import run_onnx
from modelyard.edge.signature import SignatureError, parse_data_input_config
from modelyard.edge.targets import get_target
from modelyard.edge.verify import Tolerance
from tests.unit.edge import models

X86 = get_target("onnx-cpu-x86_64")


def _compile(
    tmp_path: Path, framework: str, sample: np.ndarray, quantization: str = "none", **kwargs: object
) -> dict[str, object]:
    request = CompileRequest(
        framework=framework,
        model_dir=tmp_path / "model",
        target=kwargs.pop("target", X86),  # type: ignore[arg-type]
        quantization=quantization,
        sample={"input": sample},
        **kwargs,  # type: ignore[arg-type]
    )
    return compile_model(request, tmp_path / "out")


@pytest.mark.parametrize("kind", ["logistic", "forest", "mlp"])
@pytest.mark.parametrize("quantization", ["none", "int8-dynamic", "int8-static"])
def test_sklearn_models_compile_and_match(tmp_path: Path, kind: str, quantization: str) -> None:
    sample = models.sklearn_model(tmp_path / "model", kind)
    report = _compile(tmp_path, "SKLEARN", sample, quantization)
    verification = report["Verification"]
    assert verification["Passed"]
    assert verification["LabelAgreement"] >= (1.0 if quantization == "none" else 0.95)
    if quantization == "none":
        assert verification["MaxAbsoluteError"] < 1e-4
    assert report["InputSignature"] == [{"Name": "input", "Shape": [None, 4], "Dtype": "float32"}]
    assert (tmp_path / "out" / MODEL_FILE).is_file()
    assert json.loads((tmp_path / "out" / REPORT_FILE).read_text())["Target"] == "onnx-cpu-x86_64"


def test_sklearn_mlp_int8_has_quantized_nodes(tmp_path: Path) -> None:
    sample = models.sklearn_model(tmp_path / "model", "mlp")
    report = _compile(tmp_path, "SKLEARN", sample, "int8-dynamic")
    assert report["QuantizedNodes"] > 0


@pytest.mark.parametrize("quantization", ["none", "int8-dynamic", "int8-static"])
def test_xgboost_booster_compiles_and_matches(tmp_path: Path, quantization: str) -> None:
    sample = models.xgboost_model(tmp_path / "model")
    report = _compile(tmp_path, "XGBOOST", sample, quantization)
    assert report["Verification"]["Passed"]
    assert report["Verification"]["LabelAgreement"] >= 0.95
    assert report["ModelFile"] == "xgboost-model"
    outputs = run_onnx(tmp_path / "out" / MODEL_FILE, {"input": sample[:3]})
    assert set(outputs) == {"label", "probabilities"}


@pytest.mark.parametrize("quantization", ["none", "int8-dynamic", "int8-static"])
def test_torch_mlp_compiles_and_matches(tmp_path: Path, quantization: str) -> None:
    sample = models.torch_model(tmp_path / "model")
    report = _compile(
        tmp_path,
        "PYTORCH",
        sample,
        quantization,
        signature=parse_data_input_config('{"input": [1, 4]}'),
    )
    verification = report["Verification"]
    assert verification["Passed"], verification
    assert verification["LabelAgreement"] >= 0.95
    if quantization == "none":
        assert verification["MaxAbsoluteError"] < 1e-4
    else:
        assert report["QuantizedNodes"] > 0
        assert report["CompiledModelSizeBytes"] < report["ConvertedModelSizeBytes"]


def test_past_the_tolerance_fails_saying_by_how_much(tmp_path: Path) -> None:
    sample = models.torch_model(tmp_path / "model")
    with pytest.raises(VerificationError) as caught:
        _compile(
            tmp_path,
            "PYTORCH",
            sample,
            "int8-dynamic",
            signature=parse_data_input_config('{"input": [1, 4]}'),
            tolerance=Tolerance(absolute=1e-7, relative=0.0, min_label_agreement=1.0),
        )
    message = str(caught.value)
    assert "max absolute error" in message
    assert "exceeds the tolerance 1e-07 by" in message
    assert caught.value.report["Verification"]["Passed"] is False


def test_a_generated_sample_is_used_when_none_is_given(tmp_path: Path) -> None:
    models.sklearn_model(tmp_path / "model", "logistic")
    request = CompileRequest(framework="sklearn", model_dir=tmp_path / "model", target=X86)
    report = compile_model(request, tmp_path / "out")
    assert report["SampleSource"] == "generated"
    assert (tmp_path / "out" / "selftest" / "inputs" / "input.npy").is_file()
    assert np.load(tmp_path / "out" / "selftest" / "outputs" / "probabilities.npy").shape == (16, 3)


def test_arm64_target_uses_the_portable_optimisation_level(tmp_path: Path) -> None:
    sample = models.sklearn_model(tmp_path / "model", "forest")
    report = _compile(tmp_path, "SKLEARN", sample, target=get_target("rasp4b"))
    assert report["Target"] == "onnx-cpu-arm64"


def test_missing_model_and_bad_sample_are_client_errors(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "notes.txt").write_text("nothing here")
    with pytest.raises(ArtifactError, match=r"no sklearn model in the artifact.*notes\.txt"):
        _compile(tmp_path, "SKLEARN", np.zeros((2, 4), np.float32))
    models.sklearn_model(tmp_path / "model", "logistic")
    with pytest.raises(SignatureError, match="dimension 1 is 3, the signature says 4"):
        _compile(tmp_path, "SKLEARN", np.zeros((2, 3), np.float32))


def test_torch_needs_its_input_shapes(tmp_path: Path) -> None:
    sample = models.torch_model(tmp_path / "model")
    with pytest.raises(ArtifactError, match="DataInputConfig"):
        _compile(tmp_path, "PYTORCH", sample)


def test_an_onnx_model_compiles_again_to_int8(tmp_path: Path) -> None:
    sample = models.torch_model(tmp_path / "torch")
    first = CompileRequest(
        framework="PYTORCH",
        model_dir=tmp_path / "torch",
        target=X86,
        signature=parse_data_input_config('{"input": [1, 4]}'),
        sample={"input": sample},
    )
    compile_model(first, tmp_path / "fp32")
    (tmp_path / "model").mkdir()
    (tmp_path / "fp32" / MODEL_FILE).rename(tmp_path / "model" / "exported.onnx")
    report = _compile(tmp_path, "ONNX", sample, "int8-dynamic")
    assert report["ModelFile"] == "exported.onnx"
    assert report["QuantizedNodes"] > 0
    assert report["Verification"]["LabelAgreement"] >= 0.95
