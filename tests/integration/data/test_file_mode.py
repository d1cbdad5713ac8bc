"""File mode: the selected objects as files under input/data/<channel>, in parallel."""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from modelyard.data import stage_channel
from modelyard.errors import InvalidKeyError, ValidationError
from modelyard.store import Store
from modelyard.store.base import ListPage, ObjectInfo
from modelyard.store.local import LocalStore
from tests.integration.data.helpers import s3_channel

OBJECTS = {
    "data/train/a.csv": b"1,2,3\n",
    "data/train/b.csv": b"4,5,6\n" * 1000,
    "data/train/deep/er/c.bin": bytes(range(256)) * 4096,
    "data/train/empty": b"",
}


def put_all(store: Store, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        store.put_object("bucket", key, body)


def tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def test_file_mode_delivers_exact_bytes_in_the_layout(store: Store, dest: Path) -> None:
    put_all(store, OBJECTS)
    totals: list[int] = []
    lock = threading.Lock()

    def progress(nbytes: int) -> None:
        with lock:
            totals.append(nbytes)

    staged = stage_channel(
        store,
        s3_channel("s3://bucket/data/train/"),
        dest,
        host_index=0,
        host_count=1,
        input_mode="File",
        progress=progress,
    )
    with staged:
        assert staged.path == dest / "train"
        assert staged.mode == "File"
        assert staged.object_count == 4
        assert staged.bytes_total == sum(len(body) for body in OBJECTS.values())
        assert sum(totals) == staged.bytes_total
        assert tree(staged.path) == {
            key.removeprefix("data/train/"): body for key, body in OBJECTS.items()
        }
        assert not [p for p in staged.path.rglob(".*")], "no temporary files left behind"


def test_file_mode_keeps_gzip_objects_compressed(store: Store, dest: Path) -> None:
    body = gzip.compress(b"a,b\n" * 100)
    store.put_object("bucket", "gz/part-0.csv.gz", body)
    channel = s3_channel("s3://bucket/gz/", CompressionType="Gzip", RecordWrapperType="RecordIO")
    with stage_channel(
        store, channel, dest, host_index=0, host_count=1, input_mode="File"
    ) as staged:
        assert (staged.path / "part-0.csv.gz").read_bytes() == body


def test_sharded_hosts_get_disjoint_shares(store: Store, tmp_path: Path) -> None:
    put_all(store, {f"shards/part-{i}": str(i).encode() for i in range(7)})
    channel = s3_channel("s3://bucket/shards/", S3DataDistributionType="ShardedByS3Key")
    seen: list[str] = []
    for host in range(3):
        dest = tmp_path / f"host-{host}" / "input" / "data"
        staged = stage_channel(
            store, channel, dest, host_index=host, host_count=3, input_mode="File"
        )
        names = sorted(tree(staged.path))
        assert len(names) == staged.object_count in (2, 3)
        seen += names
    assert sorted(seen) == [f"part-{i}" for i in range(7)]


def test_manifest_channel_lands_at_the_suffixes(store: Store, dest: Path) -> None:
    put_all(store, OBJECTS)
    manifest = b'[{"prefix": "s3://bucket/data/"}, "train/a.csv", "train/deep/er/c.bin"]'
    store.put_object("bucket", "train.manifest", manifest)
    channel = s3_channel("s3://bucket/train.manifest", data_type="ManifestFile")
    staged = stage_channel(store, channel, dest, host_index=0, host_count=1, input_mode="File")
    assert tree(staged.path) == {
        "train/a.csv": OBJECTS["data/train/a.csv"],
        "train/deep/er/c.bin": OBJECTS["data/train/deep/er/c.bin"],
    }


def test_a_key_that_would_escape_the_channel_dir_is_refused(
    store: Store, dest: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "train").mkdir()
    (dest / "train" / "sub").symlink_to(outside)
    put_all(store, {"data/train/sub/evil.csv": b"x", "data/train/ok.csv": b"y"})
    with pytest.raises(InvalidKeyError):
        stage_channel(
            store,
            s3_channel("s3://bucket/data/train/"),
            dest,
            host_index=0,
            host_count=1,
            input_mode="File",
        )
    assert list(outside.iterdir()) == []
    assert not (dest / "train" / "ok.csv").exists(), "nothing is written when a key is refused"


def test_an_empty_channel_is_refused_before_anything_is_written(store: Store, dest: Path) -> None:
    with pytest.raises(ValidationError) as caught:
        stage_channel(
            store,
            s3_channel("s3://bucket/nothing/"),
            dest,
            host_index=0,
            host_count=1,
            input_mode="File",
        )
    assert caught.value.field == "Channel.DataSource.S3DataSource.S3Uri"


class SlowStore(Store):
    """A store that is not a LocalStore (so File mode copies) and records concurrent reads."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.active = 0
        self.most_active = 0
        self._lock = threading.Lock()

    def open_object_with_info(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        with self._lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(0.05)
        with self._lock:
            self.active -= 1
        return self.inner.open_object_with_info(bucket, key)

    def open_object(self, bucket: str, key: str) -> BinaryIO:
        return self.open_object_with_info(bucket, key)[1]

    def list_objects(self, bucket: str, prefix: str = "", **kwargs: Any) -> ListPage:
        return self.inner.list_objects(bucket, prefix, **kwargs)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        return self.inner.head_object(bucket, key)

    def create_bucket(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    delete_bucket = list_buckets = bucket_exists = put_object = create_bucket
    delete_object = copy_object = create_bucket


def test_objects_are_fetched_in_parallel(local_store: LocalStore, dest: Path) -> None:
    put_all(local_store, {f"p/part-{i}": b"x" * i for i in range(8)})
    slow = SlowStore(local_store)
    staged = stage_channel(
        slow, s3_channel("s3://bucket/p/"), dest, host_index=0, host_count=1, input_mode="File"
    )
    assert staged.object_count == 8
    assert slow.most_active > 1
    assert (staged.path / "part-5").read_bytes() == b"x" * 5
    assert os.stat(staged.path / "part-5").st_nlink == 1, "a non-local store is copied"


def test_a_script_writing_its_input_never_reaches_the_store(
    local_store: LocalStore, dest: Path
) -> None:
    put_all(local_store, OBJECTS)
    staged = stage_channel(
        local_store,
        s3_channel("s3://bucket/data/train/"),
        dest,
        host_index=0,
        host_count=1,
        input_mode="File",
    )
    staged_file = staged.path / "b.csv"
    assert os.stat(staged_file).st_nlink == 1, "each job gets its own copy"
    staged_file.write_bytes(b"rewritten in place by the script")
    assert local_store.get_object("bucket", "data/train/b.csv") == OBJECTS["data/train/b.csv"]


def test_restaging_replaces_files_in_place(store: Store, dest: Path) -> None:
    put_all(store, {"r/x": b"one"})
    channel = s3_channel("s3://bucket/r/")
    stage_channel(store, channel, dest, host_index=0, host_count=1, input_mode="File")
    store.put_object("bucket", "r/x", b"two")
    staged = stage_channel(store, channel, dest, host_index=0, host_count=1, input_mode="File")
    assert (staged.path / "x").read_bytes() == b"two"
