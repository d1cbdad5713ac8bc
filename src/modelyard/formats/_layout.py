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


def _map_entry(buffer: U8, position: I64, limit: I64, tag: int) -> tuple[TensorBatch, I64]:
    """Parse ``<tag> L 0a 06 "values" 12 L <T> L tensor`` at each position."""
    count = position.size
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
    kind = _TENSOR_TAGS[kind_byte]
    tensor_end, position = _length(buffer, position + 1, value_end)
    if not bool((tensor_end == value_end).all()):
        raise _MismatchError
    segments: list[tuple[I64, I64, I64]] = []
    for field_tag in (0x0A, 0x12, 0x1A):
        inside = position < tensor_end
        has = inside.copy()
        has[inside] = buffer[position[inside]] == field_tag
        owner = np.flatnonzero(has)
        if owner.size:
            end, begin = _length(buffer, position[owner] + 1, tensor_end[owner])
            position = position.copy()
            position[owner] = end
            segments.append((owner, begin, end))
        else:
            segments.append((owner, owner, owner))
    if not bool((position == tensor_end).all()):
        raise _MismatchError
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
    return batch, entry_end


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
