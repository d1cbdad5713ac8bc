"""SDK-style serializers and deserializers: the SDK's defaults and return types."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from modelyard.deserializers import (
    BytesDeserializer,
    CSVDeserializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    NumpyDeserializer,
    PandasDeserializer,
    RecordDeserializer,
    StreamDeserializer,
    StringDeserializer,
)
from modelyard.formats import decode_to_numpy
from modelyard.serializers import (
    CSVSerializer,
    IdentitySerializer,
    JSONLinesSerializer,
    JSONSerializer,
    LibSVMSerializer,
    NumpySerializer,
    RecordSerializer,
    SimpleBaseSerializer,
)


def test_default_content_types_are_the_sdks() -> None:
    assert CSVSerializer().CONTENT_TYPE == "text/csv"
    assert JSONSerializer().CONTENT_TYPE == "application/json"
    assert JSONLinesSerializer().CONTENT_TYPE == "application/jsonlines"
    assert NumpySerializer().CONTENT_TYPE == "application/x-npy"
    assert IdentitySerializer().CONTENT_TYPE == "application/octet-stream"
    assert RecordSerializer().CONTENT_TYPE == "application/x-recordio-protobuf"
    assert LibSVMSerializer().CONTENT_TYPE == "text/libsvm"
    assert CSVDeserializer().ACCEPT == ("text/csv",)
    assert JSONDeserializer().ACCEPT == ("application/json",)
    assert JSONLinesDeserializer().ACCEPT == ("application/jsonlines",)
    assert NumpyDeserializer().ACCEPT == ("application/x-npy",)
    assert BytesDeserializer().ACCEPT == ("*/*",)
    assert StringDeserializer().ACCEPT == ("application/json",)
    assert RecordDeserializer().ACCEPT == ("application/x-recordio-protobuf",)
    assert PandasDeserializer().ACCEPT == ("text/csv", "application/json")


def test_content_type_must_be_a_string() -> None:
    with pytest.raises(ValueError, match="content_type must be a string"):
        CSVSerializer(content_type=3)  # type: ignore[arg-type]
    assert issubclass(CSVSerializer, SimpleBaseSerializer)


def test_serialize_outputs() -> None:
    assert CSVSerializer().serialize([[1, 2], [3, 4]]) == "1,2\n3,4"
    assert CSVSerializer().serialize(np.array([1.5, 2])) == "1.5,2.0"
    assert CSVSerializer().serialize(pd.DataFrame({"a": [1], "b": [2]})) == "1,2\n"
    assert JSONSerializer().serialize({"x": np.arange(2)}) == '{"x": [0, 1]}'
    assert JSONLinesSerializer().serialize([{"a": 1}, 2]) == '{"a": 1}\n2'
    array = np.arange(4.0)
    assert np.array_equal(np.load(io.BytesIO(NumpySerializer().serialize(array))), array)
    assert IdentitySerializer().serialize(b"raw") == b"raw"
    body = RecordSerializer().serialize(np.array([1.0, 2.0]))
    assert isinstance(body, io.BytesIO)
    assert decode_to_numpy(body.getvalue())[0].tolist() == [[1.0, 2.0]]
    assert LibSVMSerializer().serialize("1 0:1") == "1 0:1"
    assert LibSVMSerializer().serialize((np.eye(2), np.array([1, 0]))) == "1 0:1\n0 1:1\n"
    with pytest.raises(ValueError, match="Cannot serialize empty array"):
        NumpySerializer().serialize(np.array([]))


def _stream(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_deserialize_outputs() -> None:
    assert BytesDeserializer().deserialize(_stream(b"x"), "a/b") == b"x"
    assert StringDeserializer().deserialize(_stream(b"x"), "a/b") == "x"
    assert CSVDeserializer().deserialize(_stream(b"1,2\n3,4"), "text/csv") == [
        ["1", "2"],
        ["3", "4"],
    ]
    assert JSONDeserializer().deserialize(_stream(b"[1]"), "application/json") == [1]
    assert JSONLinesDeserializer().deserialize(
        _stream(b'1\n{"a": 2}\n'), "application/jsonlines"
    ) == [1, {"a": 2}]
    numpy = NumpyDeserializer()
    assert numpy.deserialize(_stream(b"1,2\n3,4"), "text/csv").tolist() == [[1, 2], [3, 4]]
    assert numpy.deserialize(_stream(b"[1, 2]"), "application/json; charset=utf-8").tolist() == [
        1,
        2,
    ]
    buffer = io.BytesIO()
    np.save(buffer, np.eye(2))
    assert numpy.deserialize(_stream(buffer.getvalue()), "application/x-npy").tolist() == [
        [1, 0],
        [0, 1],
    ]
    with pytest.raises(ValueError, match="cannot read content type"):
        numpy.deserialize(_stream(b""), "image/png")
    frame = PandasDeserializer().deserialize(_stream(b"a,b\n1,2\n"), "text/csv")
    assert frame.to_dict(orient="list") == {"a": [1], "b": [2]}
    stream = _stream(b"x")
    assert StreamDeserializer().deserialize(stream, "a/b") == (stream, "a/b")
    records = RecordDeserializer().deserialize(
        RecordSerializer().serialize(np.eye(2, dtype=np.float32)), "application/x-recordio-protobuf"
    )
    assert [r.features["values"].float32_tensor.values.tolist() for r in records] == [
        [1, 0],
        [0, 1],
    ]


def test_deserializers_close_the_stream() -> None:
    stream = _stream(b"[]")
    JSONDeserializer().deserialize(stream, "application/json")
    assert stream.closed
