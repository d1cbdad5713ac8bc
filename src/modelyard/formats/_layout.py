"""The fast path for records in the standard layout, the one every writer we know uses.

The sagemaker SDK, modelyard and SageMaker's algorithms write each record as::

    0a L  0a 06 "values"  12 L  <T> L  [0a L values] [12 L keys] [1a L shape]   (features)
   [12 L  0a 06 "values"  12 L  <T> L  [0a L values] [12 L keys] [1a L shape]]  (label)

with ``<T>`` one of ``12`` / ``1a`` / ``3a`` (float32 / float64 / int32 tensor)
and only the lengths varying from record to record. ``parse_standard``
checks that layout for all records at once, a few array operations per field
(no generic tag dispatch), and returns ``None`` at the first record that
differs, in which case the caller walks the records with the general lockstep
parser of ``_wire`` (which also produces the precise error for malformed input).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from modelyard.formats._varints import (
    Varints,
    decode_packed_varints,
    decode_short_varint_runs,
    read_varints_at,
)
from modelyard.formats._vec import I64, U8, gather, unaligned, windows
from modelyard.formats._wire import (
    KIND_DTYPES,
    KIND_INT32,
    TensorBatch,
    uint64_segments,
    value_segments,
)
from modelyard.formats.errors import ProtobufError
from modelyard.formats.records import _fields

_ENTRY_KEY = int(np.frombuffer(b"\x0a\x06values", dtype="<u8")[0])
_TENSOR_TAGS = {0x12: 2, 0x1A: 3, 0x3A: 7}
_ZERO = np.zeros(1, dtype=np.int64)
#: The first bytes of a map entry whose lengths all take one byte: ``<tag> L "\n\x06values"
#: 12 L <T> L`` and two bytes of the tensor. ``_HEAD_CARE`` marks the bits compared: all of
#: the constant bytes (<T> is the first record's), the continuation bit of the lengths, none
#: of the tensor's bytes.
_HEAD_BYTES = 16
_HEAD_PATTERN = np.frombuffer(b"\x00\x00\x0a\x06values\x12\x00\x00\x00\x00\x00", np.uint8).copy()
_HEAD_CARE = np.frombuffer(b"\xff\x80" + b"\xff" * 8 + b"\xff\x80\xff\x80\x00\x00", np.uint8)


class _MismatchError(Exception):
    """The records are not in the standard layout."""


def _byte_is(buffer: U8, positions: I64, limits: I64, value: int) -> bool:
    if bool((positions >= limits).any()):
        return False
    return bool((buffer[positions] == value).all())


def _length(buffer: U8, positions: I64, limits: I64) -> tuple[I64, I64]:
    """A length varint at each position: (end of the payload it announces, payload start)."""
    sizes, begin = read_varints_at(buffer, positions, limits, field="length")
    if bool((sizes > (limits - begin).astype(np.uint64)).any()):
        raise _MismatchError
    return begin + sizes.astype(np.int64), begin


def _heads(
    buffer: U8, position: I64, limit: I64, tag: int
) -> tuple[int, I64, I64, NDArray[np.uint16]]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L`` at each position.

    Returns T, where each tensor starts and ends (where the entry does) and its
    first two bytes. Most records have one-byte lengths, so their 16 first bytes
    (the tensor's first two included) are compared with the pattern at once;
    the others (long records, the last few ones of the buffer) go through
    ``_long_heads``.
    """
    count = position.size
    # Positions ascend: the records whose first bytes fit in the buffer are a prefix.
    rows = int(np.searchsorted(position, buffer.size - _HEAD_BYTES, side="right"))
    head = unaligned(buffer, f"V{_HEAD_BYTES}")[position[:rows]].view(np.uint8)
    head = head.reshape(rows, _HEAD_BYTES)
    kind_byte = _first_kind(buffer, position, limit, tag, head)
    pattern = _HEAD_PATTERN.copy()
    pattern[0], pattern[12] = tag, kind_byte
    words, expected, care = head.view("<u8"), pattern.view("<u8"), _HEAD_CARE.view("<u8")
    mismatch = ((words[:, 0] ^ expected[0]) & care[0]) | ((words[:, 1] ^ expected[1]) & care[1])
    # One-byte lengths (the pattern checked their continuation bits) that nest exactly.
    nested = (head[:, 1] - head[:, 11] == 10) & (head[:, 11] - head[:, 13] == 2)
    short = np.zeros(count, dtype=bool)
    short[:rows] = (mismatch == 0) & nested
    tensor_begin = position + 14
    tensor_end = position + 2
    tensor_end[:rows] += head[:, 1]
    lead = np.empty(count, dtype=np.uint16)
    lead[:rows] = head.view("<u2")[:, 7]
    if not bool(short.all()):
        odd = np.flatnonzero(~short)
        odd_kind, odd_begin, odd_end = _long_heads(buffer, position[odd], limit[odd], tag)
        if odd_kind != kind_byte:
            raise _MismatchError
        tensor_begin[odd], tensor_end[odd] = odd_begin, odd_end
        low = np.take(buffer, odd_begin, mode="clip").astype(np.uint16)
        lead[odd] = low | (np.take(buffer, odd_begin + 1, mode="clip").astype(np.uint16) << 8)
    if bool((tensor_end > limit).any()):
        raise _MismatchError
    return _TENSOR_TAGS[kind_byte], tensor_begin, tensor_end, lead


def _first_kind(buffer: U8, position: I64, limit: I64, tag: int, head: U8) -> int:
    """The tensor type byte of the first record (all must share it)."""
    if head.shape[0] and head[0, 1] < 0x80 and head[0, 11] < 0x80:
        kind_byte = int(head[0, 12])
    else:
        kind_byte = _long_heads(buffer, position[:1], limit[:1], tag)[0]
    if kind_byte not in _TENSOR_TAGS:
        raise _MismatchError
    return kind_byte


def _long_heads(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[int, I64, I64]:
    """``_heads`` for records with any length, one step (a few array operations) per field."""
    if not _byte_is(buffer, position, limit, tag):
        raise _MismatchError
    entry_end, position = _length(buffer, position + 1, limit)
    if bool((position + 8 > entry_end).any()):
        raise _MismatchError
    if not bool((unaligned(buffer, "<u8")[position] == _ENTRY_KEY).all()):
        raise _MismatchError
    position = position + 8
    if not _byte_is(buffer, position, entry_end, 0x12):
        raise _MismatchError
    value_end, position = _length(buffer, position + 1, entry_end)
    if not bool((value_end == entry_end).all()) or bool((position >= value_end).any()):
        raise _MismatchError
    kind_byte = int(buffer[position[0]])
    if kind_byte not in _TENSOR_TAGS or not _byte_is(buffer, position, value_end, kind_byte):
        raise _MismatchError
    tensor_end, position = _length(buffer, position + 1, value_end)
    if not bool((tensor_end == value_end).all()):
        raise _MismatchError
    return kind_byte, position, tensor_end


def _varint_lengths(
    buffer: U8, position: I64, limit: I64, first: Varints | None = None
) -> tuple[I64, I64]:
    """A length varint at each position (before its limit): (payload start, payload end).

    ``first``: the first byte of each, when already read.
    """
    if first is None:
        size = np.take(buffer, position, mode="clip").astype(np.int64)
    else:
        size = first.astype(np.int64)
    begin = position + 1
    longer = np.flatnonzero(size >= 0x80)
    if longer.size:
        sizes, after = read_varints_at(buffer, position[longer], limit[longer], field="length")
        if bool((sizes >= 1 << 62).any()):
            raise _MismatchError
        size[longer], begin[longer] = sizes.astype(np.int64), after
    return begin, begin + size


def _shape_suffix(buffer: U8, begin: I64, tensor_end: I64) -> tuple[bytes, int]:
    """The shape field ending the first tensor, ``1a L shape`` (``b""`` if it has none).

    Also where its payload starts in it.
    """
    first = buffer[int(begin[0]) : int(tensor_end[0])].tobytes()
    try:
        fields = _fields(first, 0, len(first), "tensor", 0)
    except ProtobufError:
        raise _MismatchError from None
    if not fields or fields[-1][:2] != (3, 2):
        return b"", 0
    field_at = fields[-2][3] if len(fields) > 1 else 0
    return first[field_at:], fields[-1][2] - field_at


def _tensor_fields(
    buffer: U8, begin: I64, tensor_end: I64, lead: NDArray[np.uint16]
) -> tuple[list[tuple[I64, I64, I64]], tuple[bytes, int]]:
    """``[0a L values] [12 L keys] S`` in each tensor, ``S`` the same shape field in all.

    Returns (owner, start, end) of the values and keys fields, and ``S`` with
    where its payload starts. A sparse matrix's rows all end with the same
    shape (its column count): it is compared as one block at the end of every
    tensor, which leaves two fields to find per record. Rows without values
    hold ``S`` alone.
    """
    suffix, payload_at = _shape_suffix(buffer, begin, tensor_end)
    shape_at = tensor_end - len(suffix)
    if bool((shape_at < begin).any()):
        raise _MismatchError
    if suffix and not _all_equal(buffer, shape_at, suffix):
        raise _MismatchError
    holders, at, stop = _holding(begin < shape_at, begin, shape_at)
    first = lead if holders.size == lead.size else lead[holders]  # tag, first length byte
    if not bool(((first & 0xFF) == 0x0A).all()):
        raise _MismatchError
    value_begin, value_end = _varint_lengths(buffer, at + 1, stop, first >> 8)
    if bool((value_end > stop).any()):
        raise _MismatchError
    keyed, at, stop = _holding(value_end < stop, value_end, stop)
    if not bool((np.take(buffer, at) == 0x12).all()):
        raise _MismatchError
    key_begin, key_end = _varint_lengths(buffer, at + 1, stop)
    if not np.array_equal(key_end, stop):
        raise _MismatchError
    key_owner = holders if keyed.size == holders.size else holders[keyed]
    fields = [(holders, value_begin, value_end), (key_owner, key_begin, key_end)]
    return fields, (suffix, payload_at)


def _all_equal(buffer: U8, position: I64, expected: bytes) -> bool:
    """Whether ``expected`` is at every position (up to 8 bytes compared as one word)."""
    size = len(expected)
    if size > 8:
        found = unaligned(buffer, f"V{size}")[position].view(np.uint8).reshape(-1, size)
        return bool((found == np.frombuffer(expected, dtype=np.uint8)).all())
    words = windows(buffer, position, 8).view("<u8").reshape(-1)
    pattern = int.from_bytes(expected, "little")
    care = (1 << (8 * size)) - 1
    return not bool(((words ^ np.uint64(pattern)) & np.uint64(care)).any())


def _holding(has: NDArray[np.bool_], *columns: I64) -> tuple[I64, ...]:
    """The indices where ``has``, and each column there (all of it when all have)."""
    if bool(has.all()):
        return np.arange(has.size), *columns
    holders = np.flatnonzero(has)
    return holders, *(column[holders] for column in columns)


def _constant_shape(suffix: bytes, payload_at: int, count: int, name: str) -> tuple[Varints, I64]:
    """The shape every record holds (``suffix``, a shape field), as ``uint64_segments`` gives."""
    if not suffix:
        return np.zeros(0, dtype=np.uint16), np.zeros(count, dtype=np.int64)
    payload = np.frombuffer(suffix, dtype=np.uint8)[payload_at:]
    size = np.array([payload.size])
    shape, dims = decode_packed_varints(payload, _ZERO, size, field=name, base=_ZERO)
    return np.tile(shape, count), np.full(count, int(dims[0]), dtype=np.int64)


def _packed_values(
    buffer: U8, kinds: NDArray[np.int8], field: tuple[I64, I64, I64], name: str
) -> tuple[NDArray[np.generic], I64]:
    """The values of every tensor (all of one type), and how many each holder holds."""
    owner, begin, end = field
    kind = int(kinds[0])
    if kind == KIND_INT32:
        wire = np.full(owner.size, 2, dtype=np.int64)
        values, counts = value_segments(buffer, owner, wire, begin, end, kinds, name)
        return values, counts if owner.size == kinds.size else counts[owner]
    itemsize = KIND_DTYPES[kind].itemsize
    sizes = end - begin
    if bool((sizes % itemsize).any()):
        raise _MismatchError  # the general path says which record
    return gather(buffer, begin, end, f"<f{itemsize}"), sizes // itemsize


def _per_record(owner: I64, counts: I64, size: int) -> I64:
    if owner.size == size:
        return counts
    out = np.zeros(size, dtype=np.int64)
    out[owner] = counts
    return out


def _map_entry(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[TensorBatch, I64]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L tensor`` at each position."""
    count = position.size
    kind, tensor_begin, tensor_end, lead = _heads(buffer, position, limit, tag)
    (values_field, keys_field), suffix = _tensor_fields(buffer, tensor_begin, tensor_end, lead)
    name = "Record.features" if tag == 0x0A else "Record.label"
    shape, shape_counts = _constant_shape(*suffix, count, f"{name} tensor.shape")
    kinds = np.full(count, kind, dtype=np.int8)
    values, counts = _packed_values(buffer, kinds, values_field, name)
    owner, key_owner = values_field[0], keys_field[0]
    keys: Varints | None = None
    if np.array_equal(key_owner, owner):  # a sparse row holds as many keys as values
        keys = decode_short_varint_runs(buffer, keys_field[1], keys_field[2], counts)
        key_counts = _per_record(owner, counts, count)
    if keys is None:
        keys, key_counts = uint64_segments(buffer, *keys_field, count, f"{name} tensor.keys")
    value_counts = _per_record(owner, counts, count)
    batch = TensorBatch(count, kinds, values, value_counts, keys, key_counts, shape, shape_counts)
    return batch, tensor_end


def parse_standard(
    buffer: U8, starts: I64, lengths: I64
) -> tuple[TensorBatch, TensorBatch | None] | None:
    """``(features, labels)`` if every record is in the standard layout, else ``None``."""
    ends = starts + lengths
    try:
        features, position = _map_entry(buffer, starts, ends, 0x0A)
        if bool((position == ends).all()):
            return features, None
        labels, position = _map_entry(buffer, position, ends, 0x12)
        if not bool((position == ends).all()):
            return None
    except (_MismatchError, ProtobufError):
        return None
    return features, labels
