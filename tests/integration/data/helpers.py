"""Channels as CreateTrainingJob writes them, and streams of test data that are never held whole."""

from __future__ import annotations

import hashlib
from typing import Any

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
