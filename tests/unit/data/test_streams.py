"""Pipe mode's byte streams: bounded gunzip and streamed RecordIO framing."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator

import pytest

from modelyard.data.streams import CHUNK_BYTES, ObjectChangedError, gunzip, record
from modelyard.errors import ValidationError
from modelyard.formats.recordio import frame, read_recordio


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("piece_bytes", [7, 65536, 10**8])
def test_gunzip_joins_members_in_any_chunking(piece_bytes: int) -> None:
    data = os.urandom(300_000) + b"a" * 3_000_000
    members = gzip.compress(data[:100_000]) + gzip.compress(data[100_000:]) + b"\0" * 8
    assert b"".join(gunzip(pieces(members, piece_bytes), "s3://b/k")) == data


def test_gunzip_output_is_bounded_per_step() -> None:
    bomb = gzip.compress(b"\0" * (40 * CHUNK_BYTES))
    assert len(bomb) < CHUNK_BYTES // 10
    assert max(len(out) for out in gunzip(iter([bomb]), "s3://b/k")) <= CHUNK_BYTES


@pytest.mark.parametrize(
    ("data", "words"),
    [(gzip.compress(b"abc" * 1000)[:20], "truncated"), (b"plain text", "not gzip")],
)
def test_gunzip_names_the_object_it_cannot_read(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        b"".join(gunzip(iter([data]), "s3://b/broken"))
    assert words in caught.value.message
    assert "s3://b/broken" in caught.value.message


@pytest.mark.parametrize("size", [0, 1, 5, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 2])
@pytest.mark.parametrize("known", [True, False])
def test_streamed_records_match_the_format_writer(size: int, known: bool) -> None:
    payload = os.urandom(size)
    framed = b"".join(record(lambda: pieces(payload, 65536), size if known else None, "s3://b/k"))
    assert framed == frame([payload])


def test_a_payload_that_changes_between_reads_is_an_error() -> None:
    reads = iter([b"x" * (CHUNK_BYTES + 10), b"x" * (CHUNK_BYTES + 20)])
    with pytest.raises(ObjectChangedError):
        b"".join(record(lambda: iter([next(reads)]), None, "s3://b/k"))


def test_records_read_back() -> None:
    payloads = [b"", b"a", os.urandom(CHUNK_BYTES * 2 + 1)]

    def framed(payload: bytes) -> bytes:
        return b"".join(record(lambda: iter([payload]), len(payload), "s3://b/k"))

    stream = b"".join(framed(payload) for payload in payloads)
    assert list(read_recordio(io.BytesIO(stream))) == payloads
