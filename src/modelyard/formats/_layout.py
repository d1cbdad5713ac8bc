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

Per record it reads three places: the first 16 bytes (the entry's head and the
tensor's first field, when its lengths take one byte each), the keys field's
head, and the shape field, which is the same in every row of a sparse matrix
and so is compared as one block at the end of each tensor. The values and the
keys are then copied end to end with ``_vec.compact`` and the keys decoded
with ``_varints.decode_short_varint_runs``: some 20 times faster than the
sagemaker SDK parses the same records into protobuf objects
(``benchmarks/formats.py``).
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
) -> tuple[tuple[I64, I64], tuple[I64, I64], tuple[bytes, int]]:
    """``[0a L values] [12 L keys] S`` in each tensor, ``S`` the same shape field in all.

    Returns where the values and the keys of each tensor start and end (an
    empty range for a tensor without them), and ``S`` with where its payload
    starts. A sparse matrix's rows all end with the same shape (its column
    count): it is compared as one block at the end of every tensor, which
    leaves two fields to find per record.
    """
    suffix, payload_at = _shape_suffix(buffer, begin, tensor_end)
    shape_at = tensor_end - len(suffix)
    if bool((shape_at < begin).any()):
        raise _MismatchError
    if suffix and not _all_equal(buffer, shape_at, suffix):
        raise _MismatchError
    values = _field_at(buffer, begin, shape_at, 0x0A, lead)
    keys = _field_at(buffer, values[1], shape_at, 0x12)
    if not np.array_equal(keys[1], shape_at):
        raise _MismatchError
    return values, keys, (suffix, payload_at)


def _field_at(
    buffer: U8, position: I64, stop: I64, tag: int, lead: NDArray[np.uint16] | None = None
) -> tuple[I64, I64]:
    """``<tag> L payload`` at each position before ``stop``: where the payload starts and
    ends; an empty range at ``position`` where there is no room for it.

    ``lead``: the two bytes at each position, when already read.
    """
    missing = np.flatnonzero(position >= stop)  # few: the rows without values
    tags: Varints
    first: Varints
    if lead is None:
        tags = np.take(buffer, position, mode="clip")
        first = np.take(buffer, position + 1, mode="clip")
    else:
        tags, first = lead & 0xFF, lead >> 8
    if missing.size:
        tags[missing], first[missing] = tag, 0
    if not bool((tags == tag).all()):
        raise _MismatchError
    payload_begin, payload_end = _varint_lengths(buffer, position + 1, stop, first)
    if missing.size:
        payload_begin[missing] = payload_end[missing] = position[missing]
    if bool((payload_end > stop).any()):
        raise _MismatchError
    return payload_begin, payload_end


def _all_equal(buffer: U8, position: I64, expected: bytes) -> bool:
    """Whether ``expected`` is at every position (up to 8 bytes compared as one word).

    The word is no wider than needed: a shape field ends its record, and a window
    reaching past the buffer's end costs a padded copy.
    """
    size = len(expected)
    if size > 8:
        found = unaligned(buffer, f"V{size}")[position].view(np.uint8).reshape(-1, size)
        return bool((found == np.frombuffer(expected, dtype=np.uint8)).all())
    width = 1 << (size - 1).bit_length()  # a word of 1, 2, 4 or 8 bytes
    word = np.dtype(f"<u{width}")
    words = windows(buffer, position, width).view(word).reshape(-1)
    pattern = word.type(int.from_bytes(expected, "little"))
    care = word.type((1 << (8 * size)) - 1)
    return not bool(((words ^ pattern) & care).any())


def _constant_shape(suffix: bytes, payload_at: int, count: int, name: str) -> tuple[Varints, I64]:
    """The shape every record holds (``suffix``, a shape field), as ``uint64_segments`` gives."""
    if not suffix:
        return np.zeros(0, dtype=np.uint16), np.zeros(count, dtype=np.int64)
    payload = np.frombuffer(suffix, dtype=np.uint8)[payload_at:]
    size = np.array([payload.size])
    shape, dims = decode_packed_varints(payload, _ZERO, size, field=name, base=_ZERO)
    return np.tile(shape, count), np.full(count, int(dims[0]), dtype=np.int64)


def _packed_values(
    buffer: U8, kinds: NDArray[np.int8], field: tuple[I64, I64], name: str
) -> tuple[NDArray[np.generic], I64]:
    """The values of every tensor (all of one type), and how many each holds."""
    begin, end = field
    kind = int(kinds[0])
    if kind == KIND_INT32:
        wire = np.full(begin.size, 2, dtype=np.int64)
        every = np.arange(begin.size)
        return value_segments(buffer, every, wire, begin, end, kinds, name)
    itemsize = KIND_DTYPES[kind].itemsize  # 4 or 8: shifts and masks
    sizes = end - begin
    if bool((sizes & (itemsize - 1)).any()):
        raise _MismatchError  # the general path says which record
    return gather(buffer, begin, end, f"<f{itemsize}"), sizes >> (itemsize.bit_length() - 1)


def _map_entry(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[TensorBatch, I64]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L tensor`` at each position."""
    count = position.size
    kind, tensor_begin, tensor_end, lead = _heads(buffer, position, limit, tag)
    values_field, keys_field, suffix = _tensor_fields(buffer, tensor_begin, tensor_end, lead)
    name = "Record.features" if tag == 0x0A else "Record.label"
    shape, shape_counts = _constant_shape(*suffix, count, f"{name} tensor.shape")
    kinds = np.full(count, kind, dtype=np.int8)
    values, value_counts = _packed_values(buffer, kinds, values_field, name)
    # A sparse row holds as many keys as values; anything else for the general decoder.
    keys: Varints | None = None
    key_counts = value_counts
    if not bool((keys_field[1] > keys_field[0]).any()):  # dense rows, labels
        keys, key_counts = np.zeros(0, dtype=np.int32), np.zeros(count, dtype=np.int64)
    else:
        keys = decode_short_varint_runs(buffer, *keys_field, value_counts)
    if keys is None:
        every = np.arange(count)
        keys, key_counts = uint64_segments(buffer, every, *keys_field, count, f"{name} tensor.keys")
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
