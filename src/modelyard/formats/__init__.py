"""Data formats: RecordIO, RecordIO-protobuf, TFRecord, CSV, JSON / JSON Lines, libsvm, NPY,
Parquet/Arrow.

Used by users, jobs, endpoints and batch transform alike, and inside framework
images too: this package imports nothing else of modelyard, and only the
standard library and NumPy at import time (SciPy, pandas and pyarrow are
imported by the functions that need them). Everything raises
``FormatError`` (a ``ValueError``) on bad input, naming the byte offset or the
field. The SDK-style serializers live in ``modelyard.formats.serializers`` /
``.deserializers`` (re-exported as ``modelyard.serializers`` /
``modelyard.deserializers``).
"""

from __future__ import annotations

from modelyard.formats.content_types import (
    Codec,
    decode,
    encode,
    get_codec,
    normalize_content_type,
    register_codec,
    select_codec_for_accept,
    supported_content_types,
)
from modelyard.formats.delimited import read_csv, write_csv
from modelyard.formats.errors import (
    FormatError,
    MissingDependencyError,
    ProtobufError,
    RecordIOError,
    UnsupportedContentTypeError,
)
from modelyard.formats.jsonlines import read_json, read_jsonlines, write_json, write_jsonlines
from modelyard.formats.libsvm import SparseRows, read_libsvm, write_libsvm
from modelyard.formats.npy import read_npy, read_npz, write_npy, write_npz
from modelyard.formats.parquet import (
    read_arrow,
    read_parquet,
    read_parquet_table,
    write_arrow,
    write_parquet,
)
from modelyard.formats.recordio import (
    MAGIC,
    RecordIOWriter,
    frame,
    read_recordio,
    record_spans,
    unframe,
    write_recordio,
)
from modelyard.formats.recordio_protobuf import (
    decode_records,
    decode_to_numpy,
    decode_to_sparse,
    encode_dense,
    encode_records,
    encode_sparse,
    read_records,
    write_numpy_to_dense_tensor,
    write_spmatrix_to_sparse_tensor,
)
from modelyard.formats.records import (
    Bytes,
    Float32Tensor,
    Float64Tensor,
    Int32Tensor,
    Record,
    Value,
)
from modelyard.formats.tfrecord import (
    TFRecordError,
    TFRecordWriter,
    crc32c,
    frame_tfrecords,
    masked_crc32c,
    read_tfrecords,
    unframe_tfrecords,
    write_tfrecord,
)

__all__ = [
    "MAGIC",
    "Bytes",
    "Codec",
    "Float32Tensor",
    "Float64Tensor",
    "FormatError",
    "Int32Tensor",
    "MissingDependencyError",
    "ProtobufError",
    "Record",
    "RecordIOError",
    "RecordIOWriter",
    "SparseRows",
    "TFRecordError",
    "TFRecordWriter",
    "UnsupportedContentTypeError",
    "Value",
    "crc32c",
    "decode",
    "decode_records",
    "decode_to_numpy",
    "decode_to_sparse",
    "encode",
    "encode_dense",
    "encode_records",
    "encode_sparse",
    "frame",
    "frame_tfrecords",
    "get_codec",
    "masked_crc32c",
    "normalize_content_type",
    "read_arrow",
    "read_csv",
    "read_json",
    "read_jsonlines",
    "read_libsvm",
    "read_npy",
    "read_npz",
    "read_parquet",
    "read_parquet_table",
    "read_recordio",
    "read_records",
    "read_tfrecords",
    "record_spans",
    "register_codec",
    "select_codec_for_accept",
    "supported_content_types",
    "unframe",
    "unframe_tfrecords",
    "write_arrow",
    "write_csv",
    "write_json",
    "write_jsonlines",
    "write_libsvm",
    "write_npy",
    "write_npz",
    "write_numpy_to_dense_tensor",
    "write_parquet",
    "write_recordio",
    "write_spmatrix_to_sparse_tensor",
    "write_tfrecord",
]
