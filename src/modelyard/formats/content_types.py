"""The content-type registry: a MIME type -> the ``Codec`` that reads and writes it.

Endpoints (the ``Content-Type`` of a request, the ``Accept`` of a response),
batch transform and the SDK's serializers all resolve formats here. Lookup is
case-insensitive and ignores parameters (``text/csv; charset=utf-8`` is
``text/csv``); an unknown type raises ``UnsupportedContentTypeError`` (HTTP
415) listing the supported ones.

Each codec has ``decode(body) -> object`` (its natural type: an array for CSV,
NPY and RecordIO-protobuf; Python objects for JSON; a list for JSON Lines; a
pandas DataFrame for Parquet; a ``pyarrow.Table`` for Arrow; ``SparseRows`` for
libsvm), ``encode(data) -> bytes``, and ``decode_array(body)`` for the
default handlers that want a 2-D NumPy array whatever came in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from modelyard.formats import delimited, jsonlines, libsvm, npy, parquet, recordio_protobuf
from modelyard.formats.errors import UnsupportedContentTypeError

__all__ = [
    "Codec",
    "decode",
    "encode",
    "get_codec",
    "normalize_content_type",
    "register_codec",
    "select_codec_for_accept",
    "supported_content_types",
]


@dataclass(frozen=True)
class Codec:
    content_type: str
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    to_array: Callable[[Any], NDArray[Any]] = np.asarray
    aliases: tuple[str, ...] = field(default=())

    def decode_array(self, body: bytes) -> NDArray[Any]:
        """The body as a NumPy array (what default inference handlers feed a model)."""
        return self.to_array(self.decode(body))


def normalize_content_type(content_type: str) -> str:
    """``"Text/CSV; charset=utf-8"`` -> ``"text/csv"``."""
    return content_type.split(";", 1)[0].strip().lower()


def _json_array(data: Any) -> NDArray[Any]:
    if isinstance(data, dict) and len(data) == 1 and ("instances" in data or "inputs" in data):
        data = next(iter(data.values()))
    return np.asarray(data)


def _recordio_decode(body: bytes) -> NDArray[Any]:
    return recordio_protobuf.decode_to_numpy(body)[0]


def _recordio_encode(data: Any) -> bytes:
    if hasattr(data, "tocsr"):
        return recordio_protobuf.encode_sparse(data)
    array = np.asarray(data)
    return recordio_protobuf.encode_dense(array.reshape(1, -1) if array.ndim < 2 else array)


def _libsvm_encode(data: Any) -> bytes:
    if isinstance(data, tuple) and len(data) == 2:
        return libsvm.write_libsvm(data[0], data[1])
    return libsvm.write_libsvm(data)


def _table_array(table: Any) -> NDArray[Any]:
    return np.column_stack([column.to_numpy() for column in table.columns])


_REGISTRY: dict[str, Codec] = {}
_CANONICAL: list[str] = []


def register_codec(codec: Codec) -> None:
    """Add (or replace) a codec under its content type and aliases."""
    key = normalize_content_type(codec.content_type)
    if key not in _CANONICAL:
        _CANONICAL.append(key)
    for name in (key, *codec.aliases):
        _REGISTRY[normalize_content_type(name)] = codec


def supported_content_types() -> tuple[str, ...]:
    return tuple(_CANONICAL)


def get_codec(content_type: str) -> Codec:
    codec = _REGISTRY.get(normalize_content_type(content_type))
    if codec is None:
        raise UnsupportedContentTypeError(content_type, supported_content_types())
    return codec


def decode(body: bytes, content_type: str) -> Any:
    return get_codec(content_type).decode(body)


def encode(data: Any, content_type: str) -> bytes:
    return get_codec(content_type).encode(data)


def select_codec_for_accept(accept: str | None, default: str = "application/json") -> Codec:
    """The codec for an ``Accept`` header: highest quality first, ``*/*`` (or none) -> default."""
    if not accept or not accept.strip():
        return get_codec(default)
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, position, media.lower()))
    for _, _, media in sorted(ranked):
        if media in ("*/*", "*"):
            return get_codec(default)
        if media.endswith("/*"):
            prefix = media[:-1]
            for name in _CANONICAL:
                if name.startswith(prefix):
                    return _REGISTRY[name]
            continue
        if media in _REGISTRY:
            return _REGISTRY[media]
    raise UnsupportedContentTypeError(accept, supported_content_types())


for _codec in (
    Codec(delimited.CONTENT_TYPE, delimited.read_csv, delimited.write_csv, aliases=("text/x-csv",)),
    Codec(jsonlines.JSON_CONTENT_TYPE, jsonlines.read_json, jsonlines.write_json, _json_array),
    Codec(
        jsonlines.JSONLINES_CONTENT_TYPE,
        jsonlines.read_jsonlines,
        jsonlines.write_jsonlines,
        aliases=("application/x-jsonlines", "application/jsonl"),
    ),
    Codec(recordio_protobuf.CONTENT_TYPE, _recordio_decode, _recordio_encode),
    Codec(
        parquet.CONTENT_TYPE,
        parquet.read_parquet,
        parquet.write_parquet,
        lambda frame: np.asarray(frame.to_numpy()),
        aliases=("application/parquet", "application/vnd.apache.parquet"),
    ),
    Codec(parquet.ARROW_CONTENT_TYPE, parquet.read_arrow, parquet.write_arrow, _table_array),
    Codec(npy.CONTENT_TYPE, npy.read_npy, npy.write_npy),
    Codec(
        libsvm.CONTENT_TYPE,
        libsvm.read_libsvm,
        _libsvm_encode,
        lambda rows: rows.to_dense(),
        aliases=("text/x-libsvm",),
    ),
):
    register_codec(_codec)
