"""Vectorised decoding of ``aialgs.data.Record`` messages, all records in lockstep.

A protobuf message is a run of ``tag | payload`` fields. Instead of parsing one
record after another, ``walk`` reads the first field of *every* message of a
level at once (one gather per step), then the second field of those that have
one, and so on: the number of steps is the largest number of fields in one
message (2 for a Record, 2 for a map entry, 1 for a Value, 3 for a tensor),
not the number of records. Each level hands the byte ranges of the fields it
cares about to the next level down. Unknown fields are skipped as proto2
requires; packed and unpacked repeated fields are both accepted, as are
repeated occurrences of one field (concatenated) and of a oneof (last wins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from modelyard.formats._varints import (
    Varints,
    decode_packed_varints,
    read_varints_at,
    varints_as_int32,
)
from modelyard.formats._vec import I64, U8, U64, gather
from modelyard.formats.errors import ProtobufError

#: Value oneof field numbers, which double as our tensor kind codes.
KIND_NONE, KIND_FLOAT32, KIND_FLOAT64, KIND_INT32, KIND_BYTES = 0, 2, 3, 7, 9
KIND_NAMES = {
    KIND_FLOAT32: "float32_tensor",
    KIND_FLOAT64: "float64_tensor",
    KIND_INT32: "int32_tensor",
    KIND_BYTES: "bytes",
}
KIND_DTYPES: dict[int, np.dtype[np.generic]] = {
    KIND_FLOAT32: np.dtype(np.float32),
    KIND_FLOAT64: np.dtype(np.float64),
    KIND_INT32: np.dtype(np.int32),
}
_VALUES_KEY = np.frombuffer(b"values", dtype=np.uint8)
_EMPTY = np.zeros(0, dtype=np.int64)
_ZERO = np.zeros(1, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Fields:
    """Every field of a set of messages: which message, number, wire type, payload range."""

    owner: I64
    number: I64
    wire: I64
    start: I64
    end: I64

    def select(
        self, number: int, wires: tuple[int, ...], *, name: str
    ) -> tuple[I64, I64, I64, I64]:
        """Occurrences of field ``number`` in buffer order: (owner, wire, start, end)."""
        mask = self.number == number
        if not mask.any():
            return _EMPTY, _EMPTY, _EMPTY, _EMPTY
        owner, wire = self.owner[mask], self.wire[mask]
        start, end = self.start[mask], self.end[mask]
        bad = ~np.isin(wire, wires)
        if bool(bad.any()):
            i = int(np.argmax(bad))
            raise ProtobufError(
                f"wire type {int(wire[i])} where {'/'.join(map(str, wires))} is expected",
                offset=int(start[i]),
                field=name,
            )
        if start.size > 1 and not bool((start[1:] > start[:-1]).all()):
            order = np.argsort(start, kind="stable")
            owner, wire, start, end = owner[order], wire[order], start[order], end[order]
        return owner, wire, start, end


def walk(buffer: U8, starts: I64, ends: I64, *, name: str) -> Fields:
    """All fields of the messages ``buffer[starts[i]:ends[i]]``, read in lockstep."""
    cursor = starts.copy()
    active = np.flatnonzero(cursor < ends)
    parts: list[tuple[I64, I64, I64, I64, I64]] = []
    while active.size:
        limits = ends[active]
        tags, positions = read_varints_at(buffer, cursor[active], limits, field=name)
        number = (tags >> np.uint64(3)).astype(np.int64)
        wire = (tags & np.uint64(7)).astype(np.int64)
        if bool((number == 0).any()) or bool((tags >> np.uint64(32)).any()):
            i = int(np.argmax((number == 0) | (tags >= 1 << 32)))
            raise ProtobufError("invalid field number 0", offset=int(cursor[active][i]), field=name)
        payload_start = positions.copy()
        if bool((wire == 2).all()):
            sizes, payload_start = read_varints_at(buffer, positions, limits, field=name)
            payload_end = _checked_end(payload_start, sizes, limits, name)
        else:
            payload_end = np.empty_like(positions)
            for wire_type, width in ((1, 8), (5, 4)):
                chosen = wire == wire_type
                payload_end[chosen] = positions[chosen] + width
            chosen = wire == 0
            if chosen.any():
                _, after = read_varints_at(buffer, positions[chosen], limits[chosen], field=name)
                payload_end[chosen] = after
            chosen = wire == 2
            if chosen.any():
                sizes, begin = read_varints_at(
                    buffer, positions[chosen], limits[chosen], field=name
                )
                payload_start[chosen] = begin
                payload_end[chosen] = _checked_end(begin, sizes, limits[chosen], name)
            invalid = ~np.isin(wire, (0, 1, 2, 5))
            if bool(invalid.any()):
                i = int(np.argmax(invalid))
                raise ProtobufError(
                    f"unsupported wire type {int(wire[i])} (field {int(number[i])})",
                    offset=int(cursor[active][i]),
                    field=name,
                )
            overrun = payload_end > limits
            if bool(overrun.any()):
                i = int(np.argmax(overrun))
                raise ProtobufError(
                    f"truncated field {int(number[i])}", offset=int(positions[i]), field=name
                )
        parts.append((active, number, wire, payload_start, payload_end))
        cursor[active] = payload_end
        active = active[payload_end < limits]
    if not parts:
        return Fields(_EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
    if len(parts) == 1:
        return Fields(*parts[0])
    columns = [np.concatenate(column) for column in zip(*parts, strict=True)]
    return Fields(*columns)


def _checked_end(begin: I64, sizes: U64, limits: I64, name: str) -> I64:
    room = (limits - begin).astype(np.uint64)
    overrun = sizes > room
    if bool(overrun.any()):
        i = int(np.argmax(overrun))
        raise ProtobufError(
            f"truncated length-delimited field: {int(sizes[i])} bytes declared,"
            f" {int(room[i])} remain",
            offset=int(begin[i]),
            field=name,
        )
    return begin + sizes.astype(np.int64)


def _last_per_owner(owner: I64) -> NDArray[np.bool_]:
    """For occurrences sorted by owner: True on the last one of each owner."""
    last = np.ones(owner.size, dtype=bool)
    if owner.size > 1:
        last[:-1] = owner[1:] != owner[:-1]
    return last


@dataclass(frozen=True, slots=True)
class TensorBatch:
    """One tensor per record (the map entry chosen by key): values, keys and shape, flat."""

    count: int
    kind: NDArray[np.int8]
    values: NDArray[np.generic]
    value_counts: I64
    keys: Varints
    key_counts: I64
    shape: Varints
    shape_counts: I64


def map_tensors(
    buffer: U8, record_fields: Fields, count: int, map_field: int
) -> TensorBatch | None:
    """The tensors of map ``map_field`` (1 features, 2 label) under the key ``"values"``.

    When no record uses the key ``"values"`` but every record has exactly one
    entry, that entry is taken whatever its key. ``None`` when no record has
    the map at all.
    """
    name = "Record.features" if map_field == 1 else "Record.label"
    owner, _, start, end = record_fields.select(map_field, (2,), name=name)
    if owner.size == 0:
        return None
    entries = walk(buffer, start, end, name=f"{name} entry")
    key_owner, _, key_start, key_end = entries.select(1, (2,), name=f"{name} key")
    value_owner, _, value_start, value_end = entries.select(2, (2,), name=f"{name} value")

    is_values = np.zeros(owner.size, dtype=bool)
    if key_owner.size:
        last = _last_per_owner(key_owner)
        key_owner, key_start, key_end = key_owner[last], key_start[last], key_end[last]
        six = np.flatnonzero(key_end - key_start == 6)
        if six.size:
            window = buffer[key_start[six, None] + np.arange(6)]
            matches = (window == _VALUES_KEY).all(axis=1)
            is_values[key_owner[six[matches]]] = True
    if is_values.any():
        chosen = np.flatnonzero(is_values)
    else:
        entries_per_record = np.bincount(owner, minlength=count)
        if bool((entries_per_record > 1).any()):
            record = int(np.argmax(entries_per_record > 1))
            raise ProtobufError(
                f"record {record} has several {name} entries and none named 'values'",
                field=name,
            )
        chosen = np.arange(owner.size)
    chosen = chosen[_last_per_owner(owner[chosen])]
    record_of_entry = owner[chosen]

    # The Value message of each chosen entry (an absent value is an empty Value).
    value_begin = np.zeros(owner.size, dtype=np.int64)
    value_stop = np.zeros(owner.size, dtype=np.int64)
    if value_owner.size:
        last = _last_per_owner(value_owner)
        value_begin[value_owner[last]] = value_start[last]
        value_stop[value_owner[last]] = value_end[last]
    value_fields = walk(buffer, value_begin[chosen], value_stop[chosen], name=f"{name} Value")
    kind = np.zeros(chosen.size, dtype=np.int8)
    tensor_begin = np.zeros(chosen.size, dtype=np.int64)
    tensor_stop = np.zeros(chosen.size, dtype=np.int64)
    oneof = np.isin(value_fields.number, tuple(KIND_NAMES))
    if oneof.any():
        which = np.flatnonzero(oneof)
        which = which[np.argsort(value_fields.start[which], kind="stable")]
        which = which[_last_per_owner(value_fields.owner[which])]
        bad_wire = value_fields.wire[which] != 2
        if bool(bad_wire.any()):
            i = int(which[np.argmax(bad_wire)])
            raise ProtobufError(
                "a Value's tensor must be length-delimited (wire type 2)",
                offset=int(value_fields.start[i]),
                field=f"{name} Value",
            )
        holders = value_fields.owner[which]
        kind[holders] = value_fields.number[which]
        tensor_begin[holders] = value_fields.start[which]
        tensor_stop[holders] = value_fields.end[which]
    if bool((kind == KIND_BYTES).any()):
        i = int(np.argmax(kind == KIND_BYTES))
        raise ProtobufError(
            f"record {int(record_of_entry[i])} holds Bytes, not a tensor: use read_records()",
            offset=int(tensor_begin[i]),
            field=f"{name} Value.bytes",
        )
    tensors = walk(buffer, tensor_begin, tensor_stop, name=f"{name} tensor")
    values, value_counts = _tensor_values(buffer, tensors, kind, name)
    keys, key_counts = _packed_uint64(buffer, tensors, 2, chosen.size, f"{name} tensor.keys")
    shape, shape_counts = _packed_uint64(buffer, tensors, 3, chosen.size, f"{name} tensor.shape")

    def per_record(column: I64) -> I64:
        out = np.zeros(count, dtype=np.int64)
        out[record_of_entry] = column
        return out

    full_kind = np.zeros(count, dtype=np.int8)
    full_kind[record_of_entry] = kind
    return TensorBatch(
        count=count,
        kind=full_kind,
        values=values,
        value_counts=per_record(value_counts),
        keys=keys,
        key_counts=per_record(key_counts),
        shape=shape,
        shape_counts=per_record(shape_counts),
    )


def _sum_per_owner(owner: I64, amounts: I64, size: int) -> I64:
    if owner.size == 0:
        return np.zeros(size, dtype=np.int64)
    if owner.size == size:  # one segment per owner (owners ascend): nothing to add up
        return amounts.astype(np.int64, copy=False)
    return np.bincount(owner, weights=amounts, minlength=size).astype(np.int64)


def _packed_uint64(
    buffer: U8, tensors: Fields, number: int, size: int, name: str
) -> tuple[Varints, I64]:
    owner, _, start, end = tensors.select(number, (0, 2), name=name)
    return uint64_segments(buffer, owner, start, end, size, name)


def uint64_segments(
    buffer: U8,
    owner: I64,
    start: I64,
    end: I64,
    size: int,
    name: str,
) -> tuple[Varints, I64]:
    """Packed (or single) uint64 varints of each segment: all values, and count per owner."""
    if owner.size == 0:
        return np.zeros(0, dtype=np.uint16), np.zeros(size, dtype=np.int64)
    width = int(end[0] - start[0])
    if 0 < width <= 16 and bool((end - start == width).all()):
        rows = gather(buffer, start, end).reshape(-1, width)
        if bool((rows == rows[0]).all()):
            # The same bytes in every record (a sparse row's shape): decode them once.
            values, counts = decode_packed_varints(
                rows[0], _ZERO, np.array([width]), field=name, base=start[:1]
            )
            per_owner = _sum_per_owner(owner, np.full(owner.size, int(counts[0])), size)
            return np.tile(values, owner.size), per_owner
    data = gather(buffer, start, end)
    offsets = np.cumsum(end - start)
    values, counts = decode_packed_varints(
        data, offsets - (end - start), offsets, field=name, base=start
    )
    return values, _sum_per_owner(owner, counts, size)


def _tensor_values(
    buffer: U8, tensors: Fields, kind: NDArray[np.int8], name: str
) -> tuple[NDArray[np.generic], I64]:
    owner, wire, start, end = tensors.select(1, (0, 1, 2, 5), name=f"{name}.values")
    return value_segments(buffer, owner, wire, start, end, kind, name)


def value_segments(
    buffer: U8,
    owner: I64,
    wire: I64,
    start: I64,
    end: I64,
    kind: NDArray[np.int8],
    name: str,
) -> tuple[NDArray[np.generic], I64]:
    """The values of every tensor (segments of its values field), flat, and count per tensor."""
    size = kind.size
    kinds_present = [k for k in (KIND_FLOAT32, KIND_FLOAT64, KIND_INT32) if (kind == k).any()]
    if owner.size == 0 or not kinds_present:
        dtype = KIND_DTYPES[kinds_present[0]] if kinds_present else np.dtype(np.float32)
        return np.zeros(0, dtype=dtype), np.zeros(size, dtype=np.int64)
    owner_kind = kind[owner]
    pieces: list[tuple[NDArray[np.bool_], NDArray[np.generic], I64]] = []
    for k in kinds_present:
        mine = owner_kind == k
        allowed = {KIND_FLOAT32: (2, 5), KIND_FLOAT64: (1, 2), KIND_INT32: (0, 2)}[k]
        bad = mine & ~np.isin(wire, allowed)
        if bool(bad.any()):
            i = int(np.argmax(bad))
            raise ProtobufError(
                f"wire type {int(wire[i])} for {KIND_NAMES[k]} values",
                offset=int(start[i]),
                field=f"{name}.values",
            )
        s, e = start[mine], end[mine]
        if k == KIND_INT32:
            data = gather(buffer, s, e)
            offsets = np.cumsum(e - s)
            decoded, counts = decode_packed_varints(
                data, offsets - (e - s), offsets, field=f"{name}.values", base=s
            )
            values: NDArray[np.generic] = varints_as_int32(decoded)
        else:
            width = 4 if k == KIND_FLOAT32 else 8
            odd = (e - s) % width != 0
            if bool(odd.any()):
                i = int(np.argmax(odd))
                raise ProtobufError(
                    f"packed {KIND_NAMES[k]} values of {int(e[i] - s[i])} bytes,"
                    f" not a multiple of {width}",
                    offset=int(s[i]),
                    field=f"{name}.values",
                )
            values = gather(buffer, s, e, "<f4" if width == 4 else "<f8")
            counts = (e - s) // width
        pieces.append((mine, values, counts))
    if len(pieces) == 1:
        mine, values, counts = pieces[0]
        return values, _sum_per_owner(owner[mine], counts, size)
    return _merge_kinds(owner, pieces, size)


def _merge_kinds(
    owner: I64, pieces: list[tuple[NDArray[np.bool_], NDArray[np.generic], I64]], size: int
) -> tuple[NDArray[np.generic], I64]:
    """Records of different tensor types: values merged in record order, common dtype."""
    dtype = np.result_type(*[values.dtype for _, values, _ in pieces])
    segment_counts = np.zeros(owner.size, dtype=np.int64)
    for mine, _, counts in pieces:
        segment_counts[mine] = counts
    segment_offsets = np.cumsum(segment_counts) - segment_counts
    out = np.empty(int(segment_counts.sum()), dtype=dtype)
    for mine, values, counts in pieces:
        firsts = segment_offsets[mine]
        positions = np.repeat(firsts - (np.cumsum(counts) - counts), counts)
        out[positions + np.arange(values.size)] = values
    return out, _sum_per_owner(owner, segment_counts, size)
