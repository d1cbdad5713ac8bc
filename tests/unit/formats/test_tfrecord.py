"""TFRecord framing: the spec's layout and CRC-32C vectors, round trips, and corruption caught."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.formats import (
    TFRecordError,
    TFRecordWriter,
    crc32c,
    frame_tfrecords,
    masked_crc32c,
    read_tfrecords,
    unframe_tfrecords,
)
from modelyard.formats.tfrecord import crc32c_many, unmask_crc32c


def reference_crc32c(data: bytes) -> int:
    """CRC-32C bit by bit, straight from its definition (reflected polynomial 0x82F63B78)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def reference_mask(crc: int) -> int:
    """TensorFlow's masking (tensorflow/core/lib/hash/crc32c.h): rotate right by 15, add."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def test_crc32c_matches_the_published_check_values() -> None:
    # RFC 3720 (iSCSI) appendix B.4, and the CRC catalogue's check value for "123456789".
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_crc32c_equals_the_bitwise_definition(data: bytes) -> None:
    assert crc32c(data) == reference_crc32c(data)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=700), max_size=40))
def test_crc32c_many_checks_a_batch_of_mixed_sizes_at_once(payloads: list[bytes]) -> None:
    assert crc32c_many(payloads) == [reference_crc32c(p) for p in payloads]


def test_a_large_payload_is_checked_correctly() -> None:
    data = bytes(range(256)) * 4099 + b"tail"
    assert crc32c(data) == reference_crc32c(data)


def test_masking_is_tensorflows_and_reversible() -> None:
    assert masked_crc32c(b"123456789") == reference_mask(0xE3069283)
    assert unmask_crc32c(masked_crc32c(b"abc")) == crc32c(b"abc")


def test_a_record_is_laid_out_as_the_tfrecord_spec_says() -> None:
    data = b"a tf.train.Example would go here"
    header = struct.pack("<Q", len(data))
    expected = (
        header
        + struct.pack("<I", reference_mask(reference_crc32c(header)))
        + data
        + struct.pack("<I", reference_mask(reference_crc32c(data)))
    )
    assert frame_tfrecords([data]) == expected
    # An empty record: eight zero bytes of length and its CRC, then only the data CRC.
    empty_header = bytes(8)
    assert frame_tfrecords([b""]) == (
        empty_header
        + struct.pack("<I", reference_mask(reference_crc32c(empty_header)))
        + struct.pack("<I", reference_mask(0))
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=30), st.integers(1, 7))
def test_records_round_trip_through_the_stream_reader(payloads: list[bytes], batch: int) -> None:
    framed = frame_tfrecords(payloads)
    assert unframe_tfrecords(framed) == payloads
    assert list(read_tfrecords(io.BytesIO(framed), batch=batch)) == payloads


def test_the_writer_writes_what_frame_does() -> None:
    stream = io.BytesIO()
    with TFRecordWriter(stream) as writer:
        writer.write(b"one")
        writer.write(b"two")
    assert stream.getvalue() == frame_tfrecords([b"one", b"two"])
    assert (writer.records_written, writer.bytes_written) == (2, len(stream.getvalue()))


def test_a_corrupt_data_byte_is_caught_by_its_crc_with_the_offset() -> None:
    framed = bytearray(frame_tfrecords([b"first", b"second"]))
    second = 12 + 5 + 4
    framed[second + 12] ^= 0x01
    with pytest.raises(TFRecordError, match=rf"data CRC .*byte offset {second}"):
        unframe_tfrecords(bytes(framed))
    with pytest.raises(TFRecordError, match="data CRC"):
        list(read_tfrecords(io.BytesIO(bytes(framed))))


def test_a_corrupt_length_is_caught_before_it_is_trusted() -> None:
    framed = bytearray(frame_tfrecords([b"record"]))
    framed[3] = 0x7F
    with pytest.raises(TFRecordError, match=r"length CRC .*byte offset 0"):
        list(read_tfrecords(io.BytesIO(bytes(framed))))


def test_a_truncated_record_says_how_much_is_missing() -> None:
    framed = frame_tfrecords([b"0123456789"])
    with pytest.raises(TFRecordError, match="declares 10 bytes"):
        unframe_tfrecords(framed[:-6])
    with pytest.raises(TFRecordError, match="truncated TFRecord header: 5 of 12"):
        list(read_tfrecords(io.BytesIO(framed[:5])))
