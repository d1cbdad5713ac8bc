"""A served control plane for the edge tests, and model artifacts in its store."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelyard.api.app import create_app
from modelyard.api.services import Services, build_services
from modelyard.config import Settings
from modelyard.sdk.client import ApiClient
from tests.fixtures.asgi_server import serve

BUCKET = "edge"
ACTIVE = ("STARTING", "INPROGRESS", "STOPPING")


@dataclass
class Plane:
    client: ApiClient
    services: Services
    url: str

    def put(self, key: str, data: bytes) -> str:
        self.services.store.put_object(BUCKET, key, data)
        return f"s3://{BUCKET}/{key}"

    def put_model_dir(self, key: str, model_dir: Path) -> str:
        """``model_dir`` as a model.tar.gz, as training jobs write it."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(model_dir.rglob("*")):
                tar.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
        return self.put(key, buffer.getvalue())

    def wait(self, collection: str, name: str, field: str, timeout_s: float = 240) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            described: dict[str, Any] = self.client.get_json(f"/{collection}/{name}")
            if described[field] not in ACTIVE:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still {described[field]}: {described}")
            time.sleep(0.1)


@pytest.fixture
def plane(settings: Settings) -> Iterator[Plane]:
    services = build_services(settings)
    services.store.create_bucket(BUCKET)
    try:
        with serve(create_app(services)) as url, ApiClient(url) as client:
            yield Plane(client=client, services=services, url=url)
    finally:
        services.close()
