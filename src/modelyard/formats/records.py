"""``aialgs.data.Record`` as plain Python objects, without the ``protobuf`` package.

These mirror the generated classes of ``sagemaker.amazon.record_pb2`` closely
enough for code written against them (``record.features["values"]
.float32_tensor.values``, ``record.label``, ``value.WhichOneof("value")``,
``SerializeToString()``, ``ParseFromString()``), with NumPy arrays for the
repeated fields. They serve ``read_records`` and odd records (Bytes values,
several feature keys); bulk data goes through the vectorised codec in
``recordio_protobuf``.

The schema (proto2, package ``aialgs.data``)::

    Float32Tensor {repeated float  values=1 [packed]; repeated uint64 keys=2 [packed];
                   repeated uint64 shape=3 [packed]}
    Float64Tensor  the same with double values;   Int32Tensor  with int32 values
    Bytes  {repeated bytes value=1; optional string content_type=2}
    Value  {oneof value {Float32Tensor float32_tensor=2; Float64Tensor float64_tensor=3;
                         Int32Tensor int32_tensor=7; Bytes bytes=9}}
    Record {map<string, Value> features=1; map<string, Value> label=2;
            optional string uid=3; optional string metadata=4; optional string configuration=5}
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelyard.formats._vec import encode_varint
from modelyard.formats.errors import ProtobufError

__all__ = ["Bytes", "Float32Tensor", "Float64Tensor", "Int32Tensor", "Record", "Value"]


def _array(values: ArrayLike | None, dtype: type[np.generic]) -> NDArray[np.generic]:
    if values is None:
        return np.zeros(0, dtype=dtype)
    return np.asarray(values, dtype=dtype).reshape(-1)


class _Tensor:
    """Shared body of the three tensor messages."""

    DTYPE: ClassVar[type[np.generic]]
    WIRE_DTYPE: ClassVar[str]

    def __init__(
        self,
        values: ArrayLike | None = None,
        keys: ArrayLike | None = None,
        shape: ArrayLike | None = None,
    ) -> None:
        self.values = _array(values, self.DTYPE)
        self.keys = _array(keys, np.uint64)
        self.shape = _array(shape, np.uint64)

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, _Tensor)
            and np.array_equal(self.values, other.values, equal_nan=self.DTYPE is not np.int32)
            and np.array_equal(self.keys, other.keys)
            and np.array_equal(self.shape, other.shape)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(values={self.values.tolist()!r},"
            f" keys={self.keys.tolist()!r}, shape={self.shape.tolist()!r})"
        )

    def SerializeToString(self) -> bytes:  # noqa: N802  (protobuf's name)
        out = bytearray()
        if self.values.size:
            if self.DTYPE is np.int32:
                packed = b"".join(encode_varint(int(v)) for v in self.values.tolist())
            else:
                packed = self.values.astype(self.WIRE_DTYPE).tobytes()
            out += _length_delimited(1, packed)
        for number, column in ((2, self.keys), (3, self.shape)):
            if column.size:
                out += _length_delimited(
                    number, b"".join(encode_varint(int(v)) for v in column.tolist())
                )
        return bytes(out)


class Float32Tensor(_Tensor):
    DTYPE = np.float32
    WIRE_DTYPE = "<f4"


class Float64Tensor(_Tensor):
    DTYPE = np.float64
    WIRE_DTYPE = "<f8"


class Int32Tensor(_Tensor):
    DTYPE = np.int32
    WIRE_DTYPE = "<i4"


@dataclass(eq=True)
class Bytes:
    value: list[bytes] = field(default_factory=list)
    content_type: str | None = None

    def SerializeToString(self) -> bytes:  # noqa: N802
        out = bytearray()
        for item in self.value:
            out += _length_delimited(1, item)
        if self.content_type is not None:
            out += _length_delimited(2, self.content_type.encode())
        return bytes(out)


_ONEOF = {2: "float32_tensor", 3: "float64_tensor", 7: "int32_tensor", 9: "bytes"}
_ONEOF_NUMBER = {name: number for number, name in _ONEOF.items()}
_TENSOR_TYPES: dict[int, type[_Tensor]] = {2: Float32Tensor, 3: Float64Tensor, 7: Int32Tensor}
Tensor = Float32Tensor | Float64Tensor | Int32Tensor


class Value:
    """The ``Value`` oneof: a tensor of one of three types, or ``Bytes``, or nothing."""

    def __init__(self, content: Tensor | Bytes | None = None) -> None:
        self.content = content

    def WhichOneof(self, group: str = "value") -> str | None:  # noqa: N802
        if group != "value":
            raise ValueError(f"Value has no oneof {group!r}")
        if self.content is None:
            return None
        if isinstance(self.content, Bytes):
            return "bytes"
        return _ONEOF[_number_of(self.content)]

    @property
    def float32_tensor(self) -> Float32Tensor:
        return self.content if isinstance(self.content, Float32Tensor) else Float32Tensor()

    @property
    def float64_tensor(self) -> Float64Tensor:
        return self.content if isinstance(self.content, Float64Tensor) else Float64Tensor()

    @property
    def int32_tensor(self) -> Int32Tensor:
        return self.content if isinstance(self.content, Int32Tensor) else Int32Tensor()

    @property
    def bytes(self) -> Bytes:
        return self.content if isinstance(self.content, Bytes) else Bytes()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and self.content == other.content

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Value({self.content!r})"

    def SerializeToString(self) -> builtins.bytes:  # noqa: N802
        if self.content is None:
            return b""
        number = 9 if isinstance(self.content, Bytes) else _number_of(self.content)
        return _length_delimited(number, self.content.SerializeToString())


def _number_of(tensor: _Tensor) -> int:
    for number, kind in _TENSOR_TYPES.items():
        if type(tensor) is kind:
            return number
    raise TypeError(f"not a tensor: {tensor!r}")


@dataclass(eq=True)
class Record:
    """One ``aialgs.data.Record``: feature and label maps, and three optional strings."""

    features: dict[str, Value] = field(default_factory=dict)
    label: dict[str, Value] = field(default_factory=dict)
    uid: str | None = None
    metadata: str | None = None
    configuration: str | None = None

    def SerializeToString(self) -> bytes:  # noqa: N802
        """The protobuf encoding, in field order, as the upb runtime writes it."""
        out = bytearray()
        for number, mapping in ((1, self.features), (2, self.label)):
            for key, value in mapping.items():
                entry = _length_delimited(1, key.encode()) + _length_delimited(
                    2, value.SerializeToString()
                )
                out += _length_delimited(number, entry)
        for number, text in ((3, self.uid), (4, self.metadata), (5, self.configuration)):
            if text is not None:
                out += _length_delimited(number, text.encode())
        return bytes(out)

    def ParseFromString(self, data: bytes) -> int:  # noqa: N802
        parsed = parse_record(data)
        self.features, self.label = parsed.features, parsed.label
        self.uid, self.metadata, self.configuration = (
            parsed.uid,
            parsed.metadata,
            parsed.configuration,
        )
        return len(data)

    @classmethod
    def FromString(cls, data: bytes) -> Record:  # noqa: N802
        return parse_record(data)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


# -- parsing one record (the general, per-record path) ----------------------------------------


def _varint(data: bytes, position: int, end: int, name: str, base: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if position >= end:
            raise ProtobufError("truncated varint", offset=base + position, field=name)
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & ((1 << 64) - 1), position
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes", offset=base + position, field=name)


def _fields(
    data: bytes, start: int, end: int, name: str, base: int
) -> list[tuple[int, int, int, int]]:
    """(number, wire type, payload start, payload end or varint value) of each field."""
    out: list[tuple[int, int, int, int]] = []
    position = start
    while position < end:
        tag_at = position
        tag, position = _varint(data, position, end, name, base)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ProtobufError("invalid field number 0", offset=base + tag_at, field=name)
        if wire == 0:
            value_at = position
            _, position = _varint(data, position, end, name, base)
            out.append((number, wire, value_at, position))
            continue
        if wire == 2:
            size, position = _varint(data, position, end, name, base)
            stop = position + size
        elif wire == 1:
            stop = position + 8
        elif wire == 5:
            stop = position + 4
        else:
            raise ProtobufError(
                f"unsupported wire type {wire} (field {number})", offset=base + tag_at, field=name
            )
        if stop > end:
            raise ProtobufError(
                f"truncated field {number}: {stop - position} bytes declared,"
                f" {end - position} remain",
                offset=base + position,
                field=name,
            )
        out.append((number, wire, position, stop))
        position = stop
    return out


def _packed_varints(
    data: bytes, fields: list[tuple[int, int, int, int]], number: int, name: str, base: int
) -> list[int]:
    values: list[int] = []
    for field_number, wire, start, stop in fields:
        if field_number != number:
            continue
        if wire not in (0, 2):
            raise ProtobufError(f"wire type {wire}", offset=base + start, field=name)
        position = start
        while position < stop:
            value, position = _varint(data, position, stop, name, base)
            values.append(value)
    return values


def _parse_tensor(data: bytes, start: int, end: int, number: int, base: int) -> Tensor:
    kind = _TENSOR_TYPES[number]
    name = kind.__name__
    fields = _fields(data, start, end, name, base)
    if kind is Int32Tensor:
        raw = _packed_varints(data, fields, 1, f"{name}.values", base)
        values: NDArray[np.generic] = (
            np.asarray(raw, dtype=np.uint64).view(np.int64).astype(np.int32)
        )
    else:
        width, wire_single = (4, 5) if kind is Float32Tensor else (8, 1)
        chunks: list[bytes] = []
        for field_number, wire, begin, stop in fields:
            if field_number != 1:
                continue
            if wire not in (2, wire_single) or (stop - begin) % width:
                raise ProtobufError(
                    f"bad {name} values: wire type {wire}, {stop - begin} bytes",
                    offset=base + begin,
                    field=f"{name}.values",
                )
            chunks.append(data[begin:stop])
        values = np.frombuffer(b"".join(chunks), dtype=kind.WIRE_DTYPE).astype(kind.DTYPE)
    keys = _packed_varints(data, fields, 2, f"{name}.keys", base)
    shape = _packed_varints(data, fields, 3, f"{name}.shape", base)
    tensor = kind(values, np.asarray(keys, dtype=np.uint64), np.asarray(shape, dtype=np.uint64))
    return tensor  # type: ignore[return-value]


def _parse_bytes(data: bytes, start: int, end: int, base: int) -> Bytes:
    out = Bytes()
    for number, wire, begin, stop in _fields(data, start, end, "Bytes", base):
        if wire != 2:
            continue
        if number == 1:
            out.value.append(data[begin:stop])
        elif number == 2:
            out.content_type = _text(data, begin, stop, "Bytes.content_type", base)
    return out


def _parse_value(data: bytes, start: int, end: int, name: str, base: int) -> Value:
    value = Value()
    for number, wire, begin, stop in _fields(data, start, end, name, base):
        if number not in _ONEOF:
            continue
        if wire != 2:
            raise ProtobufError(
                f"wire type {wire}", offset=base + begin, field=f"{name}.{_ONEOF[number]}"
            )
        if number == 9:
            value.content = _parse_bytes(data, begin, stop, base)
        else:
            value.content = _parse_tensor(data, begin, stop, number, base)
    return value


def _text(data: bytes, start: int, stop: int, name: str, base: int) -> str:
    try:
        return data[start:stop].decode()
    except UnicodeDecodeError as exc:
        raise ProtobufError("string is not valid UTF-8", offset=base + start, field=name) from exc


def parse_record(data: bytes, *, base: int = 0) -> Record:
    """Parse one serialized Record; errors name offsets relative to ``base``."""
    data = bytes(data)
    record = Record()
    for number, wire, begin, stop in _fields(data, 0, len(data), "Record", base):
        if number in (1, 2):
            name = "Record.features" if number == 1 else "Record.label"
            if wire != 2:
                raise ProtobufError(f"wire type {wire}", offset=base + begin, field=name)
            key = ""
            value = Value()
            for entry_number, entry_wire, entry_begin, entry_stop in _fields(
                data, begin, stop, name, base
            ):
                if entry_wire != 2:
                    continue
                if entry_number == 1:
                    key = _text(data, entry_begin, entry_stop, f"{name}.key", base)
                elif entry_number == 2:
                    value = _parse_value(data, entry_begin, entry_stop, f"{name}.value", base)
            (record.features if number == 1 else record.label)[key] = value
        elif number in (3, 4, 5) and wire == 2:
            attribute = {3: "uid", 4: "metadata", 5: "configuration"}[number]
            setattr(record, attribute, _text(data, begin, stop, f"Record.{attribute}", base))
    return record
