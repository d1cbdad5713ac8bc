"""Compilation jobs through the HTTP API, each in its framework's compile image."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest

from modelyard.errors import ValidationError
from tests.integration.edge.conftest import Plane
from tests.unit.edge import models


def _request(name: str, model_uri: str, framework: str, **options: object) -> dict[str, object]:
    import json

    output: dict[str, object] = {"S3OutputLocation": "s3://edge/compiled", "TargetDevice": "rasp4b"}
    if options:
        output["CompilerOptions"] = json.dumps(options)
    return {
        "CompilationJobName": name,
        "RoleArn": "arn:aws:iam::000000000000:role/x",
        "InputConfig": {
            "S3Uri": model_uri,
            "Framework": framework,
            "DataInputConfig": '{"input": [1, 4]}',
        },
        "OutputConfig": output,
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def _sample(plane: Plane, key: str, values: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, values)
    return plane.put(key, buffer.getvalue())


def test_sklearn_model_compiles_in_its_image_and_is_verified(plane: Plane, tmp_path: Path) -> None:
    x = models.sklearn_model(tmp_path / "model", "forest")
    uri = plane.put_model_dir("rf/model.tar.gz", tmp_path / "model")
    sample = _sample(plane, "rf/sample.npy", x)
    created = plane.client.post_json(
        "/compilation-jobs", _request("rf-arm", uri, "SKLEARN", Sample=sample)
    )
    assert created["CompilationJobArn"].endswith(":compilation-job/rf-arm")
    described = plane.wait("compilation-jobs", "rf-arm", "CompilationJobStatus")
    assert described["CompilationJobStatus"] == "COMPLETED", described["FailureReason"]
    report = described["CompilationReport"]
    assert report["Target"] == "onnx-cpu-arm64"
    assert report["Verification"]["LabelAgreement"] == 1.0
    assert report["Verification"]["MaxAbsoluteError"] < 1e-4
    assert report["SampleSource"] == "request"
    artifact = described["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == "s3://edge/compiled/rf-arm/model-onnx-cpu-arm64.tar.gz"
    data = plane.services.store.get_object("edge", "compiled/rf-arm/model-onnx-cpu-arm64.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = set(tar.getnames())
    assert {"model.onnx", "compilation-report.json", "selftest/inputs/input.npy"} <= names
    assert described["DerivedInformation"]["DerivedDataInputConfig"] == '{"input": [null, 4]}'
    listed = plane.client.get_json("/compilation-jobs")["CompilationJobSummaries"]
    assert [s["CompilationJobName"] for s in listed] == ["rf-arm"]
    assert listed[0]["CompilationTargetDevice"] == "rasp4b"


@pytest.mark.parametrize(("framework", "maker"), [("XGBOOST", "xgboost"), ("PYTORCH", "torch")])
def test_xgboost_and_torch_compile_to_int8_within_tolerance(
    plane: Plane, tmp_path: Path, framework: str, maker: str
) -> None:
    x = getattr(models, f"{maker}_model")(tmp_path / "model")
    uri = plane.put_model_dir(f"{maker}/model.tar.gz", tmp_path / "model")
    sample = _sample(plane, f"{maker}/sample.npy", x)
    body = _request(f"{maker}-int8", uri, framework, Sample=sample, Quantization="int8-static")
    if maker == "xgboost":
        body["InputConfig"].pop("DataInputConfig")  # type: ignore[attr-defined]
    plane.client.post_json("/compilation-jobs", body)
    described = plane.wait("compilation-jobs", f"{maker}-int8", "CompilationJobStatus")
    assert described["CompilationJobStatus"] == "COMPLETED", described["FailureReason"]
    assert described["CompilationReport"]["Verification"]["LabelAgreement"] >= 0.95


def test_past_the_tolerance_the_job_fails_saying_by_how_much(plane: Plane, tmp_path: Path) -> None:
    x = models.torch_model(tmp_path / "model")
    uri = plane.put_model_dir("tight/model.tar.gz", tmp_path / "model")
    sample = _sample(plane, "tight/sample.npy", x)
    body = _request(
        "tight",
        uri,
        "PYTORCH",
        Sample=sample,
        Quantization="int8-dynamic",
        Tolerance={"AbsoluteTolerance": 1e-7, "RelativeTolerance": 0},
    )
    plane.client.post_json("/compilation-jobs", body)
    described = plane.wait("compilation-jobs", "tight", "CompilationJobStatus")
    assert described["CompilationJobStatus"] == "FAILED"
    assert described["FailureReason"].startswith("ClientError: the compiled model does not match")
    assert "exceeds the tolerance 1e-07 by" in described["FailureReason"]
    assert described["CompilationReport"]["Verification"]["Passed"] is False


def test_bad_requests_are_refused_before_anything_runs(plane: Plane) -> None:
    with pytest.raises(ValidationError, match="no object s3://edge/missing"):
        plane.client.post_json(
            "/compilation-jobs", _request("bad", "s3://edge/missing.tar.gz", "SKLEARN")
        )
    plane.put("m.tar.gz", b"x")
    with pytest.raises(ValidationError, match=r"TENSORFLOW.*cannot be compiled"):
        plane.client.post_json(
            "/compilation-jobs", _request("bad", "s3://edge/m.tar.gz", "TENSORFLOW")
        )
    body = _request("bad", "s3://edge/m.tar.gz", "SKLEARN", Quantization="int4")
    with pytest.raises(ValidationError, match="Quantization='int4'"):
        plane.client.post_json("/compilation-jobs", body)
    body = _request(
        "bad", "s3://edge/m.tar.gz", "SKLEARN", Target="onnx-cpu-arm32", Quantization="int8-static"
    )
    with pytest.raises(ValidationError, match="does not run int8-static"):
        plane.client.post_json("/compilation-jobs", body)
    assert plane.client.get_json("/compilation-jobs")["CompilationJobSummaries"] == []
    targets = plane.client.get_json("/edge/targets")["Targets"]
    assert {t["Name"] for t in targets} >= {"onnx-cpu-x86_64", "onnx-cpu-arm64"}
