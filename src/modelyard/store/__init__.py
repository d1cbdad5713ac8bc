"""The object store: buckets of keyed byte streams behind ``s3://bucket/key`` URIs.

Backends (a local directory, any S3-compatible endpoint) implement
:class:`Store` and are looked up by name with :func:`get_store`; they are
imported lazily, so importing this package does not import s3fs.
"""

from modelyard.store.base import BucketInfo, ListPage, ObjectInfo, Store
from modelyard.store.registry import backend_names, get_store, register_backend
from modelyard.store.transfer import (
    download_directory,
    download_file,
    upload_directory,
    upload_file,
)
from modelyard.store.uri import (
    S3Uri,
    join,
    parse_s3_uri,
    validate_bucket_name,
    validate_key,
    validate_prefix,
)

__all__ = [
    "BucketInfo",
    "ListPage",
    "ObjectInfo",
    "S3Uri",
    "Store",
    "backend_names",
    "download_directory",
    "download_file",
    "get_store",
    "join",
    "parse_s3_uri",
    "register_backend",
    "upload_directory",
    "upload_file",
    "validate_bucket_name",
    "validate_key",
    "validate_prefix",
]
