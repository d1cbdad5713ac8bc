"""FastFile mode: the files are there at once, and their bytes come from the store when read."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modelyard.data import StagedChannel, stage_channel
from modelyard.errors import NotFoundError
from modelyard.store import Store
from modelyard.store.local import LocalStore
from modelyard.store.s3 import S3Store
from tests.integration.data.helpers import (
    MIB,
    PatternStream,
    PeakRss,
    pattern_sha256,
    reader_result,
    s3_channel,
    start_reader,
)

OBJECTS = {
    "ff/a.csv": b"1,2\n3,4\n",
    "ff/nested/deeper/b.bin": bytes(range(256)) * 9000,
    "ff/empty": b"",
}


def stage_fast_file(store: Store, dest: Path, uri: str = "s3://bucket/ff/") -> StagedChannel:
    return stage_channel(
        store, s3_channel(uri), dest, host_index=0, host_count=1, input_mode="FastFile"
    )


@pytest.fixture
def remote(s3_store: S3Store) -> S3Store:
    """A store that is not local: FastFile streams it through FIFOs."""
    s3_store.create_bucket("bucket")
    return s3_store


def put_all(store: Store, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        store.put_object("bucket", key, body)


def test_files_appear_at_once_and_read_back(store: Store, dest: Path) -> None:
    put_all(store, OBJECTS)
    with stage_fast_file(store, dest) as staged:
        assert staged.mode == "FastFile"
        assert staged.read_only
        assert staged.object_count == 3
        assert staged.bytes_total == sum(len(body) for body in OBJECTS.values())
        listed = sorted(
            p.relative_to(staged.path).as_posix()
            for p in staged.path.rglob("*")
            if not p.is_dir() and not p.name.startswith(".")
        )
        assert listed == ["a.csv", "empty", "nested/deeper/b.bin"]
        for key, body in OBJECTS.items():
            assert (staged.path / key.removeprefix("ff/")).read_bytes() == body


def test_local_store_files_are_the_stored_files(local_store: LocalStore, dest: Path) -> None:
    put_all(local_store, OBJECTS)
    with stage_fast_file(local_store, dest) as staged:
        staged_file = staged.path / "nested" / "deeper" / "b.bin"
        stored = local_store.root / "bucket" / "ff" / "nested" / "deeper" / "b.bin"
        assert os.stat(staged_file).st_ino == os.stat(stored).st_ino
        with open(staged_file, "rb") as stream:  # random access works here
            stream.seek(256 * 8999)
            assert stream.read() == bytes(range(256))


def test_remote_files_are_fifos_streamed_per_open(remote: S3Store, dest: Path) -> None:
    put_all(remote, OBJECTS)
    with stage_fast_file(remote, dest) as staged:
        path = staged.path / "nested" / "deeper" / "b.bin"
        assert stat.S_ISFIFO(os.lstat(path).st_mode)
        body = OBJECTS["ff/nested/deeper/b.bin"]
        assert path.read_bytes() == body
        assert path.read_bytes() == body, "every open streams the object again"
        results: dict[str, bytes] = {}
        names = ["a.csv", "nested/deeper/b.bin", "empty"]
        readers = [
            threading.Thread(
                target=lambda name=name: results.update({name: (staged.path / name).read_bytes()})
            )
            for name in names
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(30)
        assert results == {name: OBJECTS[f"ff/{name}"] for name in names}, "a stream per file"
        assert staged.error is None


def test_a_reader_leaving_early_does_not_disturb_the_next(remote: S3Store, dest: Path) -> None:
    remote.put_object("bucket", "ff/big", PatternStream(6 * MIB))
    with stage_fast_file(remote, dest) as staged:
        early = reader_result(start_reader(staged.path / "big", "--stop-after", "1000"))
        assert early["epochs"][0]["bytes"] == 1000
        whole = reader_result(start_reader(staged.path / "big"))
        assert whole["epochs"][0]["sha256"] == pattern_sha256(6 * MIB)


def test_close_returns_promptly_and_removes_the_fifos(remote: S3Store, dest: Path) -> None:
    put_all(remote, OBJECTS)
    staged = stage_fast_file(remote, dest)
    time.sleep(0.2)
    started = time.monotonic()
    staged.close()
    assert time.monotonic() - started < 1.0
    assert not [p for p in staged.path.rglob("*") if not p.is_dir()]
    staged.close()


def test_an_object_gone_from_the_store_is_reported(remote: S3Store, dest: Path) -> None:
    put_all(remote, OBJECTS)
    with stage_fast_file(remote, dest) as staged:
        remote.delete_object("bucket", "ff/a.csv")
        assert (staged.path / "a.csv").read_bytes() == b""
        deadline = time.monotonic() + 5
        while staged.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(staged.error, NotFoundError)


def bytes_written_under(root: Path, *, except_inodes: set[int]) -> int:
    """Disk blocks of regular files under ``root`` (hard links to ``except_inodes`` aside)."""
    total = 0
    for path in root.rglob("*"):
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and info.st_ino not in except_inodes:
            total += info.st_blocks * 512
    return total


def test_a_200_mb_object_streams_without_being_staged(
    store: Store, dest: Path, request: pytest.FixtureRequest
) -> None:
    size = 200 * MIB
    store.put_object("bucket", "ff/big.bin", PatternStream(size))
    stored_inodes: set[int] = set()
    if isinstance(store, LocalStore):
        stored_inodes.add(os.stat(store.root / "bucket" / "ff" / "big.bin").st_ino)
    with PeakRss() as feeder_memory, stage_fast_file(store, dest) as staged:
        result = reader_result(start_reader(staged.path / "big.bin"), timeout_s=120)
        assert staged.error is None
    got: dict[str, Any] = result["epochs"][0]
    assert got["bytes"] == size
    assert got["sha256"] == pattern_sha256(size)
    assert result["peak_rss_bytes"] < 40 * MIB, result["peak_rss_bytes"]
    assert feeder_memory.growth < 48 * MIB, feeder_memory.growth
    assert bytes_written_under(dest, except_inodes=stored_inodes) < MIB
    print(
        f"fastfile 200 MB ({request.node.callspec.id}): reader peak RSS "
        f"{result['peak_rss_bytes'] / MIB:.1f} MiB, feeder growth "
        f"{feeder_memory.growth / MIB:.1f} MiB"
    )


def test_a_script_removing_a_file_does_not_break_the_others(remote: S3Store, dest: Path) -> None:
    put_all(remote, OBJECTS)
    with stage_fast_file(remote, dest) as staged:
        (staged.path / "a.csv").unlink()
        time.sleep(0.1)  # a few sweeps over the missing FIFO
        assert (staged.path / "nested" / "deeper" / "b.bin").read_bytes() == OBJECTS[
            "ff/nested/deeper/b.bin"
        ]
        assert staged.error is None
