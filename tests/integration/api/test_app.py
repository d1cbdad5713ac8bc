"""The API's cross-cutting contract: one error shape, auth, health, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from tests.fixtures.asgi_server import serve_modelyard

from modelyard.config import Settings


@pytest.fixture
def client(settings: Settings) -> Iterator[httpx.Client]:
    with serve_modelyard(settings) as url, httpx.Client(base_url=url) as http:
        yield http


@pytest.fixture
def token_client(settings: Settings) -> Iterator[httpx.Client]:
    guarded = settings.model_copy(update={"api_token": SecretStr("s3cret")})
    with serve_modelyard(guarded) as url, httpx.Client(base_url=url) as http:
        yield http


def test_health_names_the_home(client: httpx.Client, settings: Settings) -> None:
    body = client.get("/health").json()
    assert body["Status"] == "ok"
    assert body["Home"] == str(settings.home)


def test_openapi_describes_the_routes(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/health" in paths
    assert any(path.startswith("/buckets") for path in paths)
    assert any(path.startswith("/images") for path in paths)


def test_unknown_route_is_a_json_404(client: httpx.Client) -> None:
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UnknownOperation"


def test_unknown_image_is_a_404_naming_it(client: httpx.Client) -> None:
    response = client.get("/images/ghost:1.0")
    assert response.status_code == 404
    assert "ghost" in response.json()["error"]["message"]


def test_key_escaping_its_bucket_is_refused_and_names_the_field(client: httpx.Client) -> None:
    assert client.put("/buckets/data").status_code < 300
    assert client.put("/buckets/data/objects/keep.txt", content=b"kept").status_code < 300
    response = client.put("/buckets/data/objects/a/..%2F..%2Fkeep.txt", content=b"evil")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Key"
    assert client.get("/buckets/data/objects/keep.txt").content == b"kept"


def test_bad_query_parameter_names_the_field(client: httpx.Client) -> None:
    client.put("/buckets/data")
    response = client.get("/buckets/data/objects", params={"max_keys": "many"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "max_keys"


def test_requests_without_the_token_are_refused(token_client: httpx.Client) -> None:
    response = token_client.get("/health")
    assert response.status_code == 401
    assert response.json()["error"]["field"] == "Authorization"


def test_requests_with_a_wrong_token_are_refused(token_client: httpx.Client) -> None:
    response = token_client.get("/buckets", headers={"Authorization": "Bearer guess"})
    assert response.status_code == 401
    assert "wrong" in response.json()["error"]["message"]


def test_requests_with_the_token_pass(token_client: httpx.Client) -> None:
    response = token_client.get("/health", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
