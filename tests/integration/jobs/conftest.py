"""A control plane served over real HTTP, a toolkit-only image, and helpers to run jobs.

The toolkit-only image (no packages) builds in a few seconds once per machine and is
reused from the shared image cache afterwards; trivial scripts need nothing more.
"""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from modelyard.api.app import create_app
from modelyard.api.services import Services, build_services
from modelyard.config import Settings
from modelyard.sdk.client import ApiClient
from tests.fixtures.asgi_server import serve

TOOLKIT_IMAGE = "toolkit:test"
BUCKET = "jobs"
TERMINAL = ("Completed", "Failed", "Stopped")


@dataclass
class Plane:
    """The served control plane: its HTTP client and, for set-up, its backends."""

    client: ApiClient
    services: Services

    def put(self, key: str, data: bytes) -> str:
        self.services.store.put_object(BUCKET, key, data)
        return f"s3://{BUCKET}/{key}"

    def bundle(self, name: str, files: dict[str, str]) -> str:
        """Upload a sourcedir.tar.gz holding ``files``; its s3 URI."""
        return self.put(f"{name}/source/sourcedir.tar.gz", make_tarball(files))

    def artifact(self, key: str) -> dict[str, bytes]:
        """The members of a tarball in the jobs bucket."""
        return read_tarball(self.services.store.get_object(BUCKET, key))

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = self.client.post_json("/training-jobs", body)
        return created

    def describe(self, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get_json(f"/training-jobs/{name}")
        return found

    def wait(self, name: str, statuses: tuple[str, ...] = TERMINAL, timeout_s: float = 60):
        deadline = time.monotonic() + timeout_s
        while True:
            described = self.describe(name)
            if described["TrainingJobStatus"] in statuses:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still {described['TrainingJobStatus']}: {described}")
            time.sleep(0.05)

    def wait_secondary(self, name: str, secondary: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            described = self.describe(name)
            if described.get("SecondaryStatus") == secondary:
                return described
            if described["TrainingJobStatus"] in TERMINAL or time.monotonic() > deadline:
                raise AssertionError(f"{name} never reached {secondary}: {described}")
            time.sleep(0.05)

    def logs(self, name: str) -> str:
        return self.client.request("GET", f"/training-jobs/{name}/logs").text


def make_tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def read_tarball(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def job_body(name: str, bundle: str, *, program: str = "train.py", **fields: Any) -> dict[str, Any]:
    """A CreateTrainingJob request for the toolkit image, script mode, one File channel."""
    body: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::000000000000:role/ignored",
        "AlgorithmSpecification": {"TrainingImage": TOOLKIT_IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {
            "sagemaker_program": f'"{program}"',
            "sagemaker_submit_directory": f'"{bundle}"',
        },
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/data/train/",
                    }
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "local", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    for key, value in fields.items():
        if isinstance(value, dict) and isinstance(body.get(key), dict):
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def start_plane(settings: Settings) -> Iterator[Plane]:
    services = build_services(settings)
    try:
        services.store.create_bucket(BUCKET, exist_ok=True)
        services.store.put_object(BUCKET, "data/train/data.csv", b"1,2\n3,4\n5,6\n")
        if not any(r.spec.get("ImageName") == "toolkit" for r in services.images.list()):
            services.images.register_request({"Name": "toolkit", "Tag": "test"})
        services.images.build(TOOLKIT_IMAGE, wait=True)
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
