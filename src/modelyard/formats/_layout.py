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

from modelyard.formats._vec import I64, U8, read_varints_at, unaligned
from modelyard.formats._wire import TensorBatch, uint64_segments, value_segments
from modelyard.formats.errors import ProtobufError

_ENTRY_KEY = int(np.frombuffer(b"\x0a\x06values", dtype="<u8")[0])
_TENSOR_TAGS = {0x12: 2, 0x1A: 3, 0x3A: 7}
_NONE = np.zeros(0, dtype=np.int64)
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


def _heads(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[int, I64, I64]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L`` at each position: (T, tensor start, end).

    The tensor ends where the entry does. Most records have one-byte lengths, so
    their 16 first bytes are compared with the pattern at once; the others (long
    records, the last few ones of the buffer) go through ``_long_heads``.
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
    if not bool(short.all()):
        odd = np.flatnonzero(~short)
        odd_kind, odd_begin, odd_end = _long_heads(buffer, position[odd], limit[odd], tag)
        if odd_kind != kind_byte:
            raise _MismatchError
        tensor_begin[odd], tensor_end[odd] = odd_begin, odd_end
    if bool((tensor_end > limit).any()):
        raise _MismatchError
    return _TENSOR_TAGS[kind_byte], tensor_begin, tensor_end


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


def _tensor_fields(buffer: U8, position: I64, tensor_end: I64) -> list[tuple[I64, I64, I64]]:
    """``[0a L values] [12 L keys] [1a L shape]`` in each tensor: (owner, start, end) of each."""
    count = position.size
    last = buffer.size - 1
    segments: list[tuple[I64, I64, I64]] = []
    for field_tag in (0x0A, 0x12, 0x1A):
        has = (buffer[np.minimum(position, last)] == field_tag) & (position < tensor_end)
        if bool(has.all()):
            end, begin = _length(buffer, position + 1, tensor_end)
            segments.append((np.arange(count), begin, end))
            position = end
        elif bool(has.any()):
            owner = np.flatnonzero(has)
            end, begin = _length(buffer, position[owner] + 1, tensor_end[owner])
            position = position.copy()
            position[owner] = end
            segments.append((owner, begin, end))
        else:
            segments.append((_NONE, _NONE, _NONE))
    if not np.array_equal(position, tensor_end):
        raise _MismatchError
    return segments


def _map_entry(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[TensorBatch, I64]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L tensor`` at each position."""
    count = position.size
    kind, tensor_begin, tensor_end = _heads(buffer, position, limit, tag)
    segments = _tensor_fields(buffer, tensor_begin, tensor_end)
    kinds = np.full(count, kind, dtype=np.int8)
    owner, begin, end = segments[0]
    wire = np.full(owner.size, 2, dtype=np.int64)
    name = "Record.features" if tag == 0x0A else "Record.label"
    values, value_counts = value_segments(buffer, owner, wire, begin, end, kinds, name)
    key_owner = segments[1][0]
    expected = None
    if np.array_equal(key_owner, owner):  # a sparse row holds as many keys as values
        expected = value_counts[key_owner] if key_owner.size != count else value_counts
    keys, key_counts = uint64_segments(buffer, *segments[1], count, f"{name} tensor.keys", expected)
    shape, shape_counts = uint64_segments(buffer, *segments[2], count, f"{name} tensor.shape")
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
