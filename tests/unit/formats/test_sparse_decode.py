"""Sparse RecordIO-protobuf decoding: the fast path for the standard layout and its parts.

The fast path (``_layout.parse_standard``) reads the records SageMaker's writers
produce; the byte-range copies (``_vec.compact``) and the short-varint decoder
(``_varints.decode_short_varint_runs``) it rests on are checked against plain
per-item references, and every matrix against what was encoded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.formats import FormatError, decode_to_numpy, decode_to_sparse, encode_sparse, frame
from modelyard.formats._layout import parse_standard
from modelyard.formats._varints import decode_short_varint_runs
from modelyard.formats._vec import compact
from modelyard.formats.recordio import record_spans

# Column counts around the varint widths of keys: 1 byte < 128 <= 2 bytes < 16,384 <= 3 bytes.
COLUMNS = [1, 2, 127, 128, 129, 300, 16_383, 16_384, 20_000, 3_000_000]


def varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@st.composite
def sparse_matrices(draw: st.DrawFn) -> tuple[Any, np.ndarray | None]:
    """A CSR matrix with odd shapes: empty rows, full rows, keys of every varint width."""
    rows = draw(st.integers(1, 30))
    columns = draw(st.sampled_from(COLUMNS))
    per_row = [
        sorted(draw(st.sets(st.integers(0, columns - 1), max_size=min(columns, 40))))
        for _ in range(rows)
    ]
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64, np.int64])))
    indptr = np.concatenate([[0], np.cumsum([len(keys) for keys in per_row])])
    indices = np.asarray([key for keys in per_row for key in keys], dtype=np.int64)
    seed = draw(st.integers(0, 2**16))
    data = np.random.default_rng(seed).normal(size=indices.size) * 1000
    matrix = scipy.sparse.csr_matrix(
        (data.astype(dtype), indices, indptr), shape=(rows, columns), dtype=dtype
    )
    labels = None
    if draw(st.booleans()):
        labels = np.arange(rows, dtype=draw(st.sampled_from([np.int64, np.float32])))
    return matrix, labels


@settings(max_examples=150, deadline=None)
@given(sparse_matrices())
def test_sparse_records_decode_to_the_encoded_matrix(case: tuple[Any, np.ndarray | None]) -> None:
    matrix, labels = case
    encoded = encode_sparse(matrix, labels)
    decoded, decoded_labels = decode_to_sparse(encoded)
    assert decoded.shape == matrix.shape
    assert decoded.dtype == (np.int32 if matrix.dtype == np.int64 else matrix.dtype)
    assert np.array_equal(decoded.indptr, matrix.indptr)
    assert np.array_equal(decoded.indices, matrix.indices)
    assert np.array_equal(decoded.data, matrix.data.astype(decoded.dtype))
    if labels is None:
        assert decoded_labels is None
    else:
        assert decoded_labels is not None
        assert np.array_equal(decoded_labels, labels)
    if matrix.shape[1] <= 20_000:
        dense, _ = decode_to_numpy(encoded)
        assert np.array_equal(dense, matrix.toarray().astype(dense.dtype))


@pytest.mark.parametrize(("long_row", "empty_row"), [(0, 5), (5, 0), (100, 199)])
def test_sdk_layout_takes_the_fast_path(long_row: int, empty_row: int) -> None:
    matrix = scipy.sparse.random(200, 1000, density=0.01, format="lil", dtype=np.float32, rng=3)
    matrix[long_row, :60] = 1.0  # a record of two-byte lengths
    matrix[empty_row, :] = 0  # a record holding the shape alone
    matrix = matrix.tocsr()
    assert matrix.indptr[empty_row] == matrix.indptr[empty_row + 1]
    data, starts, lengths = record_spans(encode_sparse(matrix, np.arange(200)))
    parsed = parse_standard(data, starts, lengths)
    assert parsed is not None
    features, labels = parsed
    assert labels is not None
    assert np.array_equal(features.keys, matrix.indices)
    assert features.key_counts.tolist() == np.diff(matrix.indptr).tolist()
    assert features.shape.tolist() == [1000] * 200


@pytest.mark.parametrize("shape", [(3, 0), (3, 5), (1, 1)])
def test_matrices_without_values_keep_their_shape(shape: tuple[int, int]) -> None:
    matrix = scipy.sparse.csr_matrix(shape, dtype=np.float32)
    decoded, labels = decode_to_sparse(encode_sparse(matrix, np.arange(shape[0])))
    assert decoded.shape == shape
    assert decoded.nnz == 0
    assert labels is not None
    assert labels.tolist() == list(range(shape[0]))


def test_records_of_different_widths_decode_to_the_widest() -> None:
    narrow = scipy.sparse.csr_matrix(np.array([[0, 1.5], [2.5, 0]], dtype=np.float32))
    wide = scipy.sparse.csr_matrix(np.array([[0, 0, 0, 4.0]], dtype=np.float32))
    decoded, _ = decode_to_sparse(encode_sparse(narrow) + encode_sparse(wide))
    assert decoded.shape == (3, 4)
    assert decoded.toarray().tolist() == [[0, 1.5, 0, 0], [2.5, 0, 0, 0], [0, 0, 0, 4.0]]


def test_more_keys_than_values_is_refused() -> None:
    tensor = b"\x0a\x04" + np.float32(1).tobytes() + b"\x12\x02\x01\x02" + b"\x1a\x01\x05"
    value = b"\x12" + varint(len(tensor)) + tensor
    entry = b"\x0a\x06values\x12" + varint(len(value)) + value
    record = b"\x0a" + varint(len(entry)) + entry
    with pytest.raises(FormatError, match="2 keys for 1 values"):
        decode_to_sparse(frame([record, record]))


# -- the parts ---------------------------------------------------------------------------------


@st.composite
def ranges(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A buffer and ascending, disjoint byte ranges in it, some empty, some up to its end."""
    sizes = draw(st.lists(st.integers(0, 300) | st.integers(0, 3000), min_size=1, max_size=30))
    gaps = draw(st.lists(st.integers(0, 20), min_size=len(sizes), max_size=len(sizes)))
    starts = np.cumsum(gaps) + np.concatenate([[0], np.cumsum(sizes)[:-1]])
    size = int(starts[-1] + sizes[-1]) + draw(st.integers(0, 5))
    buffer = np.random.default_rng(draw(st.integers(0, 2**16))).integers(0, 256, size)
    return buffer.astype(np.uint8), starts.astype(np.int64), np.asarray(sizes, dtype=np.int64)


@settings(max_examples=200, deadline=None)
@given(ranges(), st.integers(0, 3))
def test_compact_copies_ranges_end_to_end(case: tuple[Any, Any, Any], lead: int) -> None:
    buffer, starts, sizes = case
    out = compact(buffer, starts, sizes, lead=lead)
    pieces = [buffer[s : s + n].tobytes() for s, n in zip(starts, sizes, strict=True)]
    assert out.tobytes() == bytes(lead) + b"".join(pieces)


@st.composite
def key_runs(
    draw: st.DrawFn,
    keys: st.SearchStrategy[int] = st.integers(0, 2**14 - 1) | st.integers(0, 2**21),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[int]]]:
    """Packed varint runs, each after a length byte as in a record; keys mostly < 2**14."""
    runs = draw(
        st.lists(
            st.lists(keys, max_size=12),
            min_size=1,
            max_size=12,
        )
    )
    buffer = bytearray()
    starts, ends = [], []
    for keys in runs:
        payload = b"".join(varint(key) for key in keys)
        buffer += b"\x12" + varint(len(payload))
        starts.append(len(buffer))
        buffer += payload
        ends.append(len(buffer))
        buffer += draw(st.binary(max_size=3))
    array = np.frombuffer(bytes(buffer), dtype=np.uint8)
    return array, np.asarray(starts), np.asarray(ends), runs


@settings(max_examples=200, deadline=None)
@given(key_runs() | key_runs(st.integers(0, 127)))
def test_short_varint_runs_decode_or_step_aside(case: tuple[Any, Any, Any, Any]) -> None:
    buffer, starts, ends, runs = case
    counts = np.asarray([len(keys) for keys in runs], dtype=np.int64)
    decoded = decode_short_varint_runs(buffer, starts, ends, counts)
    everything = [key for keys in runs for key in keys]
    if any(key >= 2**14 for key in everything):
        assert decoded is None  # the general decoder takes 3-byte varints
    else:
        assert decoded is not None
        assert decoded.tolist() == everything
    for change in (1, -1):  # a run holding one key more or less than its row's values
        if counts.any():
            wrong = counts.copy()
            wrong[np.argmax(counts)] += change
            assert decode_short_varint_runs(buffer, starts, ends, wrong) is None


@pytest.mark.parametrize(
    ("runs", "counts"),
    [
        ([[300], [5, 6]], [2, 2]),  # as many bytes as keys, but one key takes two
        ([[1, 2], [3, 4]], [1, 3]),  # one-byte keys, one too many in the first run
    ],
)
def test_one_byte_runs_that_do_not_fit_step_aside(runs: list[list[int]], counts: list[int]) -> None:
    payloads = [b"".join(varint(key) for key in keys) for keys in runs]
    buffer = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    ends = np.cumsum([len(p) for p in payloads])
    starts = ends - [len(p) for p in payloads]
    assert decode_short_varint_runs(buffer, starts, ends, np.asarray(counts)) is None
