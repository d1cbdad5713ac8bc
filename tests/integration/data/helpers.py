"""Channels as CreateTrainingJob writes them, and streams of test data that are never held whole."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024
PERIOD = 32  # the pattern repeats every 32 bytes, whatever the read sizes


def s3_channel(
    uri: str,
    *,
    name: str = "train",
    data_type: str = "S3Prefix",
    seed: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A Channel; ``fields`` are its top-level members, ``S3DataDistributionType`` included."""
    source: dict[str, Any] = {"S3DataType": data_type, "S3Uri": uri}
    if "S3DataDistributionType" in fields:
        source["S3DataDistributionType"] = fields.pop("S3DataDistributionType")
    if "AttributeNames" in fields:
        source["AttributeNames"] = fields.pop("AttributeNames")
    channel: dict[str, Any] = {"ChannelName": name, "DataSource": {"S3DataSource": source}}
    if seed is not None:
        channel["ShuffleConfig"] = {"Seed": seed}
    channel.update(fields)
    return channel


class PatternStream:
    """``size`` bytes of a cheap repeating pattern, produced chunk by chunk (read-only stream)."""

    def __init__(self, size: int, *, seed: int = 0) -> None:
        self.size = size
        self.sent = 0
        self._block = hashlib.sha256(str(seed).encode()).digest() * (MIB // PERIOD + 1)

    def read(self, size: int = -1) -> bytes:
        left = self.size - self.sent
        if left <= 0:
            return b""
        want = left if size is None or size < 0 else min(size, left)
        want = min(want, len(self._block) - PERIOD)
        start = self.sent % PERIOD
        self.sent += want
        return self._block[start : start + want]

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def pattern_sha256(size: int, *, seed: int = 0) -> str:
    stream = PatternStream(size, seed=seed)
    digest = hashlib.sha256()
    while chunk := stream.read(MIB):
        digest.update(chunk)
    return digest.hexdigest()


READER = Path(__file__).with_name("fifo_reader.py")


def start_reader(template: Path | str, *args: str) -> subprocess.Popen[str]:
    """The reader script (``fifo_reader.py``) in its own process."""
    return subprocess.Popen(
        [sys.executable, str(READER), str(template), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def reader_result(process: subprocess.Popen[str], timeout_s: float = 60.0) -> dict[str, Any]:
    try:
        out, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"reader timed out; stderr: {err[-2000:]}") from None
    assert process.returncode == 0, err[-2000:]
    result: dict[str, Any] = json.loads(out)
    return result


class PeakRss:
    """The growth of this process's resident memory while the block runs, sampled every 5 ms."""

    def __init__(self, interval_s: float = 0.005) -> None:
        self._interval_s = interval_s
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.baseline = 0
        self.peak = 0

    def _sample(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self.baseline = self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.baseline
