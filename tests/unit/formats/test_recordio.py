"""RecordIO framing: round trips, MXNet's split records, and errors that name the byte offset."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.formats import RecordIOError, RecordIOWriter, frame, read_recordio, recordio, unframe
from modelyard.formats.recordio import MAGIC_BYTES, record_spans, write_recordio

MAGIC = MAGIC_BYTES

# What MXNet 1.9.1 (mx.recordio.MXRecordIO) writes for these payloads: split at every
# 4-byte-aligned magic number, flags 1/2/3. Captured once from a real MXNet install.
MXNET_PAYLOADS = [
    b"",
    b"a",
    b"abcd" + MAGIC + b"xyz",
    MAGIC,
    MAGIC + MAGIC,
    b"ab" + MAGIC + b"cd",
    b"1234" + MAGIC,
]
MXNET_BYTES = bytes.fromhex(
    "0a23d7ce00000000 0a23d7ce01000000 61000000 0a23d7ce04000020 61626364"
    " 0a23d7ce03000060 78797a00 0a23d7ce00000020 0a23d7ce00000060 0a23d7ce00000020"
    " 0a23d7ce00000040 0a23d7ce00000060 0a23d7ce08000000 61620a23d7ce6364"
    " 0a23d7ce04000020 31323334 0a23d7ce00000060"
)

# Payloads that often hold the magic number, at aligned and unaligned offsets.
chunks = st.sampled_from([b"", b"x", b"ab", b"abc", b"abcd", MAGIC, MAGIC[:2], MAGIC[2:]])
payloads = st.one_of(st.binary(max_size=64), st.lists(chunks, max_size=8).map(b"".join))


class ShortReads(io.RawIOBase):
    """A pipe-like stream that returns at most 3 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self._data.read(min(3, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@settings(max_examples=150, deadline=None)
@given(st.lists(payloads, max_size=12), st.booleans())
def test_frame_unframe_round_trip(items: list[bytes], split_magic: bool) -> None:
    framed = frame(items, split_magic=split_magic)
    assert len(framed) % 4 == 0
    assert unframe(framed) == items
    assert list(read_recordio(io.BytesIO(framed))) == items
    assert list(read_recordio(ShortReads(framed))) == items  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.lists(payloads, max_size=12))
def test_default_writer_is_sagemakers_whole_records(items: list[bytes]) -> None:
    expected = b"".join(
        struct.pack("<II", 0xCED7230A, len(p)) + p + b"\0" * (-len(p) % 4) for p in items
    )
    assert frame(items) == expected
    stream = io.BytesIO()
    with RecordIOWriter(stream) as writer:
        writer.write_all(items)
    assert stream.getvalue() == expected
    assert writer.records_written == len(items)
    assert writer.bytes_written == len(expected)


def test_split_writer_matches_mxnet_byte_for_byte() -> None:
    assert frame(MXNET_PAYLOADS, split_magic=True) == MXNET_BYTES
    assert unframe(MXNET_BYTES) == MXNET_PAYLOADS
    assert list(read_recordio(io.BytesIO(MXNET_BYTES))) == MXNET_PAYLOADS


@pytest.mark.parametrize("length", range(9))
def test_padding_to_four_bytes(length: int) -> None:
    payload = bytes(range(1, length + 1))
    framed = frame([payload])
    assert len(framed) == 8 + length + (-length % 4)
    assert framed[8 + length :] == b"\0" * (-length % 4)
    assert unframe(framed) == [payload]


def test_spans_agree_across_the_three_paths() -> None:
    regular = frame([b"abcdef"] * 5)  # same length: one comparison
    chained = frame([b"a", b"bcde", b"", b"fghijk"])  # magic numbers chain
    tricky = frame([b"abcd" + MAGIC + b"efgh", b"x"])  # a payload holds the magic
    for buffer, expected in (
        (regular, [b"abcdef"] * 5),
        (chained, [b"a", b"bcde", b"", b"fghijk"]),
        (tricky, [b"abcd" + MAGIC + b"efgh", b"x"]),
    ):
        data, starts, lengths = record_spans(buffer)
        got = [data[s : s + n].tobytes() for s, n in zip(starts, lengths, strict=True)]
        assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0xCED7230A, 0, 1, 0x0ACED723]), max_size=80))
def test_magic_words_are_found_like_a_plain_search(words: list[int]) -> None:
    """By groups of 8 words when each holds at most one, else the plain way: same answer."""
    array = np.asarray(words, dtype="<u4")
    found = recordio._magic_words(array)
    assert found.tolist() == np.flatnonzero(array == 0xCED7230A).tolist()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.binary(min_size=24, max_size=200), payloads), max_size=30))
def test_chained_spans_agree_with_the_header_walk(items: list[bytes]) -> None:
    """Long parts (one magic per group of 8 words), short ones, payloads holding the magic."""
    framed = np.frombuffer(frame(items), dtype=np.uint8)
    starts, lengths, _ = recordio._scan(framed)
    chained = recordio._chained_spans(framed) if framed.size else None
    if chained is not None:
        assert chained[0].tolist() == starts.tolist()
        assert chained[1].tolist() == lengths.tolist()
    data, found_starts, found_lengths = record_spans(framed)
    got = [data[s : s + n].tobytes() for s, n in zip(found_starts, found_lengths, strict=True)]
    assert got == items


def test_write_recordio_returns_bytes_written() -> None:
    stream = io.BytesIO()
    assert write_recordio(stream, b"abcde") == 16
    assert stream.getvalue()[:4] == MAGIC


def test_empty_stream_has_no_records() -> None:
    assert unframe(b"") == []
    assert list(read_recordio(io.BytesIO(b""))) == []


def _errors(buffer: bytes) -> list[RecordIOError]:
    found = []
    for reader in (unframe, lambda b: list(read_recordio(io.BytesIO(b)))):
        with pytest.raises(RecordIOError) as info:
            reader(buffer)
        found.append(info.value)
    return found


def test_bad_magic_names_its_offset() -> None:
    good = frame([b"abcd", b"efgh"])
    broken = good[:12] + b"\xde\xad\xbe\xef" + good[16:]
    for error in _errors(broken):
        assert error.offset == 12
        assert error.field == "magic"
        assert "byte offset 12" in str(error)
        assert "0xEFBEADDE" in str(error)


def test_truncated_record_names_its_offset() -> None:
    good = frame([b"abcd", b"efghij"])
    for error in _errors(good[:-3]):
        assert error.offset == 12
        assert "truncated" in str(error)


def test_truncated_header_names_its_offset() -> None:
    good = frame([b"abcd"])
    for error in _errors(good + MAGIC):
        assert error.offset == 12
        assert "header" in str(error)


def test_continuation_without_start_is_an_error() -> None:
    orphan = struct.pack("<II", 0xCED7230A, (3 << 29) | 4) + b"abcd"
    for error in _errors(frame([b"x"]) + orphan):
        assert error.offset == 12
        assert error.field == "lrec"


def test_unterminated_split_record_is_an_error() -> None:
    start = struct.pack("<II", 0xCED7230A, (1 << 29) | 4) + b"abcd"
    for error in _errors(frame([b"x"]) + start):
        assert error.offset == 12


def test_bad_flag_is_an_error() -> None:
    bad = struct.pack("<II", 0xCED7230A, (5 << 29) | 0)
    for error in _errors(bad):
        assert error.offset == 0
        assert "flag 5" in str(error)


def test_oversized_payload_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recordio, "MAX_RECORD_BYTES", 3)
    with pytest.raises(RecordIOError, match="at most 3 bytes") as info:
        frame([b"abcd"])
    assert info.value.field == "payload"


def test_read_recordio_is_lazy() -> None:
    framed = frame([b"one", b"two"]) + b"garbage!"
    records = read_recordio(io.BytesIO(framed))
    assert next(records) == b"one"
    assert next(records) == b"two"
    with pytest.raises(RecordIOError):
        next(records)


def test_record_spans_accepts_numpy_buffers() -> None:
    framed = np.frombuffer(frame([b"abc", b"de"]), dtype=np.uint8)
    _data, starts, lengths = record_spans(framed)
    assert starts.tolist() == [8, 20]
    assert lengths.tolist() == [3, 2]
