"""The SDK face of the deserializers, as in ``sagemaker.deserializers``."""

from __future__ import annotations

from modelyard.formats.deserializers import (
    BaseDeserializer,
    BytesDeserializer,
    CSVDeserializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    NumpyDeserializer,
    PandasDeserializer,
    RecordDeserializer,
    SimpleBaseDeserializer,
    StreamDeserializer,
    StringDeserializer,
)

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
