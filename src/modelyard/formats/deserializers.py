"""Deserializers with the sagemaker SDK v2's names, constructor arguments and behaviour.

``deserialize(stream, content_type)`` reads a response body (a file-like
object, closed afterwards as the SDK does) and ``ACCEPT`` is the tuple of MIME
types asked for. Content types are compared without case and parameters (the
SDK compares exact strings). The SDK imports pandas at import time; these do not.
"""

from __future__ import annotations

import abc
import codecs
import csv
import io
import json
from typing import Any

import numpy as np

from modelyard.formats.content_types import normalize_content_type
from modelyard.formats.errors import import_optional
from modelyard.formats.recordio_protobuf import read_records

__all__ = [
    "BaseDeserializer",
    "BytesDeserializer",
    "CSVDeserializer",
    "JSONDeserializer",
    "JSONLinesDeserializer",
    "NumpyDeserializer",
    "PandasDeserializer",
    "RecordDeserializer",
    "SimpleBaseDeserializer",
    "StreamDeserializer",
    "StringDeserializer",
]


class BaseDeserializer(abc.ABC):
    """Turns a response body into an object; ``ACCEPT`` names the MIME types expected."""

    @abc.abstractmethod
    def deserialize(self, stream: Any, content_type: str) -> Any: ...

    @property
    @abc.abstractmethod
    def ACCEPT(self) -> tuple[str, ...]: ...  # noqa: N802  (the SDK's name)


class SimpleBaseDeserializer(BaseDeserializer):
    def __init__(self, accept: str | tuple[str, ...] = "*/*") -> None:
        self.accept = accept

    @property
    def ACCEPT(self) -> tuple[str, ...]:  # noqa: N802
        if isinstance(self.accept, str):
            return (self.accept,)
        return self.accept


class StringDeserializer(SimpleBaseDeserializer):
    def __init__(self, encoding: str = "UTF-8", accept: str | tuple[str, ...] = "application/json"):
        super().__init__(accept=accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            return stream.read().decode(self.encoding)
        finally:
            stream.close()


class BytesDeserializer(SimpleBaseDeserializer):
    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            return stream.read()
        finally:
            stream.close()


class CSVDeserializer(SimpleBaseDeserializer):
    """A list of rows, each a list of strings."""

    def __init__(self, encoding: str = "utf-8", accept: str | tuple[str, ...] = "text/csv"):
        super().__init__(accept=accept)
        self.encoding = encoding

    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            return list(csv.reader(stream.read().decode(self.encoding).splitlines()))
        finally:
            stream.close()


class StreamDeserializer(SimpleBaseDeserializer):
    """The stream and its content type, unread (the caller closes it)."""

    def deserialize(self, stream: Any, content_type: str) -> Any:
        return stream, content_type


class NumpyDeserializer(SimpleBaseDeserializer):
    """A NumPy array from ``.npy``, ``.npz``, UTF-8 CSV or JSON."""

    def __init__(
        self,
        dtype: Any = None,
        accept: str | tuple[str, ...] = "application/x-npy",
        allow_pickle: bool = False,
    ) -> None:
        super().__init__(accept=accept)
        self.dtype = dtype
        self.allow_pickle = allow_pickle

    def deserialize(self, stream: Any, content_type: str) -> Any:
        kind = normalize_content_type(content_type)
        try:
            if kind == "text/csv":
                return np.genfromtxt(
                    codecs.getreader("utf-8")(stream), delimiter=",", dtype=self.dtype
                )
            if kind == "application/json":
                return np.array(json.load(codecs.getreader("utf-8")(stream)), dtype=self.dtype)
            if kind in ("application/x-npy", "application/x-npz"):
                try:
                    return np.load(io.BytesIO(stream.read()), allow_pickle=self.allow_pickle)
                except ValueError as exc:
                    raise ValueError(
                        "Please set the param allow_pickle=True to deserialize pickle objects "
                        "in NumpyDeserializer"
                    ) from exc
        finally:
            stream.close()
        raise ValueError(f"NumpyDeserializer cannot read content type {content_type}.")


class JSONDeserializer(SimpleBaseDeserializer):
    def __init__(self, accept: str | tuple[str, ...] = "application/json") -> None:
        super().__init__(accept=accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            return json.load(codecs.getreader("utf-8")(stream))
        finally:
            stream.close()


class PandasDeserializer(SimpleBaseDeserializer):
    """A pandas DataFrame from CSV (with a header row) or JSON (``columns`` orient)."""

    def __init__(self, accept: str | tuple[str, ...] = ("text/csv", "application/json")) -> None:
        super().__init__(accept=accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        pandas = import_optional("pandas", "PandasDeserializer")
        kind = normalize_content_type(content_type)
        if kind == "text/csv":
            return pandas.read_csv(stream)
        if kind == "application/json":
            return pandas.read_json(stream)
        raise ValueError(f"PandasDeserializer cannot read content type {content_type}.")


class JSONLinesDeserializer(SimpleBaseDeserializer):
    def __init__(self, accept: str | tuple[str, ...] = "application/jsonlines") -> None:
        super().__init__(accept=accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            body = stream.read().decode("utf-8")
            return [json.loads(line) for line in body.rstrip().split("\n")]
        finally:
            stream.close()


class RecordDeserializer(SimpleBaseDeserializer):
    """A list of ``Record`` objects (``modelyard.formats.records.Record``)."""

    def __init__(self, accept: str | tuple[str, ...] = "application/x-recordio-protobuf") -> None:
        super().__init__(accept=accept)

    def deserialize(self, stream: Any, content_type: str) -> Any:
        try:
            return read_records(stream)
        finally:
            stream.close()
