"""Real transform jobs: the control plane served on loopback, replicas in the sklearn:1.5 image.

The models are the hosting tests' (trained once per session by the image's own Python);
each test gets a fresh home, and any replica still running afterwards is stopped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelyard.config import get_settings, reset_settings
from tests.fixtures.asgi_server import serve_modelyard
from tests.integration.hosting.conftest import (
    IMAGE,
    Artifacts,
    artifacts,
    stop_leftover_replicas,
)

__all__ = ["artifacts"]

JOB_TIMEOUT_S = 180.0


class Transform:
    """A served control plane of one home, and the steps transform tests take with it."""

    def __init__(self, url: str, artifacts: Artifacts) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60.0)
        self.artifacts = artifacts
        self.buckets: set[str] = set()

    def __enter__(self) -> Transform:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.http.close()

    def put(self, uri: str, data: bytes) -> str:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if bucket not in self.buckets:
            self.http.put(f"/buckets/{bucket}")
            self.buckets.add(bucket)
        response = self.http.put(f"/buckets/{bucket}/objects/{key}", content=data)
        assert response.status_code < 300, response.text
        return uri

    def get(self, uri: str) -> bytes:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        response = self.http.get(f"/buckets/{bucket}/objects/{key}")
        assert response.status_code == 200, (uri, response.text)
        return response.content

    def exists(self, uri: str) -> bool:
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        return self.http.get(f"/buckets/{bucket}/objects/{key}").status_code == 200

    def create_model(self, name: str, tarball: Path, **environment: str) -> None:
        uri = self.put(f"s3://models/{name}/model.tar.gz", tarball.read_bytes())
        body = {
            "ModelName": name,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": uri, "Environment": environment},
        }
        response = self.http.post("/models", json=body)
        assert response.status_code == 201, response.text

    def create(self, name: str, model: str, input_uri: str, **fields: Any) -> httpx.Response:
        return self.http.post("/transform-jobs", json=request(name, model, input_uri, **fields))

    def describe(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"/transform-jobs/{name}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def wait(self, name: str, timeout_s: float = JOB_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        described: dict[str, Any] = {}
        while time.monotonic() < deadline:
            described = self.describe(name)
            if described["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
                return described
            time.sleep(0.1)
        raise AssertionError(f"transform job {name} did not end in time: {described}")

    def run(self, name: str, model: str, input_uri: str, **fields: Any) -> dict[str, Any]:
        response = self.create(name, model, input_uri, **fields)
        assert response.status_code == 201, response.text
        return self.wait(name)

    def logs(self, name: str) -> str:
        return self.http.get(f"/transform-jobs/{name}/logs").text


def request(name: str, model: str, input_uri: str, **fields: Any) -> dict[str, Any]:
    """A CreateTransformJob request; ``fields`` go into TransformInput / TransformOutput /
    the top level by name."""
    transform_input: dict[str, Any] = {
        "DataSource": {
            "S3DataSource": {
                "S3DataType": fields.pop("S3DataType", "S3Prefix"),
                "S3Uri": input_uri,
            }
        }
    }
    for key in ("ContentType", "SplitType", "CompressionType"):
        if key in fields:
            transform_input[key] = fields.pop(key)
    output: dict[str, Any] = {"S3OutputPath": fields.pop("S3OutputPath", f"s3://out/{name}/")}
    for key in ("Accept", "AssembleWith"):
        if key in fields:
            output[key] = fields.pop(key)
    return {
        "TransformJobName": name,
        "ModelName": model,
        "TransformInput": transform_input,
        "TransformOutput": output,
        "TransformResources": {
            "InstanceType": "local",
            "InstanceCount": fields.pop("InstanceCount", 1),
        },
        **fields,
    }


@pytest.fixture
def transform(
    artifacts: Artifacts, modelyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Transform]:
    monkeypatch.setenv("MODELYARD_ENDPOINT_STOP_GRACE_S", "5")
    reset_settings()
    settings = get_settings()
    try:
        with serve_modelyard(settings) as url:
            helper = Transform(url, artifacts)
            helper.put("s3://out/.keep", b"")
            try:
                yield helper
            finally:
                helper.http.close()
    finally:
        stop_leftover_replicas(settings)
