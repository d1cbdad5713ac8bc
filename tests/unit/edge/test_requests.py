"""CreateCompilationJob validation, targets, signatures and sample files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelyard.edge.compile import load_sample
from modelyard.edge.compile_spec import validate_compilation_request
from modelyard.edge.signature import SignatureError, TensorSpec, parse_data_input_config
from modelyard.edge.targets import UnknownTargetError, get_target, target_for_platform, targets
from modelyard.errors import ValidationError


def _body(**output: object) -> dict[str, object]:
    return {
        "CompilationJobName": "job-1",
        "InputConfig": {
            "S3Uri": "s3://bucket/model.tar.gz",
            "Framework": "pytorch",
            "DataInputConfig": '{"input0": [1, 3, 8, 8]}',
        },
        "OutputConfig": {"S3OutputLocation": "s3://bucket/out", **output},
    }


def test_a_sagemaker_request_is_normalised() -> None:
    spec = validate_compilation_request(
        _body(
            TargetPlatform={"Os": "LINUX", "Arch": "ARM64"},
            CompilerOptions=json.dumps({"quantization": "int8-dynamic"}),
        )
    )
    assert spec["InputConfig"]["Framework"] == "PYTORCH"
    assert spec["StoppingCondition"] == {"MaxRuntimeInSeconds": 900}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CompilerOptions": "{not json"}, "CompilerOptions is not JSON"),
        ({"TargetDevice": "ml_inf2"}, "unknown target 'ml_inf2'"),
        ({"TargetPlatform": {"Os": "ANDROID", "Arch": "ARM64"}}, "no target for TargetPlatform"),
        ({"CompilerOptions": {"Sample": "file:///etc/passwd"}}, "Sample"),
    ],
)
def test_bad_output_configs_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        validate_compilation_request(_body(**change))


def test_bad_names_shapes_and_fields_are_refused() -> None:
    body = _body()
    body["CompilationJobName"] = "bad_name"
    with pytest.raises(ValidationError, match="not a valid compilation-job name"):
        validate_compilation_request(body)
    body = _body()
    body["InputConfig"]["DataInputConfig"] = '{"input": [1, "x"]}'  # type: ignore[index]
    with pytest.raises(ValidationError, match="'x' is not a dimension"):
        validate_compilation_request(body)
    with pytest.raises(ValidationError, match="unknown field 'Extra'"):
        validate_compilation_request({**_body(), "Extra": 1})


def test_targets_are_data() -> None:
    assert {"onnx-cpu-x86_64", "onnx-cpu-arm64"} <= set(targets())
    assert get_target("rasp4b").name == "onnx-cpu-arm64"
    assert target_for_platform({"Os": "linux", "Arch": "x86_64"}).name == "onnx-cpu-x86_64"
    with pytest.raises(UnknownTargetError):
        get_target("tpu")


def test_signatures_make_the_batch_dynamic() -> None:
    assert parse_data_input_config('{"data": [1, 3, 224, 224]}') == [
        TensorSpec("data", (None, 3, 224, 224))
    ]
    assert parse_data_input_config("[[1, 4], [1, 2]]")[1].name == "input1"
    assert parse_data_input_config({"x": {"shape": [-1, 4], "dtype": "float64"}}) == [
        TensorSpec("x", (None, 4), "float64")
    ]
    with pytest.raises(SignatureError, match="dtype 'int8'"):
        parse_data_input_config({"x": {"shape": [1], "dtype": "int8"}})


def test_sample_files(tmp_path: Path) -> None:
    values = np.arange(8, dtype=np.float32).reshape(2, 4)
    signature = [TensorSpec("input", (None, 4))]
    np.save(tmp_path / "s.npy", values)
    np.savez(tmp_path / "s.npz", input=values)
    np.savetxt(tmp_path / "s.csv", values, delimiter=",")
    (tmp_path / "s.json").write_text(json.dumps(values.tolist()))
    for name in ("s.npy", "s.npz", "s.csv", "s.json"):
        loaded = load_sample(tmp_path / name, signature)
        np.testing.assert_allclose(loaded["input"], values)
    (tmp_path / "s.txt").write_text("1,2")
    with pytest.raises(SignatureError, match=r"use a \.npy"):
        load_sample(tmp_path / "s.txt", signature)
