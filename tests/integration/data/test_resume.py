"""A new server feeds a running job's Pipe / FastFile channels again, or says it cannot.

``detach()`` is what a server shutting down does to its feeders (the script goes on);
:func:`resume_channel` is what the next server does. Readers are real processes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from modelyard.data import FeedInterruptedError, StagedChannel, resume_channel, stage_channel
from modelyard.store import Store
from modelyard.store.local import LocalStore
from tests.integration.data.helpers import (
    MIB,
    PatternStream,
    pattern_sha256,
    reader_result,
    s3_channel,
    start_reader,
)

BIG = 4 * MIB  # more than a pipe buffer holds: the feeder is mid-write while it is read


def _stage(store: Store, dest: Path, progress: Path, mode: str, uri: str) -> StagedChannel:
    return stage_channel(
        store,
        s3_channel(uri),
        dest,
        host_index=0,
        host_count=1,
        input_mode=mode,
        progress_path=progress,
    )


def _resume(store: Store, dest: Path, progress: Path, mode: str, uri: str) -> StagedChannel | None:
    return resume_channel(
        store,
        s3_channel(uri),
        dest,
        host_index=0,
        host_count=1,
        input_mode=mode,
        progress_path=progress,
    )


def _wait_until_blocked_in_open(process: subprocess.Popen[str], timeout_s: float = 10.0) -> None:
    """Until the reader waits in open() for a FIFO's writer (without giving it one)."""
    wchan = Path(f"/proc/{process.pid}/wchan")
    deadline = time.monotonic() + timeout_s
    while wchan.read_text() != "wait_for_partner":
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the reader never waited for the FIFO"
        time.sleep(0.01)


def test_pipe_goes_on_from_the_epoch_not_yet_opened(store: Store, tmp_path: Path) -> None:
    store.put_object("bucket", "pipe/a", PatternStream(BIG))
    dest, progress = tmp_path / "data", tmp_path / "feeders" / "train.json"
    uri = "s3://bucket/pipe/"
    staged = _stage(store, dest, progress, "Pipe", uri)
    first = reader_result(start_reader(dest / "train_{epoch}", "--epochs", "1"))
    assert first["epochs"][0]["sha256"] == pattern_sha256(BIG)
    staged.detach()  # the server goes away between two epochs...
    assert stat.S_ISFIFO(os.stat(dest / "train_1").st_mode), "detach leaves the FIFO"
    waiting = start_reader(dest / "train_1", "--epochs", "1")
    _wait_until_blocked_in_open(waiting)  # ...and the script waits in open() for epoch 1

    resumed = _resume(store, dest, progress, "Pipe", uri)
    assert resumed is not None
    with resumed:
        second = reader_result(waiting)
        assert second["epochs"] == first["epochs"]  # the whole epoch, byte for byte
        assert stat.S_ISFIFO(os.stat(dest / "train_2").st_mode), "and it goes on"


def test_pipe_mid_epoch_is_refused_honestly(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.put_object("bucket", "pipe/a", PatternStream(BIG))
    dest, progress = tmp_path / "data", tmp_path / "feeders" / "train.json"
    uri = "s3://bucket/pipe/"
    staged = _stage(local_store, dest, progress, "Pipe", uri)
    with open(dest / "train_0", "rb") as script:
        assert len(script.read(1000)) == 1000  # the script is reading epoch 0...
        staged.detach()  # ...when the server goes away
        with pytest.raises(FeedInterruptedError, match="during a Pipe-mode epoch: epoch 0"):
            _resume(local_store, dest, progress, "Pipe", uri)


def test_local_fastfile_and_file_mode_need_nothing(local_store: LocalStore, tmp_path: Path) -> None:
    local_store.put_object("bucket", "ff/a.csv", b"1,2\n")
    dest, progress = tmp_path / "data", tmp_path / "feeders" / "train.json"
    for mode in ("FastFile", "File"):
        _stage(local_store, dest, progress, mode, "s3://bucket/ff/").detach()
        assert _resume(local_store, dest, progress, mode, "s3://bucket/ff/") is None
    assert (dest / "train" / "a.csv").read_bytes() == b"1,2\n"


@pytest.mark.s3
def test_s3_fastfile_serves_a_reader_waiting_across_the_restart(
    s3_store: Store, tmp_path: Path
) -> None:
    s3_store.create_bucket("bucket")
    s3_store.put_object("bucket", "ff/a.bin", PatternStream(BIG))
    dest, progress = tmp_path / "data", tmp_path / "feeders" / "train.json"
    uri = "s3://bucket/ff/"
    _stage(s3_store, dest, progress, "FastFile", uri).detach()
    waiting = start_reader(dest / "train" / "a.bin", "--epochs", "1")
    _wait_until_blocked_in_open(waiting)
    resumed = _resume(s3_store, dest, progress, "FastFile", uri)
    assert resumed is not None
    with resumed:
        assert reader_result(waiting)["epochs"][0]["sha256"] == pattern_sha256(BIG)


@pytest.mark.s3
def test_s3_fastfile_cut_mid_stream_is_refused(s3_store: Store, tmp_path: Path) -> None:
    s3_store.create_bucket("bucket")
    s3_store.put_object("bucket", "ff/a.bin", PatternStream(BIG))
    dest, progress = tmp_path / "data", tmp_path / "feeders" / "train.json"
    uri = "s3://bucket/ff/"
    staged = _stage(s3_store, dest, progress, "FastFile", uri)
    with open(dest / "train" / "a.bin", "rb") as script:
        assert len(script.read(1000)) == 1000
        staged.detach()
        with pytest.raises(FeedInterruptedError, match=r"1 file.* were being streamed"):
            _resume(s3_store, dest, progress, "FastFile", uri)
