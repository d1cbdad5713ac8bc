"""One behavioural suite for every Store backend (see conftest: local and S3)."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidKeyError,
    NoSuchBucketError,
    NoSuchKeyError,
    ValidationError,
)
from modelyard.store import Store, download_directory, upload_directory

ESCAPING_KEYS = ["../x", "a/../../b", "/abs", "a\x00b", "", "a/./b", "a\\b", "a//b", "dir/"]


class FailingStream(io.RawIOBase):
    """Yields ``good`` bytes, then raises: a client that dies mid-upload."""

    def __init__(self, good: bytes) -> None:
        self._good = io.BytesIO(good)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self._good.read(size)
        if not chunk:
            raise ConnectionResetError("client went away")
        return chunk


# Buckets.


def test_create_list_and_delete_buckets(store: Store) -> None:
    store.create_bucket("alpha")
    store.create_bucket("beta")

    assert [b.name for b in store.list_buckets()] == ["alpha", "beta"]
    assert store.bucket_exists("alpha")
    store.delete_bucket("alpha")
    assert not store.bucket_exists("alpha")
    assert [b.name for b in store.list_buckets()] == ["beta"]


def test_creating_a_bucket_twice_needs_exist_ok(store: Store) -> None:
    first = store.create_bucket("twice")

    with pytest.raises(AlreadyExistsError) as caught:
        store.create_bucket("twice")
    assert caught.value.field == "Bucket"
    assert store.create_bucket("twice", exist_ok=True).name == first.name


def test_a_non_empty_bucket_is_deleted_only_with_force(store: Store, bucket: str) -> None:
    store.put_object(bucket, "keep/me", b"data")

    with pytest.raises(ConflictError, match="not empty"):
        store.delete_bucket(bucket)
    assert store.get_object(bucket, "keep/me") == b"data"

    store.delete_bucket(bucket, force=True)
    assert not store.bucket_exists(bucket)


def test_invalid_bucket_names_are_refused(store: Store) -> None:
    for name in ["ab", "UPPER", "-dash", "192.168.1.1", "a..b", "x" * 64]:
        with pytest.raises(ValidationError) as caught:
            store.create_bucket(name)
        assert caught.value.field == "Bucket"
    assert store.list_buckets() == []


# Objects.


def test_put_and_get_bytes(store: Store, bucket: str) -> None:
    info = store.put_object(bucket, "hello.txt", b"hello", content_type="text/plain")

    assert store.get_object(bucket, "hello.txt") == b"hello"
    assert info.size == 5
    assert info.etag == f'"{hashlib.md5(b"hello").hexdigest()}"'
    assert info.sha256 == hashlib.sha256(b"hello").hexdigest()


def test_put_a_stream_and_read_it_back_in_parts(store: Store, bucket: str) -> None:
    data = os.urandom(300_000)
    store.put_object(bucket, "blobs/one.bin", io.BytesIO(data))

    with store.open_object(bucket, "blobs/one.bin") as stream:
        head = stream.read(1000)
        stream.seek(200_000)
        middle = stream.read(10)
    assert head == data[:1000]
    assert middle == data[200_000:200_010]


def test_a_large_object_round_trips_with_its_sha256(store: Store, bucket: str) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)  # above the multipart threshold
    info = store.put_object(bucket, "big/model.tar.gz", io.BytesIO(data))

    expected = hashlib.sha256(data).hexdigest()
    assert info.sha256 == expected
    assert store.head_object(bucket, "big/model.tar.gz").sha256 == expected
    digest = hashlib.sha256()
    with store.open_object(bucket, "big/model.tar.gz") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    assert digest.hexdigest() == expected


def test_head_describes_size_etag_sha256_type_and_metadata(store: Store, bucket: str) -> None:
    put = store.put_object(
        bucket, "data/train.csv", b"a,b\n1,2\n", content_type="text/csv", metadata={"Owner": "ds"}
    )

    head = store.head_object(bucket, "data/train.csv")
    assert head.size == 8
    assert head.etag == put.etag
    assert head.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert head.content_type == "text/csv"
    assert head.metadata == {"owner": "ds"}
    assert head.last_modified.tzinfo is not None


def test_overwriting_replaces_the_object(store: Store, bucket: str) -> None:
    store.put_object(bucket, "k", b"old", metadata={"v": "1"})
    store.put_object(bucket, "k", b"new")

    assert store.get_object(bucket, "k") == b"new"
    assert store.head_object(bucket, "k").metadata == {}


def test_a_failed_streaming_put_leaves_the_previous_object_intact(
    store: Store, bucket: str
) -> None:
    store.put_object(bucket, "model.bin", b"version one")
    before = store.head_object(bucket, "model.bin")

    for good_bytes in (1000, 7 * 1024 * 1024):  # one chunk, and past the multipart threshold
        with pytest.raises(ConnectionResetError):
            store.put_object(bucket, "model.bin", FailingStream(b"x" * good_bytes))  # type: ignore[arg-type]

    assert store.get_object(bucket, "model.bin") == b"version one"
    assert store.head_object(bucket, "model.bin").etag == before.etag
    assert [o.key for o in store.iter_objects(bucket)] == ["model.bin"]


def test_copy_keeps_bytes_type_and_metadata(store: Store, bucket: str) -> None:
    store.create_bucket("other")
    store.put_object(
        bucket, "src/a.json", b"{}", content_type="application/json", metadata={"k": "v"}
    )

    copied = store.copy_object(bucket, "src/a.json", "other", "dst/a.json")

    assert store.get_object("other", "dst/a.json") == b"{}"
    head = store.head_object("other", "dst/a.json")
    assert head.content_type == "application/json"
    assert head.metadata == {"k": "v"}
    assert head.sha256 == copied.sha256 == hashlib.sha256(b"{}").hexdigest()
    assert store.get_object(bucket, "src/a.json") == b"{}"


def test_delete_is_idempotent(store: Store, bucket: str) -> None:
    store.put_object(bucket, "gone/soon", b"x")

    store.delete_object(bucket, "gone/soon")
    store.delete_object(bucket, "gone/soon")

    with pytest.raises(NoSuchKeyError):
        store.head_object(bucket, "gone/soon")
    assert store.list_objects(bucket).objects == []


def test_delete_many_objects(store: Store, bucket: str) -> None:
    for index in range(5):
        store.put_object(bucket, f"batch/{index}", b"x")

    store.delete_objects(bucket, ["batch/0", "batch/3", "batch/never-existed"])

    assert [o.key for o in store.iter_objects(bucket)] == ["batch/1", "batch/2", "batch/4"]


def test_unknown_bucket_and_key_are_not_found(store: Store, bucket: str) -> None:
    with pytest.raises(NoSuchKeyError) as caught:
        store.head_object(bucket, "missing")
    assert caught.value.field == "Key"
    with pytest.raises(NoSuchKeyError):
        store.open_object(bucket, "missing")
    with pytest.raises(NoSuchKeyError):
        store.copy_object(bucket, "missing", bucket, "copy")
    for call in (
        lambda: store.head_object("no-such-bucket", "k"),
        lambda: store.open_object("no-such-bucket", "k"),
        lambda: store.put_object("no-such-bucket", "k", b"x"),
        lambda: store.list_objects("no-such-bucket"),
        lambda: store.delete_object("no-such-bucket", "k"),
        lambda: store.delete_bucket("no-such-bucket"),
    ):
        with pytest.raises(NoSuchBucketError) as caught_bucket:
            call()
        assert caught_bucket.value.field == "Bucket"


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_keys_escaping_the_bucket_are_refused_and_change_nothing(
    store: Store, bucket: str, key: str
) -> None:
    store.put_object(bucket, "x", b"original")
    store.put_object(bucket, "a/b", b"original")

    for call in (
        lambda: store.put_object(bucket, key, b"evil"),
        lambda: store.head_object(bucket, key),
        lambda: store.open_object(bucket, key),
        lambda: store.delete_object(bucket, key),
        lambda: store.copy_object(bucket, "x", bucket, key),
        lambda: store.copy_object(bucket, key, bucket, "x"),
    ):
        with pytest.raises(InvalidKeyError) as caught:
            call()
        assert caught.value.field == "Key"
        assert caught.value.http_status == 400

    assert sorted(o.key for o in store.iter_objects(bucket)) == ["a/b", "x"]
    assert store.get_object(bucket, "x") == b"original"
    assert store.get_object(bucket, "a/b") == b"original"


# Listing.


def test_listing_pages_through_keys_in_byte_order(store: Store, bucket: str) -> None:
    keys = [f"logs/{index:02d}.txt" for index in range(25)]
    for key in reversed(keys):
        store.put_object(bucket, key, b"line")

    pages = []
    token = None
    while True:
        page = store.list_objects(bucket, "logs/", max_keys=10, continuation_token=token)
        pages.append([o.key for o in page.objects])
        token = page.next_token
        if token is None:
            break

    assert [len(p) for p in pages] == [10, 10, 5]
    assert [k for p in pages for k in p] == keys


def test_listing_orders_by_utf8_bytes(store: Store, bucket: str) -> None:
    keys = ["a-b", "a.txt", "a/b", "a0", "B", "é", "z"]
    for key in keys:
        store.put_object(bucket, key, b"")

    assert [o.key for o in store.list_objects(bucket).objects] == sorted(
        keys, key=lambda k: k.encode()
    )


def test_listing_with_a_delimiter_folds_common_prefixes(store: Store, bucket: str) -> None:
    for key in ["data/train/0.csv", "data/train/1.csv", "data/test/0.csv", "data/README", "top"]:
        store.put_object(bucket, key, b"x")

    root = store.list_objects(bucket, delimiter="/")
    assert root.common_prefixes == ["data/"]
    assert [o.key for o in root.objects] == ["top"]

    data = store.list_objects(bucket, "data/", delimiter="/")
    assert data.common_prefixes == ["data/test/", "data/train/"]
    assert [o.key for o in data.objects] == ["data/README"]

    partial = store.list_objects(bucket, "data/t", delimiter="/")
    assert partial.common_prefixes == ["data/test/", "data/train/"]
    assert partial.objects == []


def test_common_prefixes_count_towards_a_page(store: Store, bucket: str) -> None:
    for index in range(5):
        store.put_object(bucket, f"runs/{index}/model.bin", b"x")
        store.put_object(bucket, f"runs/{index}.json", b"{}")

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = store.list_objects(
            bucket, "runs/", delimiter="/", max_keys=3, continuation_token=token
        )
        pages += 1
        assert len(page.objects) + len(page.common_prefixes) <= 3
        seen += [o.key for o in page.objects] + page.common_prefixes
        token = page.next_token
        if token is None:
            break

    assert pages == 4
    assert sorted(seen) == sorted(
        [f"runs/{i}/" for i in range(5)] + [f"runs/{i}.json" for i in range(5)]
    )


def test_listing_a_missing_prefix_is_empty(store: Store, bucket: str) -> None:
    store.put_object(bucket, "a/b", b"x")

    page = store.list_objects(bucket, "nothing/here/", delimiter="/")
    assert (page.objects, page.common_prefixes, page.next_token) == ([], [], None)


def test_bad_listing_arguments_are_refused(store: Store, bucket: str) -> None:
    with pytest.raises(ValidationError) as caught:
        store.list_objects(bucket, max_keys=0)
    assert caught.value.field == "MaxKeys"
    with pytest.raises(ValidationError) as caught:
        store.list_objects(bucket, "../")
    assert caught.value.field == "Prefix"


# Directories.


def test_upload_and_download_a_directory_tree(store: Store, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "model"
    files = {"model.json": b"{}", "weights/layer0.bin": os.urandom(4096), "weights/deep/x": b""}
    for name, content in files.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    ticks: list[int] = []

    uploaded = upload_directory(store, source, f"s3://{bucket}/artifacts", progress=ticks.append)
    assert sorted(info.key for info in uploaded) == sorted(f"artifacts/{n}" for n in files)
    assert sum(ticks) == sum(len(c) for c in files.values())

    target = tmp_path / "copy"
    downloaded = download_directory(store, f"s3://{bucket}/artifacts/", target, max_workers=2)
    assert len(downloaded) == len(files)
    for name, content in files.items():
        assert (target / name).read_bytes() == content
