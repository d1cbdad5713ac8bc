"""Interoperability with the official sagemaker SDK v2, the oracle for RecordIO-protobuf.

What modelyard writes, the SDK reads (``read_records``, ``RecordDeserializer``);
what the SDK writes, modelyard reads; and for the same input both write the same
bytes (the SDK is deterministic here). Needs ``sagemaker>=2.257,<3``.
"""

from __future__ import annotations

import importlib
import io
import os
from typing import Any

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
sdk_common = importlib.import_module("sagemaker.amazon.common")
sdk_serializers = importlib.import_module("sagemaker.serializers")
sdk_deserializers = importlib.import_module("sagemaker.deserializers")
sdk_record_pb2 = importlib.import_module("sagemaker.amazon.record_pb2")

from modelyard import deserializers as my_deserializers  # noqa: E402
from modelyard import serializers as my_serializers  # noqa: E402
from modelyard.formats import (  # noqa: E402
    Bytes,
    Float32Tensor,
    Float64Tensor,
    Int32Tensor,
    Record,
    Value,
    decode_records,
    decode_to_numpy,
    decode_to_sparse,
    encode_dense,
    encode_records,
    encode_sparse,
    read_records,
)

INT32 = st.integers(-(2**31), 2**31 - 1)
SDK_DTYPES = [np.float32, np.float64, np.int64]  # the SDK takes these three only


def sdk_write(writer: Any, *args: Any) -> bytes:
    buffer = io.BytesIO()
    writer(buffer, *args)
    return buffer.getvalue()


def elements(dtype: Any) -> st.SearchStrategy[Any]:
    if np.dtype(dtype).kind == "f":
        # NaN payloads are not kept by the SDK's float conversion: compare plain numbers.
        return st.floats(width=np.dtype(dtype).itemsize * 8, allow_nan=False)
    return INT32


@st.composite
def dense_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray | None]:
    dtype = draw(st.sampled_from(SDK_DTYPES))
    rows, columns = draw(st.integers(1, 10)), draw(st.integers(0, 12))
    matrix = draw(hnp.arrays(dtype, (rows, columns), elements=elements(dtype)))
    label_dtype = draw(st.sampled_from([None, *SDK_DTYPES]))
    if label_dtype is None:
        return matrix, None
    return matrix, draw(hnp.arrays(label_dtype, (rows,), elements=elements(label_dtype)))


def sdk_values(record: Any, mapping: str = "features") -> list[Any]:
    value = getattr(record, mapping)["values"]
    return list(getattr(value, value.WhichOneof("value")).values)


@settings(max_examples=120, deadline=None)
@given(dense_cases())
def test_dense_bytes_are_identical_and_cross_readable(
    case: tuple[np.ndarray, np.ndarray | None],
) -> None:
    matrix, labels = case
    theirs = sdk_write(sdk_common.write_numpy_to_dense_tensor, matrix, labels)
    ours = encode_dense(matrix, labels)
    assert ours == theirs
    # The SDK reads ours.
    records = sdk_common.read_records(io.BytesIO(ours))
    assert [sdk_values(r) for r in records] == matrix.tolist()
    if labels is not None:
        assert [sdk_values(r, "label") for r in records] == [[v] for v in labels.tolist()]
    # We read theirs.
    features, decoded_labels = decode_to_numpy(theirs)
    assert features.tolist() == matrix.tolist()
    if labels is None:
        assert decoded_labels is None
    else:
        assert decoded_labels is not None
        assert decoded_labels.tolist() == labels.tolist()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12),
    columns=st.integers(1, 300),
    density=st.floats(0, 0.5),
    seed=st.integers(0, 2**16),
    dtype=st.sampled_from(SDK_DTYPES),
    with_labels=st.booleans(),
)
def test_sparse_bytes_are_identical_and_cross_readable(
    rows: int, columns: int, density: float, seed: int, dtype: Any, with_labels: bool
) -> None:
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(rows, columns)) * 100 * (rng.random((rows, columns)) < density)
    matrix = scipy.sparse.csr_matrix(dense.astype(dtype))
    labels = rng.random(rows) if with_labels else None
    theirs = sdk_write(sdk_common.write_spmatrix_to_sparse_tensor, matrix, labels)
    assert encode_sparse(matrix, labels) == theirs
    decoded, decoded_labels = decode_to_sparse(theirs)
    assert (decoded != matrix).nnz == 0
    if with_labels:
        assert decoded_labels is not None
        assert decoded_labels.tolist() == labels.tolist()
    for i, record in enumerate(sdk_common.read_records(io.BytesIO(encode_sparse(matrix, labels)))):
        tensor = record.features["values"].WhichOneof("value")
        parsed = getattr(record.features["values"], tensor)
        assert list(parsed.keys) == matrix.getrow(i).indices.tolist()
        assert list(parsed.shape) == [columns]


def test_sdk_record_deserializer_reads_our_serializer() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(3, 4)
    ours = my_serializers.RecordSerializer().serialize(matrix)
    theirs = sdk_serializers.RecordSerializer().serialize(matrix)
    assert ours.getvalue() == theirs.getvalue()
    records = sdk_deserializers.RecordDeserializer().deserialize(
        ours, "application/x-recordio-protobuf"
    )
    assert [sdk_values(r) for r in records] == matrix.tolist()
    mine = my_deserializers.RecordDeserializer().deserialize(
        theirs, "application/x-recordio-protobuf"
    )
    assert [r.features["values"].float32_tensor.values.tolist() for r in mine] == matrix.tolist()


def _sdk_record(record: Record) -> Any:
    message = sdk_record_pb2.Record()
    for mapping in ("features", "label"):
        for key, value in getattr(record, mapping).items():
            target = getattr(message, mapping)[key]
            content = value.content
            if isinstance(content, Bytes):
                target.bytes.value.extend(content.value)
                if content.content_type is not None:
                    target.bytes.content_type = content.content_type
            elif content is not None:
                name = value.WhichOneof("value")
                tensor = getattr(target, name)
                tensor.values.extend(content.values.tolist())
                tensor.keys.extend(content.keys.tolist())
                tensor.shape.extend(content.shape.tolist())
    for name in ("uid", "metadata", "configuration"):
        if getattr(record, name) is not None:
            setattr(message, name, getattr(record, name))
    return message


RICH_RECORDS = [
    Record(
        features={"values": Value(Int32Tensor([1, -2, 2**31 - 1], keys=[0, 5, 9], shape=[10]))},
        label={"score": Value(Float64Tensor([0.25]))},
        uid="id-1",
        metadata='{"source": "s3://b/k"}',
        configuration='{"top_k": 3}',
    ),
    Record(features={"image": Value(Bytes([b"\x89PNG\r\n", b""], "image/png"))}),
    Record(features={"values": Value(Float32Tensor([]))}),
    Record(),
]


@pytest.mark.parametrize("record", RICH_RECORDS)
def test_single_key_records_serialize_like_protobuf(record: Record) -> None:
    message = _sdk_record(record)
    assert record.SerializeToString() == message.SerializeToString()
    assert Record.FromString(message.SerializeToString()) == record


def test_rich_records_cross_read() -> None:
    buffer = encode_records(RICH_RECORDS)
    parsed = sdk_common.read_records(io.BytesIO(buffer))
    assert [p.SerializeToString() for p in parsed] == [r.SerializeToString() for r in RICH_RECORDS]
    stream = io.BytesIO()
    for record in RICH_RECORDS:
        sdk_common._write_recordio(stream, _sdk_record(record).SerializeToString())
    assert decode_records(stream.getvalue()) == RICH_RECORDS
    assert read_records(io.BytesIO(stream.getvalue())) == RICH_RECORDS


@pytest.mark.parametrize(
    "data",
    [[[1, 2], [3, 4]], np.array([1.5, 2.0]), np.array([[1.0, 2.0], [3.0, 4.0]]), "a,b", [1, "x"]],
)
def test_csv_serializer_matches_the_sdk(data: Any) -> None:
    assert my_serializers.CSVSerializer().serialize(
        data
    ) == sdk_serializers.CSVSerializer().serialize(data)


@pytest.mark.parametrize("data", [{"a": np.arange(3)}, np.eye(2), [1, {"b": None}], "text"])
def test_json_serializers_match_the_sdk(data: Any) -> None:
    assert my_serializers.JSONSerializer().serialize(
        data
    ) == sdk_serializers.JSONSerializer().serialize(data)
    if isinstance(data, (list, str)):  # the SDK's JSON Lines takes no arrays
        assert my_serializers.JSONLinesSerializer().serialize(data) == (
            sdk_serializers.JSONLinesSerializer().serialize(data)
        )


def test_numpy_serializer_and_deserializer_match_the_sdk() -> None:
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    ours = my_serializers.NumpySerializer().serialize(array)
    assert ours == sdk_serializers.NumpySerializer().serialize(array)
    for content_type, body in (
        ("application/x-npy", ours),
        ("text/csv", b"1,2\n3,4"),
        ("application/json", b"[[1, 2]]"),
    ):
        mine = my_deserializers.NumpyDeserializer().deserialize(io.BytesIO(body), content_type)
        theirs = sdk_deserializers.NumpyDeserializer().deserialize(io.BytesIO(body), content_type)
        assert np.array_equal(mine, theirs)


@pytest.mark.parametrize(
    ("name", "body", "content_type"),
    [
        ("CSVDeserializer", b"1,2\na,b", "text/csv"),
        ("JSONDeserializer", b'{"a": [1]}', "application/json"),
        ("JSONLinesDeserializer", b'{"a": 1}\n[2]\n', "application/jsonlines"),
        ("StringDeserializer", "é".encode(), "text/plain"),
        ("BytesDeserializer", b"\x00\x01", "application/octet-stream"),
    ],
)
def test_deserializers_match_the_sdk(name: str, body: bytes, content_type: str) -> None:
    mine = getattr(my_deserializers, name)().deserialize(io.BytesIO(body), content_type)
    theirs = getattr(sdk_deserializers, name)().deserialize(io.BytesIO(body), content_type)
    assert mine == theirs
    assert getattr(my_deserializers, name)().ACCEPT == getattr(sdk_deserializers, name)().ACCEPT


@pytest.mark.parametrize(
    "name",
    [
        "CSVSerializer",
        "JSONSerializer",
        "JSONLinesSerializer",
        "NumpySerializer",
        "IdentitySerializer",
        "RecordSerializer",
        "LibSVMSerializer",
        "SparseMatrixSerializer",
    ],
)
def test_serializer_content_types_match_the_sdk(name: str) -> None:
    assert (
        getattr(my_serializers, name)().CONTENT_TYPE
        == getattr(sdk_serializers, name)().CONTENT_TYPE
    )
