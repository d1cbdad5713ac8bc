"""RecordIO-protobuf: vectorised encode/decode against a plain per-record reference."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from modelyard.formats import (
    Float32Tensor,
    FormatError,
    ProtobufError,
    Record,
    Value,
    decode_records,
    decode_to_numpy,
    decode_to_sparse,
    encode_dense,
    encode_records,
    encode_sparse,
    frame,
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from modelyard.formats.records import Bytes, Float64Tensor, Int32Tensor

TENSORS = {
    np.dtype(np.float32): Float32Tensor,
    np.dtype(np.float64): Float64Tensor,
    np.dtype(np.int32): Int32Tensor,
    np.dtype(np.int64): Int32Tensor,
}
INT32 = {"min_value": -(2**31), "max_value": 2**31 - 1}


def _elements(dtype: np.dtype[Any]) -> st.SearchStrategy[Any]:
    if dtype.kind == "f":
        return st.floats(width=dtype.itemsize * 8, allow_nan=True, allow_infinity=True)
    return st.integers(**INT32)


@st.composite
def matrices(draw: st.DrawFn, max_rows: int = 12, max_columns: int = 10) -> np.ndarray:
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64, np.int32, np.int64])))
    shape = (draw(st.integers(0, max_rows)), draw(st.integers(0, max_columns)))
    return draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))


@st.composite
def labelled(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    matrix = draw(matrices())
    kind = draw(st.sampled_from(["none", "1d", "2d"]))
    if kind == "none":
        return matrix, None
    dtype = np.dtype(draw(st.sampled_from([np.float32, np.float64, np.int64])))
    shape = (matrix.shape[0],) if kind == "1d" else (matrix.shape[0], draw(st.integers(2, 3)))
    return matrix, draw(hnp.arrays(dtype, shape, elements=_elements(dtype)))


def reference_encode(matrix: np.ndarray, labels: np.ndarray | None) -> bytes:
    """One Record per row, built and serialized one at a time (the SDK's way)."""
    records = []
    for i, row in enumerate(matrix):
        record = Record(features={"values": Value(TENSORS[matrix.dtype](row))})
        if labels is not None:
            record.label["values"] = Value(TENSORS[labels.dtype](np.atleast_1d(labels[i])))
        records.append(record)
    return encode_records(records)


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal values, dtype and shape; floats compared bit for bit (NaN payloads too)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return a.tobytes() == b.tobytes()


def wire_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(np.int32) if dtype.kind in "iu" else dtype


@settings(max_examples=200, deadline=None)
@given(labelled())
def test_dense_round_trip_and_reference_bytes(case: tuple[np.ndarray, np.ndarray | None]) -> None:
    matrix, labels = case
    encoded = encode_dense(matrix, labels)
    assert encoded == reference_encode(matrix, labels)
    features, decoded_labels = decode_to_numpy(encoded)
    if matrix.shape[0] == 0:
        assert features.shape[0] == 0
        assert decoded_labels is None
        return
    assert same(features, matrix.astype(wire_dtype(matrix.dtype)))
    if labels is None:
        assert decoded_labels is None
    else:
        assert decoded_labels is not None
        assert same(decoded_labels, labels.astype(wire_dtype(labels.dtype)))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.integers(0, 15),
    columns=st.integers(1, 40),
    density=st.floats(0, 1),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from([np.float32, np.float64, np.int64]),
    with_labels=st.booleans(),
)
def test_sparse_round_trip(
    rows: int, columns: int, density: float, seed: int, dtype: type, with_labels: bool
) -> None:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(rows, columns)) * (rng.random((rows, columns)) < density)
    if dtype is np.int64:
        dense = np.round(dense * 1000)
    matrix = scipy.sparse.csr_matrix(dense.astype(dtype))
    labels = rng.integers(0, 5, rows) if with_labels else None
    encoded = encode_sparse(matrix, labels)
    decoded, decoded_labels = decode_to_sparse(encoded)
    if rows == 0:  # no record, so nothing tells the width
        assert encoded == b""
        assert decoded.shape == (0, 0)
        return
    assert decoded.shape == matrix.shape
    assert decoded.dtype == wire_dtype(np.dtype(dtype))
    assert (decoded != matrix).nnz == 0
    dense_back, _ = decode_to_numpy(encoded)
    assert np.array_equal(dense_back, matrix.toarray())
    if with_labels:
        assert decoded_labels is not None
        assert np.array_equal(decoded_labels, labels)
    # The per-record reference parser sees the same thing.
    for i, record in enumerate(decode_records(encoded)):
        tensor = record.features["values"].WhichOneof("value")
        assert tensor is not None
        parsed = getattr(record.features["values"], tensor)
        assert parsed.shape.tolist() == [columns]
        row = matrix.getrow(i)
        assert parsed.keys.tolist() == row.indices.tolist()
        assert np.array_equal(parsed.values, row.data.astype(parsed.values.dtype))


def test_higher_rank_rows_keep_their_shape() -> None:
    images = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    features, _ = decode_to_numpy(encode_dense(images))
    assert same(features, images)
    record = decode_records(encode_dense(images))[0]
    assert record.features["values"].float32_tensor.shape.tolist() == [3, 4]


def test_writers_and_read_records_are_file_based() -> None:
    matrix = np.arange(6, dtype=np.float64).reshape(3, 2)
    stream = io.BytesIO()
    write_numpy_to_dense_tensor(stream, matrix, np.array([1.0, 2.0, 3.0]))
    stream.seek(0)
    records = read_records(stream)
    assert [r.features["values"].float64_tensor.values.tolist() for r in records] == [
        [0.0, 1.0],
        [2.0, 3.0],
        [4.0, 5.0],
    ]
    assert [r.label["values"].float64_tensor.values.tolist() for r in records] == [[1], [2], [3]]
    sparse_stream = io.BytesIO()
    write_spmatrix_to_sparse_tensor(sparse_stream, scipy.sparse.csr_matrix(matrix))
    assert decode_to_numpy(sparse_stream.getvalue())[0].tolist() == matrix.tolist()


def test_dense_writer_chunks_large_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.formats import recordio_protobuf

    monkeypatch.setattr(recordio_protobuf, "_CHUNK_BYTES", 100)
    matrix = np.arange(200, dtype=np.float32).reshape(50, 4)
    labels = np.arange(50)
    stream = io.BytesIO()
    write_numpy_to_dense_tensor(stream, matrix, labels)
    assert stream.getvalue() == encode_dense(matrix, labels)


@pytest.mark.parametrize(
    ("array", "labels", "field"),
    [
        (np.zeros(3), None, "array"),
        (np.zeros((2, 2), dtype=np.complex64), None, "array"),
        (np.array([["a"]]), None, "array"),
        (np.zeros((2, 2)), np.zeros(3), "labels"),
        (np.zeros((2, 2)), np.zeros((2, 2, 2)), "labels"),
        (np.full((1, 1), 2**31), None, "array"),
    ],
)
def test_encode_errors_name_the_field(array: np.ndarray, labels: Any, field: str) -> None:
    with pytest.raises(FormatError) as info:
        encode_dense(array, labels)
    assert info.value.field == field


def test_encode_sparse_refuses_dense_input() -> None:
    with pytest.raises(FormatError, match="sparse"):
        encode_sparse(np.zeros((2, 2)))


# -- the general path: records in other shapes than the standard layout -----------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


@st.composite
def odd_records(draw: st.DrawFn, columns: int) -> tuple[bytes, list[float]]:
    """One record of ``columns`` float32 values, written in one of many legal ways."""
    values = draw(
        st.lists(st.floats(width=32, allow_nan=False), min_size=columns, max_size=columns)
    )
    raw = np.asarray(values, dtype="<f4").tobytes()
    if draw(st.booleans()):  # unpacked: one fixed32 field per value
        value_fields = b"".join(varint(1 << 3 | 5) + raw[i : i + 4] for i in range(0, len(raw), 4))
    else:  # packed, possibly in two chunks
        cut = draw(st.integers(0, columns)) * 4
        value_fields = field(1, raw[:cut]) + (field(1, raw[cut:]) if cut < len(raw) else b"")
    parts = [value_fields]
    if draw(st.booleans()):
        parts.append(field(3, varint(columns)))
    if draw(st.booleans()):
        parts.append(varint(9 << 3 | 0) + varint(draw(st.integers(0, 2**40))))  # unknown field
    parts = draw(st.permutations(parts))
    tensor = b"".join(parts)
    key = b"values" if draw(st.booleans()) else b"other"
    entry_parts = [field(1, key), field(2, field(2, tensor))]
    entry = b"".join(draw(st.permutations(entry_parts)))
    record_parts = [field(1, entry)]
    if draw(st.booleans()):
        record_parts.append(field(3, b"uid-1"))
    if draw(st.booleans()):
        record_parts.append(varint(15 << 3 | 1) + b"\x00" * 8)  # unknown fixed64
    record = b"".join(draw(st.permutations(record_parts)))
    return record, [float(v) for v in np.asarray(values, dtype=np.float32)]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda columns: st.lists(odd_records(columns), min_size=1, max_size=6)
    )
)
def test_general_path_reads_every_legal_encoding(cases: list[tuple[bytes, list[float]]]) -> None:
    payloads = [payload for payload, _ in cases]
    buffer = frame(payloads)
    expected = np.asarray([values for _, values in cases], dtype=np.float32)
    named = {field(1, b"values") in payload for payload in payloads}
    if len(named) > 1 and expected.shape[1] > 0:
        # Some records use the key "values", others not: those have no features. Reported.
        with pytest.raises(FormatError, match="records differ"):
            decode_to_numpy(buffer)
        return
    features, labels = decode_to_numpy(buffer)
    assert labels is None
    assert np.array_equal(features.reshape(len(cases), -1), expected)
    reference = [
        r.features[next(iter(r.features))].float32_tensor.values.tolist()
        for r in decode_records(buffer)
    ]
    assert reference == expected.tolist()


def test_records_with_any_content_round_trip_through_the_general_codec() -> None:
    records = [
        Record(
            features={
                "values": Value(Int32Tensor([1, -2, 3])),
                "image": Value(Bytes([b"\x89PNG"], "image/png")),
            },
            label={"score": Value(Float64Tensor([0.5])), "values": Value(Float32Tensor([1.0]))},
            uid="r-1",
            metadata='{"source": "x"}',
            configuration="{}",
        ),
        Record(),
    ]
    assert decode_records(encode_records(records)) == records


# -- malformed input -------------------------------------------------------------------------


def test_truncated_field_names_offset_and_field() -> None:
    good = encode_dense(np.ones((2, 3), dtype=np.float32))  # two records of 8 + 28 bytes
    payload = bytearray(good[44:72])
    payload[1] += 5  # the features entry now claims 5 bytes more than the record holds
    buffer = good[:36] + frame([bytes(payload)])
    for decoder in (decode_to_numpy, decode_records):
        with pytest.raises(ProtobufError) as info:
            decoder(buffer)
        assert info.value.offset == 46  # where the entry's payload starts in the buffer
        assert info.value.field == "Record"
        assert "byte offset 46" in str(info.value)
        assert "truncated" in str(info.value)


def test_wrong_wire_type_names_the_field() -> None:
    buffer = frame([varint(1 << 3 | 0) + varint(7)])
    with pytest.raises(ProtobufError) as info:
        decode_to_numpy(buffer)
    assert info.value.field == "Record.features"
    assert info.value.offset == 9


def test_packed_floats_of_odd_length_are_refused() -> None:
    tensor = field(1, b"\x00\x00\x80\x3f\x00")
    buffer = frame([field(1, field(1, b"values") + field(2, field(2, tensor)))])
    with pytest.raises(ProtobufError) as info:
        decode_to_numpy(buffer)
    assert info.value.field is not None
    assert info.value.field.endswith(".values")
    assert "multiple of 4" in str(info.value)


def test_bytes_features_point_to_read_records() -> None:
    record = Record(features={"values": Value(Bytes([b"jpeg"]))})
    with pytest.raises(ProtobufError, match="read_records"):
        decode_to_numpy(encode_records([record]))


def test_ragged_dense_records_are_refused() -> None:
    buffer = encode_records(
        [Record(features={"values": Value(Float32Tensor(np.ones(n)))}) for n in (2, 3)]
    )
    with pytest.raises(FormatError) as info:
        decode_to_numpy(buffer)
    assert info.value.field == "features.values"
    assert "record 1" in str(info.value)


def test_empty_buffer_decodes_to_nothing() -> None:
    features, labels = decode_to_numpy(b"")
    assert features.shape == (0, 0)
    assert labels is None
    matrix, labels = decode_to_sparse(b"")
    assert matrix.shape == (0, 0)
    assert labels is None


def test_sparse_record_with_fewer_keys_than_values_is_refused() -> None:
    record = Record(features={"values": Value(Float32Tensor([1.0, 2.0], keys=[3], shape=[5]))})
    with pytest.raises(FormatError) as info:
        decode_to_sparse(encode_records([record]))
    assert info.value.field == "features.keys"
    assert "1 keys for 2 values" in str(info.value)


def test_sparse_key_outside_the_shape_is_refused() -> None:
    record = Record(features={"values": Value(Float32Tensor([1.0], keys=[7], shape=[5]))})
    with pytest.raises(FormatError, match="key 7 outside its shape"):
        decode_to_numpy(encode_records([record]))


def test_int_labels_of_mixed_widths_take_the_general_path() -> None:
    matrix = np.ones((3, 2), dtype=np.float32)
    labels = np.array([1, 300, -5])  # 1-, 2- and 10-byte varints: records differ in length
    features, decoded = decode_to_numpy(encode_dense(matrix, labels))
    assert same(features, matrix)
    assert decoded is not None
    assert decoded.tolist() == [1, 300, -5]


@pytest.mark.parametrize("columns", [100, 300, 20_000, 3_000_000])  # 1-, 2-, 3-, 4-byte keys
def test_sparse_keys_of_every_varint_width(columns: int) -> None:
    matrix = scipy.sparse.random(60, columns, density=min(1.0, 20 / columns), format="lil", rng=7)
    matrix[3, columns - 1] = 1.5  # the widest key
    matrix = matrix.tocsr()
    decoded, _ = decode_to_sparse(encode_sparse(matrix))
    assert (decoded != matrix).nnz == 0
    assert decode_records(encode_sparse(matrix))[3].features["values"].float64_tensor.keys[-1] == (
        columns - 1
    )


def test_decoded_arrays_are_writeable() -> None:
    features, labels = decode_to_numpy(encode_dense(np.eye(3, dtype=np.float32), np.arange(3)))
    assert features.flags.writeable
    assert labels is not None
    assert labels.flags.writeable
