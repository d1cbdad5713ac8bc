"""Vectorised byte plumbing shared by the binary formats.

Three tools, each working on whole columns of records at once rather than one
record at a time:

- protobuf base-128 varints, encoded and decoded for a whole array;
- ``gather``: the concatenation of many byte ranges of one buffer;
- ``assemble``: many records built side by side from *pieces* (constant bytes,
  a fixed-width matrix with one row per record, or variable-size byte runs), the
  way a column store writes rows. When every piece has the same size in every
  record (dense float RecordIO-protobuf), the output is one 2-D array filled
  column block by column block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelyard.formats.errors import ProtobufError

U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
#: Decoded varints (as unsigned): in a narrow type (uint16, int32) when all are small.
Varints = NDArray[np.integer[Any]]
Length = int | I64

_SMALL_ROWS_BYTES = 16
#: The chunk size of ``gather`` and ``decode_short_varint_runs``: about the size of one
#: sparse row's values, small enough that padding chunks costs little.
_CHUNK_BYTES = 32
_NO_INDEX = np.zeros(0, dtype=np.int64)
#: Copying each run in one window as wide as the widest is faster than cutting runs in
#: chunks, up to about this many times the bytes of the runs.
_WINDOW_WASTE = 4


# -- varints ---------------------------------------------------------------------------------


def varint_sizes(values: U64) -> I64:
    """Bytes each value takes as a base-128 varint (1..10)."""
    sizes = np.ones(values.shape, dtype=np.int64)
    if values.size == 0:
        return sizes
    largest = int(values.max())
    k = 1
    while k < 10 and largest >= 1 << (7 * k):
        sizes += values >= np.uint64(1 << (7 * k))
        k += 1
    return sizes


def encode_varint(value: int) -> bytes:
    """One varint (``value`` taken modulo 2**64, as protobuf does for negative int32)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_varints(values: U64) -> tuple[U8, I64]:
    """All ``values`` as varints back to back, and the size of each."""
    sizes = varint_sizes(values)
    if values.size == 0:
        return np.zeros(0, dtype=np.uint8), sizes
    longest = int(sizes.max())
    if longest == 1:
        return values.astype(np.uint8), sizes
    ends = np.cumsum(sizes)
    starts = ends - sizes
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    selected = np.arange(values.size)
    for k in range(longest):
        if k:
            selected = selected[sizes[selected] > k]
        chunk = (values[selected] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = sizes[selected] > k + 1
        out[starts[selected] + k] = chunk.astype(np.uint8) | (more.astype(np.uint8) << 7)
    return out, sizes


def signed_to_wire(values: NDArray[np.integer]) -> U64:
    """int32 values as protobuf puts them on the wire: sign-extended to 64 bits."""
    return values.astype(np.int64).view(np.uint64)


def decode_packed_varints(
    data: U8, starts: I64, ends: I64, *, field: str, base: I64, expected: I64 | None = None
) -> tuple[Varints, I64]:
    """Decode runs of back-to-back varints (packed fields) laid end to end in ``data``.

    Run ``i`` is ``data[starts[i]:ends[i]]`` and must end on a whole varint.
    Returns all values in order and how many each run holds. The values come
    as uint16 when every varint is at most 2 bytes long (values < 2**14: the
    keys of any matrix narrower than 16,384 columns), which spares the 64-bit
    arithmetic, and as uint64 otherwise. ``base`` gives each run's offset in
    the original buffer, for error messages. When the caller knows how many
    values each run must hold (``expected``: a sparse row has as many keys as
    values), that is checked instead of counted, which is cheaper; a run that
    differs raises ``ProtobufError``.
    """
    if data.size == 0:
        if expected is not None and bool(expected.any()):
            raise ProtobufError("packed field shorter than expected", field=field)
        return np.zeros(0, dtype=np.uint16), np.zeros(starts.size, dtype=np.int64)
    last = data < 0x80
    nonempty = ends > starts
    broken = nonempty & ~last[np.maximum(ends - 1, 0)]
    if bool(broken.any()):
        i = int(np.argmax(broken))
        raise ProtobufError(
            "truncated varint at the end of a packed field", offset=int(base[i]), field=field
        )
    counts: I64
    if bool(last.all()):
        counts = ends - starts
        if expected is not None and not np.array_equal(counts, expected):
            _raise_count_mismatch(counts, expected, base, field)
        return data.astype(np.uint16), counts
    value_ends = np.flatnonzero(last)
    if expected is None:
        seen: NDArray[np.integer[Any]] = np.zeros(
            data.size + 1, dtype=np.int32 if data.size < 1 << 31 else np.int64
        )
        np.cumsum(last, out=seen[1:])
        counts = (seen[ends] - seen[starts]).astype(np.int64)
    else:
        # Each run ends on a varint (checked above); if the k-th varint of the whole
        # buffer ends where run i ends, for k the expected running total, every run
        # holds exactly its expected count.
        running = np.cumsum(expected)
        ok = value_ends.size == int(running[-1]) if running.size else value_ends.size == 0
        if ok:
            filled = expected > 0
            ok = bool((value_ends[running[filled] - 1] == ends[filled] - 1).all())
        if not ok:
            seen = np.zeros(data.size + 1, dtype=np.int64)
            np.cumsum(last, out=seen[1:])
            _raise_count_mismatch(seen[ends] - seen[starts], expected, base, field)
        counts = expected
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
    as values), none longer than 2 bytes. The runs are then read in place, in
    fixed-size windows, instead of being copied end to end first. ``None``
    otherwise: ``decode_packed_varints`` then says what is wrong.

    A varint of at most 2 bytes is read from the pair (the byte before its last
    byte, its last byte): the byte before belongs to it when it has the
    continuation bit. Each window holds one byte before its chunk of the run
    (zeroed for a run's first chunk) so that every pair sits in one window.
    """
    sizes = ends - starts
    if starts.size == 0:
        return np.zeros(0, dtype=np.int32)
    if bool(((expected == 0) != (sizes == 0)).any()) or int(starts[0]) == 0:
        return None
    width = _chunk_width(sizes, _CHUNK_BYTES // 2)
    chunks = Chunks.of(starts, sizes, width, 1)
    rows = windows(buffer, chunks.starts - 1, width + 1)
    whole = chunks.first.size == chunks.starts.size  # one chunk per run
    if whole:
        rows[:, 0] = 0
    else:
        rows[chunks.first, 0] = 0
    flat = rows.reshape(-1)
    before_last = prefix_mask(chunks.sizes, width + 1).reshape(-1)[:-1]
    before_last &= flat[1:] < 0x80
    at = np.flatnonzero(before_last)
    # The k-th varint, k the running total up to run i, must end where run i ends.
    running = np.cumsum(expected if bool(expected.all()) else expected[expected > 0])
    if at.size != int(running[-1]):
        return None
    last_sizes = chunks.sizes if whole else chunks.sizes[chunks.last]
    if not np.array_equal(at[running - 1], chunks.last * (width + 1) + last_sizes - 1):
        return None
    low, high = np.take(flat, at), np.take(flat[1:], at)
    continued = low >> 7
    if int(np.count_nonzero(continued)) != int(sizes.sum()) - at.size:
        return None  # a varint of 3 bytes or more
    values = (high.astype(np.int32) << (continued * 7)) | ((low & 0x7F) * continued)
    return values.astype(np.int32, copy=False)


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


def _raise_count_mismatch(counts: I64, expected: I64, base: I64, field: str) -> None:
    i = int(np.argmax(counts != expected))
    raise ProtobufError(
        f"{int(counts[i])} values where {int(expected[i])} are expected (as many keys as values)",
        offset=int(base[i]),
        field=field,
    )


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


# -- gathering byte ranges --------------------------------------------------------------------


def unaligned(buffer: U8, dtype: str) -> NDArray[Any]:
    """A view of ``buffer`` where item ``i`` is the ``dtype`` value starting at byte ``i``."""
    itemsize = np.dtype(dtype).itemsize
    count = max(buffer.size - itemsize + 1, 0)
    return np.ndarray((count,), dtype=dtype, buffer=buffer, strides=(1,))


def gather(buffer: U8, starts: I64, ends: I64, dtype: str = "u1") -> NDArray[Any]:
    """The ``dtype`` items of the byte ranges ``[starts[i], ends[i])``, concatenated.

    Range sizes must be multiples of the item size. When all ranges have the
    same size, each is copied as one fixed-size blob. Otherwise the ranges are
    cut in chunks of at most ``_CHUNK_BYTES``, each chunk is copied as one
    fixed-size window and each window's part is kept: the work is about the
    size of the ranges, whatever their spread.
    """
    itemsize = np.dtype(dtype).itemsize
    counts = (ends - starts) // itemsize
    if starts.size == 0:
        return np.zeros(0, dtype=dtype)
    first = int(counts[0])
    if bool((counts == first).all()):
        if first == 0:
            return np.zeros(0, dtype=dtype)
        blobs = unaligned(buffer, f"V{first * itemsize}")[starts]
        return blobs.view(dtype).reshape(-1)
    width = _chunk_width(counts, max(1, _CHUNK_BYTES // itemsize))
    chunks = Chunks.of(starts, counts, width, itemsize)
    rows = windows(buffer, chunks.starts, width * itemsize).view(dtype)
    return rows[prefix_mask(chunks.sizes, width)]


@dataclass(frozen=True, slots=True)
class Chunks:
    """Runs of items cut in chunks of at most ``width`` items: byte start and size of each."""

    starts: I64
    sizes: I64
    #: The index of each run's first and last chunk (for runs holding items).
    first: I64
    last: I64

    @classmethod
    def of(cls, starts: I64, counts: I64, width: int, itemsize: int) -> Chunks:
        """The chunks of the runs of ``counts[i]`` items from byte ``starts[i]``, in order."""
        if bool((counts <= width).all()) and bool(counts.all()):
            every = np.arange(counts.size)
            return cls(starts, counts, every, every)
        per_run = -(-counts // width)
        if not bool(per_run.all()):
            held = np.flatnonzero(per_run)
            starts, counts, per_run = starts[held], counts[held], per_run[held]
        if per_run.size == 0:
            return cls(_NO_INDEX, _NO_INDEX, _NO_INDEX, _NO_INDEX)
        last = np.cumsum(per_run) - 1
        first = last - per_run + 1
        step = width * itemsize
        # Chunk starts as a running sum: +step within a run, a jump to the next run's start.
        jumps = np.full(int(last[-1]) + 1, step, dtype=np.int64)
        jumps[0] = starts[0]
        jumps[first[1:]] = starts[1:] - starts[:-1] - (per_run[:-1] - 1) * step
        sizes = np.full(jumps.size, width, dtype=np.int64)
        sizes[last] = counts - (per_run - 1) * width
        return cls(np.cumsum(jumps), sizes, first, last)


def _chunk_width(counts: I64, chunk: int) -> int:
    """Runs whole, in windows as wide as the widest, unless that wastes more than chunks do."""
    widest = int(counts.max())
    if widest * counts.size <= _WINDOW_WASTE * int(counts.sum()):
        return widest
    return min(widest, chunk)


def windows(buffer: U8, starts: I64, width: int) -> U8:
    """``buffer[starts[i] : starts[i] + width]`` as the rows of a new array, zero-padded."""
    late = starts > buffer.size - width
    if not bool(late.any()):
        return _windows(buffer, starts, width)
    rows = np.flatnonzero(late)
    first = int(starts[rows].min())
    padded = np.zeros(buffer.size - first + width, dtype=np.uint8)
    padded[: buffer.size - first] = buffer[first:]
    if rows.size == starts.size:
        return _windows(padded, starts - first, width)
    out = _windows(buffer, np.minimum(starts, buffer.size - width), width)
    out[rows] = _windows(padded, starts[rows] - first, width)
    return out


def _windows(buffer: U8, starts: I64, width: int) -> U8:
    rows: U8 = unaligned(buffer, f"V{width}")[starts].view(np.uint8)
    return rows.reshape(starts.size, width)


def prefix_mask(counts: I64, width: int) -> NDArray[np.bool_]:
    """A ``(len(counts), width)`` mask, row ``i`` True on its first ``counts[i]`` items.

    Rows are copied whole from a small staircase table (row ``k``: ``k`` Trues),
    cheaper than comparing every cell against its row's count.
    """
    table = np.arange(width) < np.arange(width + 1)[:, None]
    rows = np.take(table.view(f"V{width}").reshape(-1), counts)
    mask: NDArray[np.bool_] = rows.view(np.bool_).reshape(counts.size, width)
    return mask


# -- assembling records ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Const:
    """The same bytes in every record (only where ``present``, when given)."""

    data: bytes
    present: NDArray[np.bool_] | None = None


@dataclass(frozen=True, slots=True)
class Fixed:
    """``matrix[i]`` in record ``i``: the same width in every record."""

    matrix: U8


@dataclass(frozen=True, slots=True)
class Rows:
    """``data[offsets[i]:offsets[i] + sizes[i]]`` in record ``i``, back to back in ``data``."""

    data: U8
    sizes: I64


@dataclass(frozen=True, slots=True)
class Zeros:
    """Zero bytes (padding)."""

    sizes: Length


Piece = Const | Fixed | Rows | Zeros


def piece_length(piece: Piece) -> Length:
    if isinstance(piece, Const):
        if piece.present is None:
            return len(piece.data)
        return piece.present.astype(np.int64) * len(piece.data)
    if isinstance(piece, Fixed):
        return int(piece.matrix.shape[1])
    return piece.sizes


def total_length(pieces: list[Piece]) -> Length:
    total: Length = 0
    for piece in pieces:
        total = total + piece_length(piece)
    return total


def varint_piece(value: Length, present: NDArray[np.bool_] | None = None) -> Piece:
    """A varint per record (the same bytes for all when ``value`` is one int)."""
    if isinstance(value, int):
        return Const(encode_varint(value), present)
    values = value if present is None else value[present]
    data, sizes = encode_varints(values.astype(np.uint64))
    if present is None:
        return Rows(data, sizes)
    all_sizes = np.zeros(value.shape, dtype=np.int64)
    all_sizes[present] = sizes
    return Rows(data, all_sizes)


def message_field(
    number: int, body: list[Piece], present: NDArray[np.bool_] | None = None
) -> list[Piece]:
    """A length-delimited field (wire type 2) around ``body``; omitted where not ``present``."""
    tag = encode_varint(number << 3 | 2)
    return [Const(tag, present), varint_piece(total_length(body), present), *body]


def _uniform(length: Length) -> int | None:
    if isinstance(length, int):
        return length
    if length.size == 0:
        return 0
    first = int(length[0])
    return first if bool((length == first).all()) else None


def assemble(pieces: list[Piece], count: int) -> tuple[U8, I64]:
    """Build ``count`` records from ``pieces``: (all bytes back to back, size of each record)."""
    widths = [_uniform(piece_length(piece)) for piece in pieces]
    if all(width is not None for width in widths):
        return _assemble_fixed(pieces, [w or 0 for w in widths], count)
    return _assemble_general(pieces, count)


def _assemble_fixed(pieces: list[Piece], widths: list[int], count: int) -> tuple[U8, I64]:
    size = sum(widths)
    out = np.empty((count, size), dtype=np.uint8)
    column = 0
    for piece, width in zip(pieces, widths, strict=True):
        if width == 0:
            continue
        block = out[:, column : column + width]
        if isinstance(piece, Const):
            block[...] = np.frombuffer(piece.data, dtype=np.uint8)
        elif isinstance(piece, Fixed):
            block[...] = piece.matrix
        elif isinstance(piece, Rows):
            block[...] = piece.data.reshape(count, width)
        else:
            block[...] = 0
        column += width
    return out.reshape(-1), np.full(count, size, dtype=np.int64)


def _assemble_general(pieces: list[Piece], count: int) -> tuple[U8, I64]:
    sizes = np.zeros(count, dtype=np.int64)
    for piece in pieces:
        sizes += piece_length(piece)
    ends = np.cumsum(sizes)
    out = np.empty(int(ends[-1]) if count else 0, dtype=np.uint8)
    cursor = ends - sizes
    for piece in pieces:
        if isinstance(piece, Const):
            rows = cursor if piece.present is None else cursor[piece.present]
            for k, byte in enumerate(piece.data):
                out[rows + k] = byte
            cursor = cursor + piece_length(piece)
        elif isinstance(piece, Fixed):
            width = int(piece.matrix.shape[1])
            if 0 < width <= _SMALL_ROWS_BYTES:
                out[cursor[:, None] + np.arange(width)] = piece.matrix
            elif width:
                matrix = np.ascontiguousarray(piece.matrix).reshape(-1)
                _scatter_rows(out, cursor, Rows(matrix, np.full(count, width, dtype=np.int64)))
            cursor = cursor + width
        elif isinstance(piece, Rows):
            _scatter_rows(out, cursor, piece)
            cursor = cursor + piece.sizes
        else:
            _write_zeros(out, cursor, piece.sizes, count)
            cursor = cursor + piece.sizes
    return out, sizes


def _scatter_rows(out: U8, cursor: I64, piece: Rows) -> None:
    sizes = piece.sizes
    if piece.data.size == 0:
        return
    longest = int(sizes.max())
    if longest <= _SMALL_ROWS_BYTES:
        source = np.cumsum(sizes) - sizes
        selected = np.flatnonzero(sizes)
        for k in range(longest):
            if k:
                selected = selected[sizes[selected] > k]
            out[cursor[selected] + k] = piece.data[source[selected] + k]
        return
    nonempty = sizes > 0
    starts = cursor[nonempty]
    ends = starts + sizes[nonempty]
    lo, hi = int(starts[0]), int(ends[-1])
    delta = np.zeros(hi - lo + 1, dtype=np.int8)
    delta[starts - lo] = 1
    delta[ends - lo] -= 1
    keep = np.cumsum(delta[:-1], dtype=np.int8).view(np.bool_)
    out[lo:hi][keep] = piece.data


def _write_zeros(out: U8, cursor: I64, sizes: Length, count: int) -> None:
    widths = np.broadcast_to(np.asarray(sizes, dtype=np.int64), (count,))
    for k in range(int(widths.max()) if count else 0):
        out[cursor[widths > k] + k] = 0
