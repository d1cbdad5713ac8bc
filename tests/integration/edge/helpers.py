"""Compile and package a model through the API (shared by the edge integration tests)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from tests.integration.edge.conftest import Plane
from tests.unit.edge import models


def compiled_forest(plane: Plane, tmp_path: Path, name: str = "rf") -> dict[str, Any]:
    """A RandomForest on iris compiled for arm64 (COMPLETED, or the test fails)."""
    x = models.sklearn_model(tmp_path / name, "forest")
    uri = plane.put_model_dir(f"{name}/model.tar.gz", tmp_path / name)
    buffer = io.BytesIO()
    np.save(buffer, x)
    sample = plane.put(f"{name}/sample.npy", buffer.getvalue())
    plane.client.post_json(
        "/compilation-jobs",
        {
            "CompilationJobName": name,
            "InputConfig": {"S3Uri": uri, "Framework": "SKLEARN"},
            "OutputConfig": {
                "S3OutputLocation": "s3://edge/compiled",
                "TargetDevice": "rasp4b",
                "CompilerOptions": f'{{"Sample": "{sample}"}}',
            },
        },
    )
    described: dict[str, Any] = plane.wait("compilation-jobs", name, "CompilationJobStatus")
    assert described["CompilationJobStatus"] == "COMPLETED", described["FailureReason"]
    return described


def package(
    plane: Plane, job: str, compilation: str, version: str, key: str | None = "fleet-key"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "EdgePackagingJobName": job,
        "CompilationJobName": compilation,
        "ModelName": "iris",
        "ModelVersion": version,
        "RoleArn": "arn:aws:iam::000000000000:role/x",
        "OutputConfig": {"S3OutputLocation": "s3://edge/packages"},
        "Processing": {"Postprocessing": {"Labels": ["setosa", "versicolor", "virginica"]}},
    }
    if key:
        body["ResourceKey"] = key
    plane.client.post_json("/edge-packaging-jobs", body)
    described: dict[str, Any] = plane.wait(
        "edge-packaging-jobs", job, "EdgePackagingJobStatus", timeout_s=60
    )
    assert described["EdgePackagingJobStatus"] == "COMPLETED", described
    return described
