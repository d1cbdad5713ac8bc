"""Vectorised decoding of protobuf base-128 varints: packed runs of them, or one per position.

Everything works on whole columns of records: a buffer, and where each run
(one record's packed field) or each varint starts. Small varints, the common
case (the keys of a sparse row narrower than 16,384 columns), are decoded in
16-bit arithmetic from byte pairs; longer ones byte by byte.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelyard.formats._vec import I64, U8, U64, compact, unaligned
from modelyard.formats.errors import ProtobufError

#: Decoded varints (as unsigned): in a narrow type (uint16, int32) when all are small.
Varints = NDArray[np.integer[Any]]


def decode_packed_varints(
    data: U8, starts: I64, ends: I64, *, field: str, base: I64
) -> tuple[Varints, I64]:
    """Decode runs of back-to-back varints (packed fields) laid end to end in ``data``.

    Run ``i`` is ``data[starts[i]:ends[i]]`` and must end on a whole varint.
    Returns all values in order and how many each run holds. The values come
    as uint16 when every varint is at most 2 bytes long (values < 2**14: the
    keys of any matrix narrower than 16,384 columns), which spares the 64-bit
    arithmetic, and as uint64 otherwise. ``base`` gives each run's offset in
    the original buffer, for error messages.
    """
    if data.size == 0:
        return np.zeros(0, dtype=np.uint16), np.zeros(starts.size, dtype=np.int64)
    last = data < 0x80
    nonempty = ends > starts
    broken = nonempty & ~last[np.maximum(ends - 1, 0)]
    if bool(broken.any()):
        i = int(np.argmax(broken))
        raise ProtobufError(
            "truncated varint at the end of a packed field", offset=int(base[i]), field=field
        )
    if bool(last.all()):
        return data.astype(np.uint16), ends - starts
    value_ends = np.flatnonzero(last)
    seen: NDArray[np.integer[Any]] = np.zeros(
        data.size + 1, dtype=np.int32 if data.size < 1 << 31 else np.int64
    )
    np.cumsum(last, out=seen[1:])
    counts = (seen[ends] - seen[starts]).astype(np.int64)
    short = _decode_short_varints(data, value_ends)
    if short is not None:
        return short, counts
    return _decode_long_varints(data, value_ends, starts, ends, base, field), counts


def varints_as_int32(values: Varints) -> NDArray[np.int32]:
    """Decoded int32 values: protobuf writes a negative int32 as its 64-bit two's complement."""
    wide = values.view(np.int64) if values.dtype == np.uint64 else values
    return wide.astype(np.int32, copy=False)


def _decode_short_varints(data: U8, value_ends: I64) -> NDArray[np.uint16] | None:
    """The varints ending at ``value_ends`` if none is longer than 2 bytes, else ``None``.

    Each value is read from the byte pair (previous byte, last byte): the previous
    byte belongs to the varint exactly when it has its continuation bit. If the
    pairs account for every continuation byte, no varint is longer than 2 bytes.
    """
    pairs: NDArray[np.uint16] = np.take(unaligned(data, "V2"), value_ends - 1).view("<u2")
    if value_ends[0] == 0:
        pairs[0] = int(data[0]) << 8  # no previous byte: a one-byte varint
    continued = (pairs >> 7) & 1
    if int(np.count_nonzero(continued)) != data.size - value_ends.size:
        return None
    values = ((pairs >> 8) << (continued * 7)) | ((pairs & 0x7F) * continued)
    return values.astype(np.uint16, copy=False)


def decode_short_varint_runs(
    buffer: U8, starts: I64, ends: I64, expected: I64
) -> NDArray[np.int32] | None:
    """The packed varints of the runs ``buffer[starts[i]:ends[i]]``, if they are regular.

    Regular: run ``i`` holds ``expected[i]`` varints (a sparse row: as many keys
    as values), none longer than 2 bytes. ``None`` otherwise, and
    ``decode_packed_varints`` then says what is wrong. Runs holding as many
    bytes as varints (every key below 128) are one copy.

    The runs are copied end to end after a zero byte. A varint of at most 2
    bytes is then read from the pair (the byte before its last byte, its last
    byte): the byte before belongs to it when it has the continuation bit.
    """
    sizes = ends - starts
    if not bool(expected.any()):
        return None if bool(sizes.any()) else np.zeros(0, dtype=np.int32)
    if int(expected[0]) == 0:  # leading runs without varints must be empty: drop them
        first = int(np.argmax(expected > 0))
        if bool(sizes[:first].any()):
            return None
        starts, sizes, expected = starts[first:], sizes[first:], expected[first:]
    if int(sizes.sum()) == int(expected.sum()):  # as many bytes as keys: all of one byte?
        single = compact(buffer, starts, sizes)
        if not np.array_equal(sizes, expected) or bool((single >= 0x80).any()):
            return None
        return single.astype(np.int32)
    data = compact(buffer, starts, sizes, lead=1)
    at = np.flatnonzero(data[1:] < 0x80)  # the byte before the last byte of each varint
    # The k-th varint, k the running total up to run i, must end where run i ends (a run
    # without varints: where the run before it ends, so it holds no byte).
    running = np.cumsum(expected)
    if at.size != int(running[-1]) or not np.array_equal(at[running - 1], np.cumsum(sizes) - 1):
        return None
    low, high = np.take(data, at), np.take(data[1:], at)
    continued = low >> 7
    if int(np.count_nonzero(continued)) != int(sizes.sum()) - at.size:
        return None  # a varint of 3 bytes or more
    values = (high.astype(np.uint16) << (continued * 7)) | ((low & 0x7F) * continued)
    return values.astype(np.int32)


def _decode_long_varints(
    data: U8, value_ends: I64, starts: I64, ends: I64, base: I64, field: str
) -> U64:
    value_starts = np.empty_like(value_ends)
    value_starts[0] = 0
    value_starts[1:] = value_ends[:-1] + 1
    sizes = value_ends - value_starts + 1
    longest = int(sizes.max())
    if longest > 10:
        at = int(value_starts[np.argmax(sizes)])
        run = min(int(np.searchsorted(ends, at, side="right")), starts.size - 1)
        raise ProtobufError("varint longer than 10 bytes", offset=int(base[run]), field=field)
    values = (data[value_starts] & 0x7F).astype(np.uint64)
    for k in range(1, longest):
        chunk = (data[np.minimum(value_starts + k, data.size - 1)] & 0x7F).astype(np.uint64)
        chunk[sizes <= k] = 0
        values |= chunk << np.uint64(7 * k)
    return values


def read_varints_at(buffer: U8, positions: I64, limits: I64, *, field: str) -> tuple[U64, I64]:
    """Read one varint at each position (none may run past its limit): (values, next positions)."""
    if positions.size == 0:
        return np.zeros(0, dtype=np.uint64), positions
    if bool((positions >= limits).any()):
        i = int(np.argmax(positions >= limits))
        raise ProtobufError(
            "truncated message: varint expected", offset=int(positions[i]), field=field
        )
    first = buffer[positions]
    values = (first & 0x7F).astype(np.uint64)
    more = first >= 0x80
    if not more.any():
        return values, positions + 1
    sizes = np.ones(positions.size, dtype=np.int64)
    pending = np.flatnonzero(more)
    k = 1
    while pending.size:
        if k == 10:
            raise ProtobufError(
                "varint longer than 10 bytes", offset=int(positions[pending[0]]), field=field
            )
        at = positions[pending] + k
        short = at >= limits[pending]
        if bool(short.any()):
            i = int(pending[np.argmax(short)])
            raise ProtobufError("truncated varint", offset=int(positions[i]), field=field)
        byte = buffer[at]
        values[pending] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        sizes[pending] += 1
        pending = pending[byte >= 0x80]
        k += 1
    return values, positions + sizes
