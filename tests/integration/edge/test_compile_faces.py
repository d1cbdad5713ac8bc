"""Compilation through the SDK (sagemaker v2's names) and the CLI."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import common
from modelyard.cli.compilation_jobs import app
from modelyard.sdk.compile import CompilationFailedError, CompileMixin, compile_model_data
from modelyard.sdk.estimator import Estimator
from modelyard.sdk.model import Model
from modelyard.sdk.session import Session
from tests.integration.edge.conftest import Plane
from tests.unit.edge import models


def test_compile_model_takes_sagemaker_v2_arguments() -> None:
    sagemaker = importlib.import_module("sagemaker.estimator")
    theirs = inspect.signature(sagemaker.EstimatorBase.compile_model).parameters
    ours = inspect.signature(CompileMixin.compile_model).parameters
    assert [p for p in theirs if p not in ours] == []
    assert issubclass(Estimator, CompileMixin)
    theirs_model = inspect.signature(importlib.import_module("sagemaker.model").Model.compile)
    assert list(inspect.signature(Model.compile).parameters) == list(theirs_model.parameters)


def test_model_compile_points_the_model_at_the_onnx_artifact(plane: Plane, tmp_path: Path) -> None:
    models.sklearn_model(tmp_path / "model", "logistic")
    uri = plane.put_model_dir("model-compile/model.tar.gz", tmp_path / "model")
    with Session(server_url=plane.url) as session:
        model = Model(model_data=uri, sagemaker_session=session)
        compiled = model.compile(
            target_instance_family="ml_c5",
            input_shape={"input": [1, 4]},
            output_path="s3://edge/out",
            framework="sklearn",
            job_name="model-compile-lr",
        )
    assert compiled is model
    assert model.model_data == "s3://edge/out/model-compile-lr/model-onnx-cpu-x86_64.tar.gz"
    assert model.compiled_model is not None
    assert model.compiled_model.report["Verification"]["LabelAgreement"] >= 0.99


def test_sdk_compiles_an_artifact_and_reports(plane: Plane, tmp_path: Path) -> None:
    models.sklearn_model(tmp_path / "model", "logistic")
    uri = plane.put_model_dir("sdk/model.tar.gz", tmp_path / "model")
    with Session(server_url=plane.url) as session:
        _compile_with(session, uri, plane)


def _compile_with(session: Session, uri: str, plane: Plane) -> None:
    compiled = compile_model_data(
        session,
        uri,
        framework="sklearn",
        output_path="s3://edge/out",
        target_instance_family="ml_c5",
        input_shape={"input": [1, 4]},
        job_name="sdk-lr",
        compiler_options={"Quantization": "int8-dynamic"},
    )
    assert compiled.model_data == "s3://edge/out/sdk-lr/model-onnx-cpu-x86_64.tar.gz"
    assert compiled.report["Quantization"] == "int8-dynamic"
    assert compiled.report["QuantizedNodes"] == 0  # a linear model has nothing to quantise
    plane.put("empty/model.tar.gz", b"not a tarball")
    with pytest.raises(CompilationFailedError, match="no sklearn model in the artifact"):
        compile_model_data(
            session,
            "s3://edge/empty/model.tar.gz",
            framework="sklearn",
            output_path="s3://edge/out",
            job_name="sdk-empty",
        )


def test_cli_creates_waits_lists_and_describes(
    plane: Plane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "client", lambda: plane.client)
    models.sklearn_model(tmp_path / "model", "forest")
    uri = plane.put_model_dir("cli/model.tar.gz", tmp_path / "model")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "create",
            "--name",
            "cli-rf",
            "--model",
            uri,
            "--framework",
            "sklearn",
            "--output",
            "s3://edge/out",
            "--target",
            "onnx-cpu-arm64",
            "--wait",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "COMPLETED: s3://edge/out/cli-rf/model-onnx-cpu-arm64.tar.gz" in result.output
    listed = runner.invoke(app, ["list", "--json"])
    assert [row["CompilationJobName"] for row in json.loads(listed.stdout)] == ["cli-rf"]
    described = json.loads(runner.invoke(app, ["describe", "cli-rf"]).stdout)
    assert described["CompilationJobStatus"] == "COMPLETED"
