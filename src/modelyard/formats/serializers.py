"""Serializers with the sagemaker SDK v2's names, constructor arguments and behaviour.

``serialize(data)`` returns what the SDK's class returns (a ``str`` for CSV and
JSON, ``bytes`` for NPY, an ``io.BytesIO`` for RecordIO-protobuf), and
``CONTENT_TYPE`` is the request's Content-Type, so code written for
``sagemaker.serializers`` works unchanged with ``modelyard.serializers``. The
SDK imports pandas at import time; these do not.
"""

from __future__ import annotations

import abc
import csv
import io
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from modelyard.formats import libsvm, recordio_protobuf
from modelyard.formats.errors import import_optional

__all__ = [
    "BaseSerializer",
    "CSVSerializer",
    "DataSerializer",
    "IdentitySerializer",
    "JSONLinesSerializer",
    "JSONSerializer",
    "LibSVMSerializer",
    "NumpySerializer",
    "RecordSerializer",
    "SimpleBaseSerializer",
    "SparseMatrixSerializer",
    "StringSerializer",
]


class BaseSerializer(abc.ABC):
    """Turns request data into a body; ``CONTENT_TYPE`` names its MIME type."""

    @abc.abstractmethod
    def serialize(self, data: Any) -> Any: ...

    @property
    @abc.abstractmethod
    def CONTENT_TYPE(self) -> str: ...  # noqa: N802  (the SDK's name)


class SimpleBaseSerializer(BaseSerializer):
    """A serializer whose content type is set at construction."""

    def __init__(self, content_type: str = "application/json") -> None:
        if not isinstance(content_type, str):
            raise ValueError(
                "content_type must be a string specifying the MIME type of the data sent in "
                f"requests: e.g. 'application/json', 'text/csv', etc. Got {content_type}"
            )
        self.content_type = content_type

    @property
    def CONTENT_TYPE(self) -> str:  # noqa: N802
        return self.content_type


def _is_dataframe(data: Any) -> bool:
    return type(data).__module__.startswith("pandas") and hasattr(data, "to_csv")


class CSVSerializer(SimpleBaseSerializer):
    """Rows joined by newlines (no trailing newline), cells by commas."""

    def __init__(self, content_type: str = "text/csv") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if hasattr(data, "read"):
            return data.read()
        if _is_dataframe(data):
            return data.to_csv(header=False, index=False)
        is_mutable_sequence_like = self._is_sequence_like(data) and hasattr(data, "__setitem__")
        has_multiple_rows = len(data) > 0 and self._is_sequence_like(data[0])
        if is_mutable_sequence_like and has_multiple_rows:
            return "\n".join([self._serialize_row(row) for row in data])
        return self._serialize_row(data)

    def _serialize_row(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        if isinstance(data, np.ndarray):
            data = np.ndarray.flatten(data)
        if hasattr(data, "__len__"):
            if len(data) == 0:
                raise ValueError("Cannot serialize empty array")
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=",").writerow(data)
            return buffer.getvalue().rstrip("\r\n")
        raise ValueError(f"Unable to handle input format: {type(data)}")

    @staticmethod
    def _is_sequence_like(data: Any) -> bool:
        return hasattr(data, "__iter__") and hasattr(data, "__getitem__")


class NumpySerializer(SimpleBaseSerializer):
    """The ``.npy`` bytes of an array (or of a list, converted with ``dtype``)."""

    def __init__(self, dtype: Any = None, content_type: str = "application/x-npy") -> None:
        super().__init__(content_type=content_type)
        self.dtype = dtype

    def serialize(self, data: Any) -> Any:
        if isinstance(data, np.ndarray):
            if data.size == 0:
                raise ValueError("Cannot serialize empty array.")
            return self._serialize_array(data)
        if isinstance(data, list):
            if len(data) == 0:
                raise ValueError("Cannot serialize empty array.")
            return self._serialize_array(np.array(data, self.dtype))
        if hasattr(data, "read"):
            return data.read()
        return self._serialize_array(np.array(data))

    @staticmethod
    def _serialize_array(array: np.ndarray[Any, Any]) -> bytes:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()


class JSONSerializer(SimpleBaseSerializer):
    def serialize(self, data: Any) -> Any:
        if isinstance(data, dict):
            return json.dumps(
                {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in data.items()}
            )
        if hasattr(data, "read"):
            return data.read()
        if isinstance(data, np.ndarray):
            return json.dumps(data.tolist())
        return json.dumps(data)


class IdentitySerializer(SimpleBaseSerializer):
    def __init__(self, content_type: str = "application/octet-stream") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        return data


class JSONLinesSerializer(SimpleBaseSerializer):
    def __init__(self, content_type: str = "application/jsonlines") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if isinstance(data, str):
            return data
        if hasattr(data, "read"):
            return data.read()
        if isinstance(data, Iterable):
            return "\n".join(json.dumps(element) for element in data)
        raise ValueError(f"Object of type {type(data)} is not JSON Lines serializable.")


class SparseMatrixSerializer(SimpleBaseSerializer):
    def __init__(self, content_type: str = "application/x-npz") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        sparse = import_optional("scipy.sparse", "SparseMatrixSerializer")
        buffer = io.BytesIO()
        sparse.save_npz(buffer, data)
        return buffer.getvalue()


class LibSVMSerializer(SimpleBaseSerializer):
    """libsvm text: a string or file as is (the SDK), or (extension) a matrix, or a
    ``(matrix, labels)`` pair, written with ``modelyard.formats.libsvm``."""

    def __init__(self, content_type: str = "text/libsvm") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if isinstance(data, str):
            return data
        if hasattr(data, "read"):
            return data.read()
        if isinstance(data, tuple) and len(data) == 2:
            return libsvm.write_libsvm(data[0], data[1]).decode()
        if isinstance(data, np.ndarray) or hasattr(data, "tocsr"):
            return libsvm.write_libsvm(data).decode()
        raise ValueError(f"Unable to handle input format: {type(data)}")


class DataSerializer(SimpleBaseSerializer):
    def __init__(self, content_type: str = "file-path/raw-bytes") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if isinstance(data, str):
            try:
                with open(data, "rb") as data_file:
                    return data_file.read()
            except OSError as exc:
                raise ValueError(f"Could not open/read file: {data}. {exc}") from exc
        if isinstance(data, bytes):
            return data
        if isinstance(data, dict) and "data" in data:
            return self.serialize(data["data"])
        raise ValueError(f"Object of type {type(data)} is not Data serializable.")


class StringSerializer(SimpleBaseSerializer):
    def __init__(self, content_type: str = "text/plain") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if isinstance(data, str):
            return data.encode("utf-8")
        raise ValueError(f"Object of type {type(data)} is not String serializable.")


class RecordSerializer(SimpleBaseSerializer):
    """A 1-D or 2-D array as RecordIO-protobuf, in an ``io.BytesIO`` (as the SDK returns)."""

    def __init__(self, content_type: str = "application/x-recordio-protobuf") -> None:
        super().__init__(content_type=content_type)

    def serialize(self, data: Any) -> Any:
        if len(data.shape) == 1:
            data = data.reshape(1, data.shape[0])
        if len(data.shape) != 2:
            raise ValueError(
                f"Expected a 1D or 2D array, but got a {len(data.shape)}D array instead."
            )
        buffer = io.BytesIO(recordio_protobuf.encode_dense(data))
        buffer.seek(0)
        return buffer
