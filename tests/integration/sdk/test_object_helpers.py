"""The SDK's object helpers against a real control-plane server."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.fixtures.asgi_server import serve_modelyard

from modelyard.config import Settings
from modelyard.errors import InvalidKeyError, NoSuchBucketError, NoSuchKeyError
from modelyard.sdk import objects
from modelyard.sdk.client import ApiClient


@pytest.fixture
def client(settings: Settings) -> Iterator[ApiClient]:
    with serve_modelyard(settings) as url, ApiClient(url) as api:
        objects.create_bucket(api, "sdk")
        yield api


def test_buckets(client: ApiClient) -> None:
    objects.create_bucket(client, "other")
    objects.create_bucket(client, "other", exist_ok=True)

    assert [b["Name"] for b in objects.list_buckets(client)] == ["other", "sdk"]
    objects.delete_bucket(client, "other")
    with pytest.raises(NoSuchBucketError):
        objects.delete_bucket(client, "other")


def test_a_file_streams_up_and_down(client: ApiClient, tmp_path: Path) -> None:
    source = tmp_path / "weights.bin"
    data = os.urandom(5 * 1024 * 1024 + 7)
    source.write_bytes(data)
    ticks: list[int] = []

    put = objects.upload_file(
        client, source, "sdk", "models/weights.bin", metadata={"epoch": "4"}, progress=ticks.append
    )
    assert put["Sha256"] == hashlib.sha256(data).hexdigest()
    assert sum(ticks) == len(data)

    head = objects.head_object(client, "sdk", "models/weights.bin")
    assert head["Size"] == len(data)
    assert head["Sha256"] == put["Sha256"]
    assert head["Metadata"] == {"epoch": "4"}

    target = objects.download_file(client, "sdk", "models/weights.bin", tmp_path / "out.bin")
    assert target.read_bytes() == data
    into_dir = objects.download_file(client, "sdk", "models/weights.bin", tmp_path)
    assert into_dir == tmp_path / "weights.bin"


def test_directories_round_trip(client: ApiClient, tmp_path: Path) -> None:
    tree = {"a.txt": b"a", "sub/b.txt": b"bb", "sub/deeper/c.bin": os.urandom(2048)}
    for name, content in tree.items():
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / name).write_bytes(content)

    uploaded = objects.upload_directory(client, tmp_path / "src", "sdk", "run-1/input")
    assert sorted(u["Key"] for u in uploaded) == sorted(f"run-1/input/{n}" for n in tree)

    listed = list(objects.list_objects(client, "sdk", "run-1/input/", delimiter="/"))
    assert [e.get("Key", e.get("Prefix")) for e in listed] == [
        "run-1/input/a.txt",
        "run-1/input/sub/",
    ]

    paths = objects.download_directory(client, "sdk", "run-1/input", tmp_path / "dst")
    assert len(paths) == len(tree)
    for name, content in tree.items():
        assert (tmp_path / "dst" / name).read_bytes() == content


def test_download_directory_of_a_single_object_key(client: ApiClient, tmp_path: Path) -> None:
    objects.put_bytes(client, "sdk", "data/train.csv", b"x,y\n")

    paths = objects.download_directory(client, "sdk", "data/train.csv", tmp_path)
    assert paths == [tmp_path / "train.csv"]
    assert (tmp_path / "train.csv").read_bytes() == b"x,y\n"


def test_copy_and_delete(client: ApiClient) -> None:
    objects.put_bytes(client, "sdk", "one", b"1", content_type="text/plain")
    objects.copy_object(client, "sdk", "one", "sdk", "two")
    assert objects.get_bytes(client, "sdk", "two") == b"1"

    objects.delete_objects(client, "sdk", ["one", "two"])
    objects.delete_object(client, "sdk", "one")
    assert list(objects.list_objects(client, "sdk")) == []
    with pytest.raises(NoSuchKeyError):
        objects.head_object(client, "sdk", "one")
    with pytest.raises(NoSuchBucketError):
        objects.head_object(client, "ghost", "one")


def test_listing_follows_pages(client: ApiClient) -> None:
    for index in range(12):
        objects.put_bytes(client, "sdk", f"k/{index:02d}", b"")

    page = objects.list_objects_page(client, "sdk", "k/", max_keys=5)
    assert page["IsTruncated"] is True
    assert len(list(objects.list_objects(client, "sdk", "k/"))) == 12


def test_escaping_keys_never_leave_the_client(client: ApiClient) -> None:
    objects.put_bytes(client, "sdk", "b", b"kept")

    for key in ["a/../b", "../b", "/b", "a\x00"]:
        with pytest.raises(InvalidKeyError):
            objects.put_bytes(client, "sdk", key, b"evil")
    assert objects.get_bytes(client, "sdk", "b") == b"kept"
