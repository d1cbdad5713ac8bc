"""RecordIO-protobuf (``application/x-recordio-protobuf``): NumPy / SciPy <-> Records.

Each row of a matrix becomes one ``aialgs.data.Record`` (schema in
``modelyard.formats.records``) holding the row under the feature key
``"values"`` and, optionally, its label under the label key ``"values"``; each
Record is one RecordIO record. The bytes are identical to what the sagemaker
SDK's ``write_numpy_to_dense_tensor`` / ``write_spmatrix_to_sparse_tensor``
write for the same input: packed repeated fields, no shape for dense rows, the
column count as the shape of sparse rows, int32 values as sign-extended
varints, a present-but-empty tensor for rows without values.

Everything here is vectorised over rows: the encoder lays out all records at
once (``_vec.assemble``: dense float rows share one byte layout, so the whole
buffer is one 2-D array filled column block by column block); the decoder
either recognises that regular layout (all bytes equal across records except
the values, checked in a few array comparisons), or the standard layout of
sparse records (``_layout``: one shape per matrix, a few fields read per
record), or walks all records in lockstep (``_wire``). No Python loop runs per
record, except in
``read_records``, which builds one Python object per record by definition.

Tensor types follow the array's dtype: float32 -> Float32Tensor, float64 ->
Float64Tensor, integers and booleans -> Int32Tensor (values must fit in int32),
float16 -> Float32Tensor. The SDK accepts only float32, float64 and the
platform int (int64); modelyard accepts a superset. Unlike the SDK, labels must
have one entry (or one row, for 2-D labels) per record.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import ArrayLike, NDArray

from modelyard.formats import _vec
from modelyard.formats._decode import decode_arrays, decode_csr_parts
from modelyard.formats._vec import I64, U8, Const, Fixed, Piece, Rows, Zeros, message_field
from modelyard.formats._wire import KIND_FLOAT32, KIND_FLOAT64, KIND_INT32
from modelyard.formats.errors import FormatError, ProtobufError, RecordIOError, import_optional
from modelyard.formats.recordio import MAGIC, MAGIC_BYTES, MAX_RECORD_BYTES, frame, record_spans
from modelyard.formats.records import Record, parse_record

__all__ = [
    "CONTENT_TYPE",
    "decode_records",
    "decode_to_numpy",
    "decode_to_sparse",
    "encode_dense",
    "encode_records",
    "encode_sparse",
    "read_records",
    "write_numpy_to_dense_tensor",
    "write_spmatrix_to_sparse_tensor",
]

CONTENT_TYPE = "application/x-recordio-protobuf"
_VALUES_ENTRY_KEY = b"\x0a\x06values"
_CHUNK_BYTES = 1 << 26
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1


def _kind_of(dtype: np.dtype[Any], what: str) -> int:
    if dtype == np.float32 or dtype == np.float16:
        return KIND_FLOAT32
    if dtype == np.float64:
        return KIND_FLOAT64
    if dtype.kind in "iub":
        return KIND_INT32
    raise FormatError(
        f"unsupported dtype {dtype} for RecordIO-protobuf {what}: use float32, float64 or integers",
        field=what,
    )


def _check_int32(values: NDArray[Any], what: str) -> None:
    if values.size and values.dtype.itemsize >= 4 and values.dtype.kind in "iu":
        low, high = values.min(), values.max()
        if int(low) < _INT32_MIN or int(high) > _INT32_MAX:
            raise FormatError(f"{what} value out of int32 range: {low}..{high}", field=what)


def _dense_values(rows: NDArray[Any], kind: int, what: str) -> Piece:
    """The packed values of each row of a 2-D array: a fixed-width block or varint runs."""
    count = rows.shape[0]
    if kind == KIND_FLOAT32:
        block = np.ascontiguousarray(rows, dtype="<f4")
        return Fixed(block.view(np.uint8).reshape(count, -1))
    if kind == KIND_FLOAT64:
        block = np.ascontiguousarray(rows, dtype="<f8")
        return Fixed(block.view(np.uint8).reshape(count, -1))
    _check_int32(rows, what)
    data, sizes = _vec.encode_varints(_vec.signed_to_wire(rows.reshape(-1)))
    return Rows(data, sizes.reshape(count, -1).sum(axis=1))


def _value_entry(kind: int, tensor: list[Piece]) -> list[Piece]:
    """``key "values" -> Value{<kind>: tensor}``: the body of a features/label map entry."""
    return [Const(_VALUES_ENTRY_KEY), *message_field(2, message_field(kind, tensor))]


def _label_pieces(labels: ArrayLike | None, count: int) -> list[Piece]:
    if labels is None:
        return []
    array = np.asarray(labels)
    if array.ndim not in (1, 2) or array.shape[0] != count:
        raise FormatError(
            f"labels must have one entry per record ({count}), got shape {array.shape}",
            field="labels",
        )
    kind = _kind_of(array.dtype, "labels")
    if count == 0:
        return []
    rows = array.reshape(count, int(np.prod(array.shape[1:])))
    tensor = message_field(1, [_dense_values(rows, kind, "labels")]) if rows.shape[1] else []
    return message_field(2, _value_entry(kind, tensor))


def _frame_all(record: list[Piece], count: int) -> bytes:
    """Frame ``count`` records built from ``record`` as RecordIO, all at once."""
    if count == 0:
        return b""
    length = _vec.total_length(record)
    longest = length if isinstance(length, int) else int(length.max())
    if longest > MAX_RECORD_BYTES:
        raise FormatError(f"a record of {longest} bytes exceeds RecordIO's limit", field="array")
    header: Piece
    if isinstance(length, int):
        header = Const(struct.pack("<I", length))
    else:
        header = Fixed(length.astype("<u4").view(np.uint8).reshape(count, 4))
    padding = (-length) & 3
    pieces = [Const(MAGIC_BYTES), header, *record, Zeros(padding)]
    out, _ = _vec.assemble(pieces, count)
    return out.tobytes()


def encode_dense(array: ArrayLike, labels: ArrayLike | None = None) -> bytes:
    """RecordIO-protobuf of a dense array, one record per row (first axis).

    A 2-D array gives exactly the SDK's bytes; rows of a higher-rank array are
    flattened and carry their shape in the tensor's ``shape`` field.
    """
    matrix = np.asarray(array)
    if matrix.ndim < 2:
        raise FormatError(f"array must be a matrix, got shape {matrix.shape}", field="array")
    count = matrix.shape[0]
    kind = _kind_of(matrix.dtype, "array")
    if count == 0:
        _label_pieces(labels, count)  # still validated
        return b""
    rows = matrix.reshape(count, int(np.prod(matrix.shape[1:])))
    tensor = message_field(1, [_dense_values(rows, kind, "array")]) if rows.shape[1] else []
    if matrix.ndim > 2:
        shape = b"".join(_vec.encode_varint(d) for d in matrix.shape[1:])
        tensor.append(Const(b"\x1a" + _vec.encode_varint(len(shape)) + shape))
    record = message_field(1, _value_entry(kind, tensor)) + _label_pieces(labels, count)
    return _frame_all(record, count)


def encode_sparse(matrix: Any, labels: ArrayLike | None = None) -> bytes:
    """RecordIO-protobuf of a SciPy sparse matrix, one sparse record per row."""
    sparse = import_optional("scipy.sparse", "RecordIO-protobuf sparse encoding")
    if not sparse.issparse(matrix):
        raise FormatError("matrix must be a scipy.sparse matrix or array", field="matrix")
    if len(matrix.shape) != 2:
        raise FormatError(f"matrix must be 2-D, got shape {matrix.shape}", field="matrix")
    csr = matrix.tocsr()
    count, columns = csr.shape
    kind = _kind_of(csr.dtype, "matrix")
    if count == 0:
        _label_pieces(labels, count)
        return b""
    indptr = csr.indptr.astype(np.int64)
    nnz = np.diff(indptr)
    present = nnz > 0
    data = csr.data[: indptr[-1]]
    values: Piece
    if kind == KIND_INT32:
        _check_int32(data, "matrix")
        encoded, sizes = _vec.encode_varints(_vec.signed_to_wire(data))
        values = Rows(encoded, _row_sums(sizes, indptr))
    else:
        width_dtype = "<f4" if kind == KIND_FLOAT32 else "<f8"
        raw = np.ascontiguousarray(data, dtype=width_dtype).view(np.uint8)
        values = Rows(raw, nnz * np.dtype(width_dtype).itemsize)
    key_bytes, key_sizes = _vec.encode_varints(csr.indices[: indptr[-1]].astype(np.uint64))
    keys = Rows(key_bytes, _row_sums(key_sizes, indptr))
    shape = _vec.encode_varint(columns)
    tensor = [
        *message_field(1, [values], present),
        *message_field(2, [keys], present),
        Const(b"\x1a" + _vec.encode_varint(len(shape)) + shape),
    ]
    record = message_field(1, _value_entry(kind, tensor)) + _label_pieces(labels, count)
    return _frame_all(record, count)


def _row_sums(sizes: NDArray[np.int64], indptr: NDArray[np.int64]) -> NDArray[np.int64]:
    cumulative = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(sizes)])
    sums: NDArray[np.int64] = cumulative[indptr[1:]] - cumulative[indptr[:-1]]
    return sums


def write_numpy_to_dense_tensor(
    file: BinaryIO, array: ArrayLike, labels: ArrayLike | None = None
) -> None:
    """Write a dense matrix to ``file`` as RecordIO-protobuf (the SDK's function, faster)."""
    matrix = np.asarray(array)
    label_array = None if labels is None else np.asarray(labels)
    labels_fit = label_array is None or (
        label_array.ndim in (1, 2) and label_array.shape[:1] == matrix.shape[:1]
    )
    if matrix.ndim < 2 or matrix.shape[0] == 0 or not labels_fit:
        file.write(encode_dense(matrix, label_array))  # small, or raises the precise error
        return
    step = max(1, _CHUNK_BYTES // (matrix[0].nbytes + 64))
    for begin in range(0, matrix.shape[0], step):
        chunk_labels = None if label_array is None else label_array[begin : begin + step]
        file.write(encode_dense(matrix[begin : begin + step], chunk_labels))


def write_spmatrix_to_sparse_tensor(
    file: BinaryIO, matrix: Any, labels: ArrayLike | None = None
) -> None:
    """Write a SciPy sparse matrix to ``file`` as sparse RecordIO-protobuf."""
    file.write(encode_sparse(matrix, labels))


def _spans(buffer: bytes | bytearray | memoryview) -> tuple[U8, I64, I64]:
    """``record_spans`` of a RecordIO buffer, or the one span of a bare Record.

    SageMaker strips the framing off a record it sends alone (batch transform
    with ``BatchStrategy=SingleRecord``), and its containers accept that bare
    ``Record`` as well as a framed stream; so do we. The two cannot be confused:
    a Record starting with the magic's bytes ``0a 23 d7 ce`` would hold a field
    of wire type 7, which does not exist. A payload that is neither (no magic,
    not one Record with features) raises the framing error, with the reason it
    is not a bare Record either.
    """
    data = np.frombuffer(buffer, dtype=np.uint8)
    head = data[:4].tobytes()
    if not head or MAGIC_BYTES.startswith(head):
        return record_spans(data)
    raw = data.tobytes()
    try:
        record = parse_record(raw)
        reason = "" if record.features else "it holds no features"
    except ProtobufError as error:
        reason = str(error)
    if reason:
        found = int.from_bytes(head.ljust(4, b"\0"), "little")
        raise RecordIOError(
            f"bad RecordIO magic number 0x{found:08X} (expected 0x{MAGIC:08X}),"
            f" and not a bare protobuf Record either: {reason}",
            offset=0,
            field="magic",
        )
    return data, np.zeros(1, dtype=np.int64), np.full(1, data.size, dtype=np.int64)


def decode_to_numpy(
    buffer: bytes | bytearray | memoryview,
) -> tuple[NDArray[Any], NDArray[Any] | None]:
    """``(features, labels)`` of a RecordIO-protobuf buffer, as dense arrays.

    ``features`` has one row per record (sparse records are densified; rows
    carrying a shape are reshaped to it); ``labels`` is 1-D when every record
    has one label value, 2-D when each has several, ``None`` when none has a
    label. A bare Record (no RecordIO framing) decodes to one row.
    """
    data, starts, lengths = _spans(buffer)
    return decode_arrays(data, starts, lengths)


def decode_to_sparse(buffer: bytes | bytearray | memoryview) -> tuple[Any, NDArray[Any] | None]:
    """``(features, labels)`` with features as a ``scipy.sparse.csr_matrix``."""
    sparse = import_optional("scipy.sparse", "RecordIO-protobuf sparse decoding")
    data, starts, lengths = _spans(buffer)
    indptr, indices, values, columns, labels = decode_csr_parts(data, starts, lengths)
    matrix = sparse.csr_matrix((values, indices, indptr), shape=(starts.size, columns))
    return matrix, labels


def encode_records(records: list[Record]) -> bytes:
    """Frame arbitrary Records (any keys, Bytes values, uid...): the general, per-record path."""
    return frame(record.SerializeToString() for record in records)


def decode_records(buffer: bytes | bytearray | memoryview) -> list[Record]:
    """Every Record of a buffer as Python objects (see ``records.Record``); a bare Record too."""
    data, starts, lengths = _spans(buffer)
    raw = data.tobytes()
    return [
        parse_record(raw[s : s + n], base=s)
        for s, n in zip(starts.tolist(), lengths.tolist(), strict=True)
    ]


def read_records(file: BinaryIO) -> list[Record]:
    """Eagerly read every Record of a RecordIO-protobuf file object (the SDK's function)."""
    return decode_records(file.read())
