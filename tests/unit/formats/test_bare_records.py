"""A bare Record (no RecordIO framing), as SageMaker sends one with BatchStrategy=SingleRecord."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelyard.formats import (
    Float32Tensor,
    Record,
    RecordIOError,
    Value,
    decode_records,
    decode_to_numpy,
    decode_to_sparse,
    encode_dense,
    encode_records,
    encode_sparse,
    unframe,
)
from modelyard.formats.content_types import decode

CONTENT_TYPE = "application/x-recordio-protobuf"


def test_a_bare_dense_record_decodes_to_one_row() -> None:
    matrix = np.array([[1.5, -2.0, 3.25]], dtype=np.float32)
    framed = encode_dense(matrix, np.array([7]))
    [bare] = unframe(framed)
    features, labels = decode_to_numpy(bare)
    assert features.tolist() == matrix.tolist()
    assert labels is not None
    assert labels.tolist() == [7]
    assert decode(bare, CONTENT_TYPE).tolist() == matrix.tolist()
    assert decode_records(bare) == decode_records(framed)


def test_a_bare_sparse_record_decodes_to_one_row() -> None:
    row = scipy.sparse.csr_matrix(np.array([[0.0, 0.0, 4.0, 0.0, 5.5]], dtype=np.float32))
    [bare] = unframe(encode_sparse(row))
    matrix, labels = decode_to_sparse(bare)
    assert matrix.shape == (1, 5)
    assert (matrix != row).nnz == 0
    assert labels is None
    assert decode_to_numpy(bare)[0].tolist() == row.toarray().tolist()


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(0, 8))))
def test_each_record_alone_decodes_like_its_row(matrix: np.ndarray) -> None:
    for i, bare in enumerate(unframe(encode_dense(matrix))):
        features, _ = decode_to_numpy(bare)
        assert features.tobytes() == matrix[i : i + 1].tobytes()


def test_framed_streams_still_decode_every_record() -> None:
    matrix = np.arange(12, dtype=np.float64).reshape(4, 3)
    features, _ = decode_to_numpy(encode_dense(matrix))
    assert features.tolist() == matrix.tolist()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"hello, world", "not a bare protobuf Record either"),
        (b"\x0a\x40\x0a\x06values", "truncated field 1"),  # the entry claims 64 bytes
        (b"\x1a\x03abc", "it holds no features"),  # a valid Record, with only a uid
        (b"\x0f", "unsupported wire type 7"),
    ],
)
def test_garbage_is_refused_with_the_framing_error(payload: bytes, reason: str) -> None:
    for decoder in (decode_to_numpy, decode_to_sparse, decode_records):
        with pytest.raises(RecordIOError) as info:
            decoder(payload)
        assert info.value.offset == 0
        assert info.value.field == "magic"
        assert "bad RecordIO magic number" in str(info.value)
        assert reason in str(info.value)


def test_a_truncated_frame_is_still_a_framing_error() -> None:
    framed = encode_dense(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(RecordIOError, match="truncated RecordIO record"):
        decode_to_numpy(framed[:-4])
    with pytest.raises(RecordIOError, match="truncated RecordIO header"):
        decode_to_numpy(framed[:2])


def test_a_record_with_extra_fields_is_bare_too() -> None:
    record = Record(features={"values": Value(Float32Tensor([2.0]))}, uid="row-1")
    [bare] = unframe(encode_records([record]))
    assert decode_records(bare) == [record]
    assert decode_to_numpy(bare)[0].tolist() == [[2.0]]
