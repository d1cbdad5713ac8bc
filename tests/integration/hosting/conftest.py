"""Real endpoints: the control plane served on loopback, replicas in the sklearn:1.5 image.

Models are trained once per session by the image's own Python (so their pickles match
its scikit-learn) and tarred as ``model.tar.gz``. Each test gets a fresh home with fast
health checks; every endpoint it leaves is deleted, and any replica process still
running afterwards is stopped, so nothing outlives the test.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelyard.config import Settings, get_settings, reset_settings
from modelyard.images import VenvBuilder, resolve
from modelyard.runtime import get_runtime
from tests.fixtures.asgi_server import serve_modelyard

TRAIN_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 180.0
IMAGE = "sklearn:1.5"

TRAIN = """
import joblib, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
X, y = load_iris(return_X_y=True)
kind = sys.argv[1]
if kind == "logistic":
    model = LogisticRegression(max_iter=1000)
else:
    model = DecisionTreeClassifier(max_depth=1, random_state=0)
joblib.dump(model.fit(X, y), sys.argv[2])
"""

FAILING_MODEL_FN = """
def model_fn(model_dir):
    raise RuntimeError("the weights file is corrupt")
"""

SLEEPY_PREDICT = """
import os, time, joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model, context):
    time.sleep(float(os.environ.get("PREDICT_SLEEP_S", "0")))
    if context.custom_attributes:
        context.set_response_header(
            0, "X-Amzn-SageMaker-Custom-Attributes", "echo:" + context.custom_attributes
        )
    return model.predict(data)
"""


def _image_python() -> Path:
    env = VenvBuilder(Settings().images_dir).ensure_built(resolve("sklearn", "1.5").image_spec())
    return env / "bin" / "python"


def _tar(directory: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        for path in sorted(directory.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return target


@dataclass(frozen=True)
class Artifacts:
    """``model.tar.gz`` files: two classifiers, one whose model_fn raises, and one with an
    inference.py that sleeps ``PREDICT_SLEEP_S`` and echoes the custom attributes."""

    logistic: Path
    tree: Path
    failing: Path
    sleepy: Path


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Artifacts:
    root = tmp_path_factory.mktemp("hosting-models")
    python = _image_python()
    made: dict[str, Path] = {}
    for kind in ("logistic", "tree"):
        model_dir = root / kind
        model_dir.mkdir()
        completed = subprocess.run(
            [str(python), "-c", TRAIN, kind, str(model_dir / "model.joblib")],
            capture_output=True,
            text=True,
            timeout=TRAIN_TIMEOUT_S,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1"},
            check=False,
        )
        assert completed.returncode == 0, completed.stderr
        made[kind] = _tar(model_dir, root / f"{kind}.tar.gz")
    failing = root / "failing"
    (failing / "code").mkdir(parents=True)
    (failing / "code" / "inference.py").write_text(textwrap.dedent(FAILING_MODEL_FN))
    sleepy = root / "sleepy"
    (sleepy / "code").mkdir(parents=True)
    (sleepy / "code" / "inference.py").write_text(textwrap.dedent(SLEEPY_PREDICT))
    (sleepy / "model.joblib").write_bytes((root / "logistic" / "model.joblib").read_bytes())
    return Artifacts(
        logistic=made["logistic"],
        tree=made["tree"],
        failing=_tar(failing, root / "failing.tar.gz"),
        sleepy=_tar(sleepy, root / "sleepy.tar.gz"),
    )


class Hosting:
    """A served control plane of one home, and the steps tests take with it."""

    def __init__(self, url: str, artifacts: Artifacts) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=60.0)
        self.artifacts = artifacts
        self.bucket_ready = False

    def upload(self, path: Path, key: str) -> str:
        if not self.bucket_ready:
            self.http.put("/buckets/models")
            self.bucket_ready = True
        response = self.http.put(f"/buckets/models/objects/{key}", content=path.read_bytes())
        assert response.status_code < 300, response.text
        return f"s3://models/{key}"

    def create_model(self, name: str, tarball: Path, **environment: str) -> None:
        uri = self.upload(tarball, f"{name}/model.tar.gz")
        body = {
            "ModelName": name,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": uri, "Environment": environment},
        }
        response = self.http.post("/models", json=body)
        assert response.status_code == 201, response.text

    def create_config(self, name: str, variants: list[dict[str, Any]], **extra: Any) -> None:
        body = {"EndpointConfigName": name, "ProductionVariants": variants, **extra}
        response = self.http.post("/endpoint-configs", json=body)
        assert response.status_code == 201, response.text

    def create_endpoint(self, name: str, config: str, *, wait: bool = True) -> dict[str, Any]:
        response = self.http.post(
            "/endpoints", json={"EndpointName": name, "EndpointConfigName": config}
        )
        assert response.status_code == 201, response.text
        return self.wait(name) if wait else {}

    def deploy(
        self, name: str, tarball: Path, *, count: int = 1, **environment: str
    ) -> dict[str, Any]:
        """One model, one variant ``AllTraffic`` of ``count`` replicas, in service."""
        environment.setdefault("SAGEMAKER_MODEL_SERVER_WORKERS", "1")
        self.create_model(f"{name}-model", tarball, **environment)
        self.create_config(f"{name}-config", [variant("AllTraffic", f"{name}-model", count)])
        return self.create_endpoint(name, f"{name}-config")

    def describe(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"/endpoints/{name}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def wait(
        self, name: str, status: str = "InService", timeout_s: float = READY_TIMEOUT_S
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        described: dict[str, Any] = {}
        while time.monotonic() < deadline:
            described = self.describe(name)
            if described["EndpointStatus"] == status:
                return described
            if described["EndpointStatus"] == "Failed" and status != "Failed":
                raise AssertionError(f"endpoint {name} failed: {described.get('FailureReason')}")
            time.sleep(0.1)
        raise AssertionError(f"endpoint {name} is not {status} in time: {described}")

    def wait_until(self, what: Any, timeout_s: float = 60.0, message: str = "") -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = what()
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting: {message}")

    def invoke(
        self,
        name: str,
        body: bytes,
        content_type: str = "text/csv",
        accept: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        sent = {
            "Content-Type": content_type,
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        if accept:
            sent["Accept"] = accept
        return self.http.post(f"/endpoints/{name}/invocations", content=body, headers=sent)

    def replicas(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.http.get(f"/endpoints/{name}/replicas").json()[
            "Replicas"
        ]
        return found

    def delete_everything(self) -> None:
        listed = self.http.get("/endpoints").json()["Endpoints"]
        for endpoint in listed:
            self.http.delete(f"/endpoints/{endpoint['EndpointName']}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.http.get("/endpoints").json()["Endpoints"]:
            time.sleep(0.1)
        self.http.close()


def variant(name: str, model: str, count: int = 1, weight: float = 1.0) -> dict[str, Any]:
    return {
        "VariantName": name,
        "ModelName": model,
        "InstanceType": "ml.t2.medium",
        "InitialInstanceCount": count,
        "InitialVariantWeight": weight,
    }


def csv_rows(rows: list[list[float]]) -> bytes:
    return "\n".join(",".join(repr(v) for v in row) for row in rows).encode()


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


def stop_leftover_replicas(settings: Settings) -> None:
    """Whatever a failed test left running under this home."""
    runtime = get_runtime(settings)
    for handle in runtime.list():
        if handle.is_running():
            handle.stop(2.0)


FAST_HEALTH = {
    "MODELYARD_ENDPOINT_HEALTH_CHECK_PERIOD_S": "0.5",
    "MODELYARD_ENDPOINT_HEALTH_CHECK_TIMEOUT_S": "1.0",
    "MODELYARD_ENDPOINT_UNHEALTHY_THRESHOLD": "2",
    "MODELYARD_ENDPOINT_STOP_GRACE_S": "5",
    "MODELYARD_ENDPOINT_RECONCILE_INTERVAL_S": "0.1",
    "MODELYARD_CAPTURE_FLUSH_INTERVAL_S": "0.5",
}


@pytest.fixture
def hosting(
    artifacts: Artifacts, modelyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hosting]:
    for key, value in FAST_HEALTH.items():
        monkeypatch.setenv(key, value)
    reset_settings()
    settings = get_settings()
    try:
        with serve_modelyard(settings) as url:
            helper = Hosting(url, artifacts)
            try:
                yield helper
            finally:
                helper.delete_everything()
    finally:
        stop_leftover_replicas(settings)


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
