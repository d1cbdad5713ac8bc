"""RecordIO-protobuf records -> arrays, vectorised: the regular fast path and the general one.

The fast path: when every record has the same length and the first one is a
plain dense float record (features ``"values"`` -> one packed float tensor,
optionally a float label likewise), the value bytes sit at the same offsets in
every record. If all the *other* bytes are equal across records (a handful of
column-block comparisons), every record parses exactly like the first one, and
the values are one strided 2-D view of the buffer. Anything else goes through
the lockstep walker of ``_wire``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelyard.formats._layout import parse_standard
from modelyard.formats._varints import Varints, decode_packed_varints, varints_as_int32
from modelyard.formats._vec import I64, U8
from modelyard.formats._wire import (
    KIND_FLOAT32,
    KIND_FLOAT64,
    KIND_INT32,
    TensorBatch,
    map_tensors,
    walk,
)
from modelyard.formats.errors import FormatError
from modelyard.formats.records import _fields

Arrays = tuple[NDArray[Any], NDArray[Any] | None]
Index = NDArray[np.signedinteger[Any]]
CsrParts = tuple[Index, Index, NDArray[Any], int, NDArray[Any] | None]
#: Column indices SciPy can hold (int64).
_INDEX_LIMIT = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one packed float tensor's values sit inside every record of a regular layout."""

    dtype: str
    begin: int
    end: int
    shape: tuple[int, ...] | None


def _float_slot(first: bytes, begin: int, end: int) -> _Slot | None:
    """The slot of map entry ``first[begin:end]`` if it is ``"values" -> packed tensor``.

    Float values have fixed offsets; int32 values are varints, whose run has the
    same offsets in every record when the non-value bytes (its length) are equal.
    """
    entry = _fields(first, begin, end, "entry", 0)
    keys = [f for f in entry if f[0] == 1]
    values = [f for f in entry if f[0] == 2]
    if len(keys) != 1 or len(values) != 1 or first[keys[0][2] : keys[0][3]] != b"values":
        return None
    if any(f[0] not in (1, 2) or f[1] != 2 for f in entry):
        return None
    oneof = _fields(first, values[0][2], values[0][3], "Value", 0)
    kinds = {KIND_FLOAT32: "<f4", KIND_FLOAT64: "<f8", KIND_INT32: "varint"}
    if len(oneof) != 1 or oneof[0][0] not in kinds or oneof[0][1] != 2:
        return None
    dtype = kinds[oneof[0][0]]
    tensor = _fields(first, oneof[0][2], oneof[0][3], "tensor", 0)
    packed = [f for f in tensor if f[0] == 1]
    shapes = [f for f in tensor if f[0] == 3]
    if any(f[0] not in (1, 3) or f[1] != 2 for f in tensor) or len(packed) > 1 or len(shapes) > 1:
        return None
    if not packed and shapes:
        return None  # a sparse record without entries: the general path knows its width
    if packed:
        slot_begin, slot_end = packed[0][2], packed[0][3]
        if dtype != "varint" and (slot_end - slot_begin) % (4 if dtype == "<f4" else 8):
            return None
    else:
        slot_begin = slot_end = oneof[0][3]
    shape = None
    if shapes:
        shape_bytes = np.frombuffer(first[shapes[0][2] : shapes[0][3]], dtype=np.uint8)
        if bool((shape_bytes >= 0x80).any()):
            return None  # multi-byte dimensions: leave them to the general path
        shape = tuple(int(d) for d in shape_bytes)
    return _Slot(dtype, slot_begin, slot_end, shape)


def _regular_layout(first: bytes) -> tuple[_Slot, _Slot | None] | None:
    try:
        fields = _fields(first, 0, len(first), "Record", 0)
    except FormatError:
        return None
    features = [f for f in fields if f[0] == 1]
    labels = [f for f in fields if f[0] == 2]
    if len(features) != 1 or len(labels) > 1 or any(f[1] != 2 for f in features + labels):
        return None
    try:
        feature_slot = _float_slot(first, features[0][2], features[0][3])
        label_slot = _float_slot(first, labels[0][2], labels[0][3]) if labels else None
    except FormatError:
        return None
    if feature_slot is None or (labels and label_slot is None):
        return None
    return feature_slot, label_slot


def _decode_regular(data: U8, starts: I64, lengths: I64) -> Arrays | None:
    count = starts.size
    length = int(lengths[0])
    if not bool((lengths == length).all()):
        return None
    stride = int(starts[1] - starts[0]) if count > 1 else length
    if count > 1 and not bool((np.diff(starts) == stride).all()):
        return None
    first_at = int(starts[0])
    layout = _regular_layout(data[first_at : first_at + length].tobytes())
    if layout is None:
        return None
    rows = np.lib.stride_tricks.as_strided(
        data[first_at:], shape=(count, length), strides=(stride, 1), writeable=False
    )
    slots = [slot for slot in layout if slot is not None]
    edges = [0]
    for slot in sorted(slots, key=lambda s: s.begin):
        edges += [slot.begin, slot.end]
    edges.append(length)
    for begin, end in zip(edges[::2], edges[1::2], strict=True):
        if end > begin and not bool((rows[:, begin:end] == rows[0, begin:end]).all()):
            return None

    def extract(slot: _Slot) -> NDArray[Any] | None:
        block = np.ascontiguousarray(rows[:, slot.begin : slot.end])
        if slot.dtype == "varint":
            width = slot.end - slot.begin
            ends = np.arange(1, count + 1, dtype=np.int64) * width
            decoded, counts = decode_packed_varints(
                block.reshape(-1), ends - width, ends, field="values", base=starts + slot.begin
            )
            if counts.size and not bool((counts == counts[0]).all()):
                return None  # ragged: the general path says which record
            values = varints_as_int32(decoded).reshape(count, -1)
        else:
            values = block.view(slot.dtype).reshape(count, -1).astype(slot.dtype[1:], copy=False)
        if slot.shape is not None and int(np.prod(slot.shape)) == values.shape[1]:
            values = values.reshape(count, *slot.shape)
        return values

    features = extract(layout[0])
    labels = None if layout[1] is None else extract(layout[1])
    if features is None or (layout[1] is not None and labels is None):
        return None
    if labels is not None and labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    return features, labels


def _batches(data: U8, starts: I64, lengths: I64) -> tuple[TensorBatch | None, TensorBatch | None]:
    standard = parse_standard(data, starts, lengths)
    if standard is not None:
        return standard
    record_fields = walk(data, starts, starts + lengths, name="Record")
    count = starts.size
    return map_tensors(data, record_fields, count, 1), map_tensors(data, record_fields, count, 2)


def _equal_counts(counts: I64, what: str) -> int:
    first = int(counts[0])
    differ = counts != first
    if bool(differ.any()):
        i = int(np.argmax(differ))
        raise FormatError(
            f"records differ in length: record {i} has {int(counts[i])} values,"
            f" record 0 has {first}",
            field=f"{what}.values",
        )
    return first


def _shapes(batch: TensorBatch) -> list[tuple[int, ...]]:
    """The distinct shapes the records declare."""
    counts = batch.shape_counts
    first = int(counts[0])
    if first and bool((counts == first).all()):  # the usual case: one rank for all
        holders = None
    elif not counts.any():
        return []
    else:
        first = int(counts[np.argmax(counts > 0)])
        holders = counts > 0
    if holders is None or bool((counts[holders] == first).all()):
        table = batch.shape.reshape(-1, first)
        if bool((table == table[0]).all()):
            return [tuple(int(d) for d in table[0])]
        distinct = np.unique(table, axis=0)
        return [tuple(int(d) for d in row) for row in distinct]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    found = {
        tuple(int(d) for d in batch.shape[offsets[i] : offsets[i + 1]])
        for i in np.flatnonzero(counts).tolist()
    }
    return sorted(found)


def _csr(batch: TensorBatch, what: str) -> tuple[Index, Index, NDArray[Any], int, tuple[int, ...]]:
    """CSR parts of a batch (dense records count as rows whose keys are 0..n-1).

    The index arrays are int32 when they fit, as SciPy would otherwise convert them.
    """
    count = batch.count
    value_counts, key_counts = batch.value_counts, batch.key_counts
    sparse_rows = key_counts > 0
    mismatch = sparse_rows & (key_counts != value_counts)
    if bool(mismatch.any()):
        i = int(np.argmax(mismatch))
        raise FormatError(
            f"record {i} has {int(key_counts[i])} keys for {int(value_counts[i])} values",
            field=f"{what}.keys",
        )
    total = int(value_counts.sum())
    keys: Varints = batch.keys
    if not bool(sparse_rows.all()) and bool((value_counts[~sparse_rows] > 0).any()):
        owner = np.repeat(np.arange(count), value_counts)
        within = np.arange(total) - np.repeat(np.cumsum(value_counts) - value_counts, value_counts)
        key_at = np.repeat(np.cumsum(key_counts) - key_counts, value_counts) + within
        from_keys = sparse_rows[owner]
        keys = within.astype(np.uint64)
        keys[from_keys] = batch.keys[key_at[from_keys]]
    shapes = _shapes(batch)
    trailing: tuple[int, ...] = shapes[0] if len(shapes) == 1 else ()
    widest = int(keys.max()) if keys.size else -1
    if shapes:
        columns = max(int(np.prod(s)) for s in shapes)
        limit = columns
        if columns > _INDEX_LIMIT:
            raise FormatError(f"a shape of {columns} columns is too wide", field=f"{what}.shape")
    else:
        columns = widest + 1
        limit = _INDEX_LIMIT
    if widest >= limit:
        owner = np.repeat(np.arange(count), value_counts)
        i = int(np.argmax(keys >= limit))
        where = f"outside its shape ({columns})" if shapes else "too large for a column index"
        raise FormatError(
            f"record {int(owner[i])} has key {int(keys[i])} {where}", field=f"{what}.keys"
        )
    index_dtype = np.int32 if max(columns, total) <= np.iinfo(np.int32).max else np.int64
    indptr: Index = np.zeros(count + 1, dtype=index_dtype)
    np.cumsum(value_counts, dtype=index_dtype, out=indptr[1:])
    return indptr, keys.astype(index_dtype, copy=False), batch.values, columns, trailing


def _dense(batch: TensorBatch | None, count: int, what: str) -> NDArray[Any]:
    if batch is None:
        return np.zeros((count, 0), dtype=np.float32)
    shapes = _shapes(batch)
    empty_sparse = len(shapes) == 1 and int(np.prod(shapes[0])) > 0 and not batch.values.size
    if not batch.key_counts.any() and not empty_sparse:
        width = _equal_counts(batch.value_counts, what)
        values = batch.values.reshape(count, width)
        if len(shapes) == 1 and int(np.prod(shapes[0])) == width and bool(batch.shape_counts.all()):
            values = values.reshape(count, *shapes[0])
        return values
    indptr, indices, flat, columns, trailing = _csr(batch, what)
    out = np.zeros((count, columns), dtype=flat.dtype)
    out[np.repeat(np.arange(count), np.diff(indptr)), indices] = flat
    if trailing and len(trailing) > 1:
        out = out.reshape(count, *trailing)
    return out


def _labels(batch: TensorBatch | None, count: int) -> NDArray[Any] | None:
    if batch is None:
        return None
    labels = _dense(batch, count, "label")
    if labels.ndim == 2 and labels.shape[1] == 1:
        return labels[:, 0]
    return labels


def decode_arrays(data: U8, starts: I64, lengths: I64) -> Arrays:
    """Dense ``(features, labels)`` of the records ``data[starts[i]:starts[i]+lengths[i]]``."""
    count = starts.size
    if count == 0:
        return np.zeros((0, 0), dtype=np.float32), None
    regular = _decode_regular(data, starts, lengths)
    if regular is not None:
        return regular
    features, labels = _batches(data, starts, lengths)
    return _dense(features, count, "features"), _labels(labels, count)


def decode_csr_parts(data: U8, starts: I64, lengths: I64) -> CsrParts:
    """``(indptr, indices, values, columns, labels)`` of the records, for a CSR matrix."""
    count = starts.size
    if count == 0:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(1, dtype=np.int64), empty, np.zeros(0, dtype=np.float32), 0, None
    regular = _decode_regular(data, starts, lengths)
    if regular is not None:
        dense, labels = regular
        flat = dense.reshape(count, -1)
        width = flat.shape[1]
        indptr = np.arange(count + 1, dtype=np.int64) * width
        indices = np.tile(np.arange(width, dtype=np.int64), count)
        return indptr, indices, flat.reshape(-1), width, labels
    features, label_batch = _batches(data, starts, lengths)
    labels = _labels(label_batch, count)
    if features is None:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(count + 1, dtype=np.int64), empty, np.zeros(0, np.float32), 0, labels
    indptr, indices, values, columns, _ = _csr(features, "features")
    return indptr, indices, values, columns, labels
