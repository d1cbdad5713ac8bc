"""The object routes over a local store, in a bare app with the API's error contract,
served over real HTTP."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from tests.fixtures.asgi_server import serve

from modelyard.api.routes import objects
from modelyard.errors import ModelyardError
from modelyard.store.local import LocalStore


def bare_app(store: LocalStore) -> FastAPI:
    """The objects router plus the app's rule: a ModelyardError is its JSON body."""
    app = FastAPI()
    app.state.services = SimpleNamespace(store=store)

    @app.exception_handler(ModelyardError)
    async def modelyard_error(request: Request, exc: ModelyardError) -> JSONResponse:
        return JSONResponse(status_code=exc.http_status, content=exc.to_dict())

    app.include_router(objects.router)
    return app


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


@pytest.fixture
def client(store: LocalStore) -> Iterator[httpx.Client]:
    with serve(bare_app(store)) as url, httpx.Client(base_url=url) as http:
        http.put("/buckets/data")
        yield http


def test_bucket_lifecycle(client: httpx.Client) -> None:
    created = client.put("/buckets/models")
    assert created.status_code == 200
    assert created.json()["Location"] == "/models"
    assert client.put("/buckets/models").status_code == 409
    assert client.put("/buckets/models", params={"exist_ok": True}).status_code == 200

    names = [b["Name"] for b in client.get("/buckets").json()["Buckets"]]
    assert names == ["data", "models"]

    client.put("/buckets/models/objects/m.bin", content=b"x")
    refused = client.delete("/buckets/models")
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "Bucket"
    assert client.delete("/buckets/models", params={"force": True}).status_code == 204
    assert client.delete("/buckets/models").json()["error"]["code"] == "NoSuchBucket"


def test_put_streams_in_and_get_streams_out(client: httpx.Client) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)

    def body() -> Iterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    put = client.put(
        "/buckets/data/objects/weights/model.bin",
        content=body(),
        headers={"Content-Type": "application/x-model", "x-amz-meta-Epoch": "3"},
    )
    assert put.status_code == 200
    assert put.json()["Sha256"] == hashlib.sha256(data).hexdigest()

    got = client.get("/buckets/data/objects/weights/model.bin")
    assert got.content == data
    assert got.headers["content-type"] == "application/x-model"
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["etag"] == put.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert got.headers["x-amz-meta-sha256"] == hashlib.sha256(data).hexdigest()
    assert got.headers["x-amz-meta-epoch"] == "3"


def test_head_describes_without_a_body(client: httpx.Client) -> None:
    client.put(
        "/buckets/data/objects/a.csv", content=b"a,b\n", headers={"Content-Type": "text/csv"}
    )

    head = client.head("/buckets/data/objects/a.csv")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == "4"
    assert head.headers["content-type"] == "text/csv"
    assert client.head("/buckets/data/objects/missing").status_code == 404


def test_listing_is_shaped_like_list_objects_v2(client: httpx.Client) -> None:
    for index in range(5):
        client.put(f"/buckets/data/objects/logs/{index}.txt", content=b"l")
    client.put("/buckets/data/objects/logs/old/0.txt", content=b"l")

    first = client.get(
        "/buckets/data/objects", params={"prefix": "logs/", "delimiter": "/", "max_keys": 4}
    ).json()
    assert [c["Key"] for c in first["Contents"]] == [f"logs/{i}.txt" for i in range(4)]
    assert set(first["Contents"][0]) == {"Key", "Size", "ETag", "LastModified"}
    assert first["IsTruncated"] is True
    assert first["KeyCount"] == 4

    second = client.get(
        "/buckets/data/objects",
        params={
            "prefix": "logs/",
            "delimiter": "/",
            "max_keys": 4,
            "continuation_token": first["NextContinuationToken"],
        },
    ).json()
    assert [c["Key"] for c in second["Contents"]] == ["logs/4.txt"]
    assert second["CommonPrefixes"] == [{"Prefix": "logs/old/"}]
    assert second["IsTruncated"] is False
    assert "NextContinuationToken" not in second


def test_copy_and_delete(client: httpx.Client) -> None:
    client.put("/buckets/data/objects/src.txt", content=b"hello")

    copied = client.post(
        "/buckets/data/objects/dst/copy.txt/copy",
        json={"SourceBucket": "data", "SourceKey": "src.txt"},
    )
    assert copied.status_code == 200
    assert copied.json()["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert client.get("/buckets/data/objects/dst/copy.txt").content == b"hello"

    assert client.delete("/buckets/data/objects/src.txt").status_code == 204
    assert client.delete("/buckets/data/objects/src.txt").status_code == 204
    assert client.get("/buckets/data/objects/src.txt").json()["error"]["code"] == "NoSuchKey"


def test_delete_many(client: httpx.Client) -> None:
    for name in "abc":
        client.put(f"/buckets/data/objects/{name}", content=b"x")

    deleted = client.post(
        "/buckets/data/delete-objects", json={"Objects": [{"Key": "a"}, {"Key": "c"}]}
    )
    assert deleted.json() == {"Deleted": [{"Key": "a"}, {"Key": "c"}]}
    listed = client.get("/buckets/data/objects").json()
    assert [c["Key"] for c in listed["Contents"]] == ["b"]


@pytest.mark.parametrize(
    "raw_key", ["..%2Fescape", "a/%2E%2E/%2E%2E/b", "a%00b", "a%5Cb", "a//b", "%2E"]
)
def test_a_key_escaping_its_bucket_is_a_400_and_changes_nothing(
    client: httpx.Client, store: LocalStore, raw_key: str
) -> None:
    client.put("/buckets/data/objects/keep.txt", content=b"kept")

    for method in ("PUT", "GET", "DELETE"):
        response = client.request(method, f"/buckets/data/objects/{raw_key}", content=b"evil")
        assert response.status_code == 400, (method, response.text)
        error = response.json()["error"]
        assert error["field"] == "Key"
        assert error["code"] == "ValidationError"
    copy = client.post(
        "/buckets/data/objects/keep.txt/copy", json={"SourceBucket": "data", "SourceKey": "../x"}
    )
    assert copy.status_code == 400

    assert client.get("/buckets/data/objects/keep.txt").content == b"kept"
    assert [o.key for o in store.iter_objects("data")] == ["keep.txt"]
    assert sorted(p.name for p in store.root.iterdir()) == [".meta", ".tmp", "data"]


def test_a_bad_bucket_name_is_a_400_naming_the_bucket(client: httpx.Client) -> None:
    response = client.put("/buckets/Not_A_Bucket")
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "Bucket"


def test_unknown_bucket_and_key_are_404s(client: httpx.Client) -> None:
    assert client.get("/buckets/data/objects/nope").json()["error"]["code"] == "NoSuchKey"
    for response in (
        client.get("/buckets/ghost/objects/nope"),
        client.get("/buckets/ghost/objects"),
        client.put("/buckets/ghost/objects/k", content=b"x"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "NoSuchBucket",
            "message": "bucket 'ghost' does not exist: create it first",
            "field": "Bucket",
        }
