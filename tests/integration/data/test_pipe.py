"""Pipe mode: a real reader process reads epochs from the FIFOs input/data/<channel>_<epoch>."""

from __future__ import annotations

import gzip
import hashlib
import os
import select
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from modelyard.data import StagedChannel, stage_channel
from modelyard.data.selection import shuffled
from modelyard.errors import ValidationError
from modelyard.formats import recordio
from modelyard.store import Store
from modelyard.store.local import LocalStore
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
    "pipe/a": b"first object\n",
    "pipe/b": b"",
    "pipe/c": bytes(range(256)) * 5000,  # > 1 MiB: framed by the streaming path
    "pipe/d": b"xyz",
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_all(store: Store, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        store.put_object("bucket", key, body)


def stage_pipe(
    store: Store, dest: Path, uri: str = "s3://bucket/pipe/", **fields: Any
) -> StagedChannel:
    return stage_channel(
        store,
        s3_channel(uri, **fields),
        dest,
        host_index=0,
        host_count=1,
        input_mode="Pipe",
    )


def test_a_reader_gets_three_epochs(store: Store, dest: Path) -> None:
    put_all(store, OBJECTS)
    with stage_pipe(store, dest) as staged:
        assert staged.mode == "Pipe"
        assert staged.path == dest / "train"
        assert staged.fifo_path(0) == dest / "train_0"
        assert stat.S_ISFIFO(os.stat(dest / "train_0").st_mode)
        assert staged.object_count == 4
        assert staged.bytes_total == sum(len(body) for body in OBJECTS.values())
        result = reader_result(start_reader(dest / "train_{epoch}", "--epochs", "3"))
        expected = b"".join(OBJECTS[key] for key in sorted(OBJECTS))
        assert [epoch["sha256"] for epoch in result["epochs"]] == [sha(expected)] * 3
        assert not (dest / "train_0").exists(), "a finished epoch's FIFO is removed"
        assert stat.S_ISFIFO(os.stat(dest / "train_3").st_mode), "the next epoch is offered"
        assert staged.error is None
    assert not (dest / "train_3").exists(), "close() removes the waiting FIFO"


def test_recordio_wraps_each_object_in_one_record_reshuffled_per_epoch(
    store: Store, dest: Path
) -> None:
    put_all(store, OBJECTS)
    with stage_pipe(store, dest, RecordWrapperType="RecordIO", seed=11) as staged:
        result = reader_result(
            start_reader(staged.path.with_name("train_{epoch}"), "--epochs", "3", "--recordio")
        )
    for epoch, got in enumerate(result["epochs"]):
        order = shuffled(sorted(OBJECTS), 11, epoch)
        assert got["records"] == [[len(OBJECTS[key]), sha(OBJECTS[key])] for key in order]
    orders = [[record[1] for record in epoch["records"]] for epoch in result["epochs"]]
    assert len({tuple(order) for order in orders}) > 1, "the order changes between epochs"


def test_gzip_objects_are_decompressed(store: Store, dest: Path) -> None:
    plain = {"gz/a.csv.gz": b"1,2\n" * 1000, "gz/b.csv.gz": os.urandom(3 * MIB)}
    put_all(store, {key: gzip.compress(body, compresslevel=1) for key, body in plain.items()})
    with stage_pipe(store, dest, "s3://bucket/gz/", CompressionType="Gzip"):
        result = reader_result(start_reader(dest / "train_{epoch}", "--epochs", "1"))
    assert result["epochs"][0]["sha256"] == sha(plain["gz/a.csv.gz"] + plain["gz/b.csv.gz"])


def test_gzip_and_recordio_wrap_the_decompressed_objects(
    local_store: LocalStore, dest: Path
) -> None:
    plain = {"gz/a": b"tiny", "gz/b": os.urandom(2 * MIB + 3)}
    put_all(local_store, {key: gzip.compress(body, compresslevel=1) for key, body in plain.items()})
    with stage_pipe(
        local_store, dest, "s3://bucket/gz/", CompressionType="Gzip", RecordWrapperType="RecordIO"
    ):
        result = reader_result(start_reader(dest / "train_{epoch}", "--recordio"))
    assert result["epochs"][0]["records"] == [[len(b), sha(b)] for b in plain.values()]


def test_200_mb_flow_through_with_flat_memory(local_store: LocalStore, dest: Path) -> None:
    size = 200 * MIB
    local_store.put_object("bucket", "big/part-0", PatternStream(size))
    with PeakRss() as feeder_memory, stage_pipe(local_store, dest, "s3://bucket/big/"):
        result = reader_result(start_reader(dest / "train_{epoch}"))
    assert result["epochs"][0]["bytes"] == size
    assert result["epochs"][0]["sha256"] == pattern_sha256(size)
    assert result["peak_rss_bytes"] < 40 * MIB, result["peak_rss_bytes"]
    assert feeder_memory.growth < 32 * MIB, feeder_memory.growth
    print(
        f"pipe 200 MB: reader peak RSS {result['peak_rss_bytes'] / MIB:.1f} MiB, "
        f"feeder growth {feeder_memory.growth / MIB:.1f} MiB"
    )


def test_close_returns_promptly_when_nobody_opens_the_fifo(store: Store, dest: Path) -> None:
    put_all(store, OBJECTS)
    staged = stage_pipe(store, dest)
    time.sleep(0.3)  # let the feeder settle into its slowest polling
    started = time.monotonic()
    staged.close()
    assert time.monotonic() - started < 1.0
    assert not (dest / "train_0").exists()
    staged.close()  # idempotent


def test_close_returns_promptly_when_the_reader_stalls(local_store: LocalStore, dest: Path) -> None:
    local_store.put_object("bucket", "pipe/big", PatternStream(16 * MIB))
    staged = stage_pipe(local_store, dest)
    fd = os.open(dest / "train_0", os.O_RDONLY | os.O_NONBLOCK)
    try:
        readable, _, _ = select.select([fd], [], [], 10)
        assert readable, "the feeder starts writing once a reader opens the FIFO"
        assert os.read(fd, 1)
        time.sleep(0.2)  # the pipe fills; the feeder waits for room that never comes
        started = time.monotonic()
        staged.close()
        assert time.monotonic() - started < 1.0
    finally:
        os.close(fd)


def test_a_reader_leaving_mid_epoch_does_not_wedge_the_feeder(
    local_store: LocalStore, dest: Path
) -> None:
    local_store.put_object("bucket", "pipe/big", PatternStream(8 * MIB))
    with stage_pipe(local_store, dest) as staged:
        early = reader_result(start_reader(dest / "train_{epoch}", "--stop-after", "100000"))
        assert early["epochs"][0]["bytes"] == 100000
        # The next epoch is offered whole to the next reader.
        result = reader_result(start_reader(dest / "train_1"))
        assert result["epochs"][0]["sha256"] == pattern_sha256(8 * MIB)
        assert staged.error is None


def test_an_object_too_large_for_a_record_is_refused_by_name(
    local_store: LocalStore, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_all(local_store, OBJECTS)
    monkeypatch.setattr(recordio, "MAX_RECORD_BYTES", 1000)
    with pytest.raises(ValidationError) as caught:
        stage_pipe(local_store, dest, RecordWrapperType="RecordIO")
    assert "s3://bucket/pipe/c" in caught.value.message
    assert not (dest / "train_0").exists()


def test_a_failing_object_ends_feeding_with_an_error(local_store: LocalStore, dest: Path) -> None:
    put_all(local_store, {"gz/a": gzip.compress(b"good"), "gz/b": b"not gzip"})
    with stage_pipe(local_store, dest, "s3://bucket/gz/", CompressionType="Gzip") as staged:
        result = reader_result(start_reader(dest / "train_{epoch}"))
        assert result["epochs"][0]["sha256"] == sha(b"good")
        deadline = time.monotonic() + 5
        while staged.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(staged.error, ValidationError)
        assert "s3://bucket/gz/b" in str(staged.error)
        assert not (dest / "train_1").exists(), "no further epoch after a failure"


def test_sharded_pipe_feeds_each_host_its_share(local_store: LocalStore, tmp_path: Path) -> None:
    put_all(local_store, {f"s/{i}": f"<{i}>".encode() for i in range(5)})
    expected = [b"<0><2><4>", b"<1><3>"]
    for host in range(2):
        dest = tmp_path / f"host-{host}"
        with stage_channel(
            local_store,
            s3_channel("s3://bucket/s/", S3DataDistributionType="ShardedByS3Key"),
            dest,
            host_index=host,
            host_count=2,
            input_mode="Pipe",
        ) as staged:
            assert staged.object_count == len(expected[host]) // 3
            result = reader_result(start_reader(dest / "train_{epoch}"))
            assert result["epochs"][0]["sha256"] == sha(expected[host])


def test_restaging_clears_fifos_an_earlier_feeder_left(local_store: LocalStore, dest: Path) -> None:
    put_all(local_store, OBJECTS)
    os.mkfifo(dest / "train_5")
    (dest / "train_notes").write_text("not ours")
    with stage_pipe(local_store, dest):
        assert not (dest / "train_5").exists()
        assert (dest / "train_notes").exists()
        assert stat.S_ISFIFO(os.stat(dest / "train_0").st_mode)
