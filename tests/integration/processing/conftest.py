"""A control plane served over real HTTP with processing jobs, on the sklearn framework image.

The image (``sklearn:1.5``) is built once per machine and reused from the shared image
cache. Jobs run under bubblewrap with their directory at ``/opt/ml``. The controller
polls fast (continuous uploads every 0.2 s) and writes dataset results in parts of
3 rows, so sharding shows on small data.
"""

from __future__ import annotations

import shutil
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from modelyard.api.app import create_app
from modelyard.api.services import Services, build_services
from modelyard.config import Settings
from modelyard.jobs.processing import ProcessingController
from modelyard.sdk.client import ApiClient
from tests.fixtures.asgi_server import serve

IMAGE = "sklearn:1.5"
BUCKET = "jobs"
TERMINAL = ("Completed", "Failed", "Stopped")
ROLE = "arn:aws:iam::000000000000:role/ignored"


@dataclass
class Plane:
    client: ApiClient
    services: Services

    @property
    def store(self) -> Any:
        return self.services.store

    def put(self, key: str, data: bytes | str) -> str:
        self.store.put_object(BUCKET, key, data.encode() if isinstance(data, str) else data)
        return f"s3://{BUCKET}/{key}"

    def script(self, name: str, code: str) -> dict[str, Any]:
        """Upload ``code`` and return the ``code`` input that puts it in input/code/."""
        uri = self.put(f"code/{name}.py", textwrap.dedent(code))
        return s3_input("code", uri, "/opt/ml/processing/input/code")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.client.post_json("/processing-jobs", body)
        return created

    def describe(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get_json(f"/processing-jobs/{name}")
        return found

    def wait(self, name: str, timeout_s: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            described = self.describe(name)
            if described["ProcessingJobStatus"] in TERMINAL:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still running: {described}")
            time.sleep(0.05)

    def run(self, body: dict[str, Any], timeout_s: float = 90) -> dict[str, Any]:
        self.create(body)
        return self.wait(body["ProcessingJobName"], timeout_s)

    def logs(self, name: str) -> str:
        return self.client.request("GET", f"/processing-jobs/{name}/logs").text

    def text(self, key: str) -> str:
        return bytes(self.store.get_object(BUCKET, key)).decode()

    def keys(self, prefix: str) -> list[str]:
        return sorted(info.key for info in self.store.iter_objects(BUCKET, prefix))


def s3_input(name: str, uri: str, local_path: str, **fields: Any) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {"S3Uri": uri, "LocalPath": local_path, "S3DataType": "S3Prefix", **fields},
    }


def s3_output(name: str, uri: str, local_path: str, mode: str = "EndOfJob") -> dict[str, Any]:
    return {
        "OutputName": name,
        "S3Output": {"S3Uri": uri, "LocalPath": local_path, "S3UploadMode": mode},
    }


def job_body(
    name: str,
    script: str = "main",
    *,
    inputs: list[dict[str, Any]] | None = None,
    outputs: list[dict[str, Any]] | None = None,
    instance_count: int = 1,
    **fields: Any,
) -> dict[str, Any]:
    """A CreateProcessingJob request running input/code/<script>.py with python3."""
    body: dict[str, Any] = {
        "ProcessingJobName": name,
        "RoleArn": ROLE,
        "AppSpecification": {
            "ImageUri": IMAGE,
            "ContainerEntrypoint": ["python3", f"/opt/ml/processing/input/code/{script}.py"],
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": instance_count,
                "InstanceType": "local",
                "VolumeSizeInGB": 1,
            }
        },
        "ProcessingInputs": inputs or [],
        "ProcessingOutputConfig": {"Outputs": outputs or []},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    body.update(fields)
    return body


def start_plane(settings: Settings) -> Iterator[Plane]:
    if shutil.which("bwrap") is None:
        pytest.fail(
            "bubblewrap (bwrap) is missing: processing jobs run under it; `make setup` "
            "installs the Debian package 'bubblewrap'",
            pytrace=False,
        )
    services = build_services(settings)
    services.processing = ProcessingController(
        services.catalog,
        services.store,
        services.runtime,
        services.images,
        settings,
        continuous_upload_interval_s=0.2,
        rows_per_part=3,
        stop_grace_s=5,
    )
    try:
        services.store.create_bucket(BUCKET, exist_ok=True)
        services.images.framework_image("sklearn", "1.5")
        services.images.build(IMAGE, wait=True)
        with serve(create_app(services)) as url, ApiClient(url) as client:
            yield Plane(client, services)
    finally:
        services.close()
        for handle in services.runtime.list():
            if handle.is_running():
                handle.stop(grace_s=0)


@pytest.fixture
def plane(settings: Settings) -> Iterator[Plane]:
    yield from start_plane(settings)
