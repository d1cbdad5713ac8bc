"""Vectorised byte plumbing shared by the binary formats.

Three tools, each working on whole columns of records at once rather than one
record at a time:

- protobuf base-128 varints, encoded for a whole array (decoded in ``_varints``);
- ``gather`` / ``compact``: the concatenation of many byte ranges of one
  buffer, by overlapping fixed-size copies, and ``windows``: a fixed-size
  window of bytes at many positions;
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

U8 = NDArray[np.uint8]
I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]
Length = int | I64

_SMALL_ROWS_BYTES = 16
#: ``compact`` copies each range in one window as wide as the widest, if that is at most
#: ``_WIDEST_WINDOW`` bytes and copies at most ``_WINDOW_WASTE`` times the bytes of the
#: ranges (the windows are held in memory at once); otherwise in chunks of ``_CHUNK_BYTES``.
_WINDOW_WASTE = 3
_WIDEST_WINDOW = 1024
_CHUNK_BYTES = 256


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


# -- gathering byte ranges --------------------------------------------------------------------


def unaligned(buffer: U8, dtype: str) -> NDArray[Any]:
    """A view of ``buffer`` where item ``i`` is the ``dtype`` value starting at byte ``i``."""
    itemsize = np.dtype(dtype).itemsize
    count = max(buffer.size - itemsize + 1, 0)
    return np.ndarray((count,), dtype=dtype, buffer=buffer, strides=(1,))


def gather(buffer: U8, starts: I64, ends: I64, dtype: str = "u1") -> NDArray[Any]:
    """The ``dtype`` items of the byte ranges ``[starts[i], ends[i])``, concatenated.

    Range sizes must be multiples of the item size. When all ranges have the
    same size, each is copied as one fixed-size blob; otherwise see ``compact``.
    """
    sizes = ends - starts
    if starts.size == 0:
        return np.zeros(0, dtype=dtype)
    first = int(sizes[0])
    if bool((sizes == first).all()):
        if first == 0:
            return np.zeros(0, dtype=dtype)
        blobs = unaligned(buffer, f"V{first}")[starts]
        return blobs.view(dtype).reshape(-1)
    return compact(buffer, starts, sizes).view(dtype)


def compact(buffer: U8, starts: I64, sizes: I64, lead: int = 0) -> U8:
    """The byte ranges ``buffer[starts[i] : starts[i] + sizes[i]]`` end to end.

    After ``lead`` zero bytes. Each range is copied as one fixed-size window
    (as wide as the widest range, or a chunk of it when ranges differ a lot),
    gathered from the buffer in one pass and written to where the range goes
    in the output in a second: in range order, so that the part of each
    window past its range is overwritten by the next one. Two passes of
    memcpy, whatever the sizes, instead of selecting bytes one by one.
    """
    if not bool(sizes.any()):
        return np.zeros(lead, dtype=np.uint8)
    width = _window_width(sizes)
    if width < int(sizes.max()):
        starts, sizes = _chunks(starts, sizes, width)
    total = int(sizes.sum())
    out = np.empty(lead + total + width, dtype=np.uint8)
    out[:lead] = 0
    rows = windows(buffer, starts, width).view(f"V{width}").reshape(-1)
    unaligned(out, f"V{width}")[np.cumsum(sizes) - sizes + lead] = rows
    return out[: lead + total]


def _window_width(sizes: I64) -> int:
    """Windows as wide as the widest range, unless most of their bytes would be padding."""
    widest = int(sizes.max())
    if widest <= _WIDEST_WINDOW and widest * sizes.size <= _WINDOW_WASTE * int(sizes.sum()):
        return widest
    return min(widest, _CHUNK_BYTES)


def _chunks(starts: I64, sizes: I64, width: int) -> tuple[I64, I64]:
    """The ranges cut in chunks of at most ``width`` bytes, in order: (starts, sizes)."""
    per_range = -(-sizes // width)
    if not bool(per_range.all()):
        held = np.flatnonzero(per_range)
        starts, sizes, per_range = starts[held], sizes[held], per_range[held]
    last = np.cumsum(per_range) - 1
    first = last - per_range + 1
    # Chunk starts as a running sum: +width within a range, a jump to the next range's start.
    jumps = np.full(int(last[-1]) + 1, width, dtype=np.int64)
    jumps[0] = starts[0]
    jumps[first[1:]] = starts[1:] - starts[:-1] - (per_range[:-1] - 1) * width
    chunk_sizes = np.full(jumps.size, width, dtype=np.int64)
    chunk_sizes[last] = sizes - (per_range - 1) * width
    return np.cumsum(jumps), chunk_sizes


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
