"""``AthenaDatasetDefinition`` as DuckDB runs it: SQL over the store's objects.

Athena queries tables over S3 objects; here the ``QueryString`` is DuckDB SQL that
names objects by their ``s3://`` URIs, with globs, through DuckDB's readers::

    SELECT region, sum(amount) AS total
    FROM read_parquet('s3://sales/2026/*.parquet')   -- or read_csv / read_json,
    GROUP BY region                                  -- or FROM 's3://b/k.csv'

The ``s3://`` URIs reach the platform's store, whatever its backend: an fsspec file
system registered in DuckDB (the local store's directory for the local backend,
s3fs with the store's endpoint and credentials for an S3 one). The query can read
nothing else: DuckDB's access to local files and other URLs is switched off
(``allowed_directories = ['s3://']`` then ``enable_external_access = false``), so
``read_csv('/etc/passwd')`` or ``s3://b/../..`` is a permission error, not a leak.
``Catalog``, ``Database`` and ``WorkGroup`` have no meaning here and are ignored.

The result streams out in Arrow batches into a :class:`ResultWriter` (flat memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.config import Settings
from modelyard.data.datasets.errors import DatasetError
from modelyard.data.datasets.writer import ResultWriter, WrittenResult
from modelyard.store.base import Store

if TYPE_CHECKING:
    import fsspec

BATCH_ROWS = 65_536


def store_filesystem(store: Store, settings: Settings) -> fsspec.AbstractFileSystem:
    """An fsspec file system with protocol ``s3`` over the platform's store."""
    from modelyard.store.local import LocalStore

    if isinstance(store, LocalStore):
        from fsspec.implementations.dirfs import DirFileSystem
        from fsspec.implementations.local import LocalFileSystem

        class _LocalStoreFileSystem(DirFileSystem):  # type: ignore[misc]
            protocol = "s3"

            def _join(self, path: Any) -> Any:
                for one in [path] if isinstance(path, str) else list(path):
                    bucket = str(one).removeprefix("s3://").lstrip("/").split("/", 1)[0]
                    if bucket.startswith("."):
                        raise FileNotFoundError(one)  # .meta / .tmp are not buckets
                return super()._join(path)

        return _LocalStoreFileSystem(path=str(store.root), fs=LocalFileSystem())
    import s3fs

    secret = settings.s3_secret_access_key
    return s3fs.S3FileSystem(
        endpoint_url=settings.s3_endpoint_url,
        key=settings.s3_access_key_id,
        secret=secret.get_secret_value() if secret else None,
        client_kwargs={"region_name": settings.s3_region},
        skip_instance_cache=True,
        use_listings_cache=False,
    )


def run_query(
    store: Store, settings: Settings, query: str, writer: ResultWriter, *, what: str
) -> WrittenResult:
    """Run ``query`` in DuckDB over the store; the parts written. ``what`` names the input."""
    try:
        import duckdb
    except ImportError as exc:
        raise DatasetError(
            f"PlatformError: {what}: DuckDB is not installed on the server (pip install duckdb)"
        ) from exc
    connection = duckdb.connect(":memory:")
    try:
        connection.register_filesystem(store_filesystem(store, settings))
        connection.execute("SET allowed_directories = ['s3://']")
        connection.execute("SET enable_external_access = false")
        try:
            batch_rows = min(BATCH_ROWS, writer.rows_per_part)
            reader = connection.sql(query).to_arrow_reader(batch_rows)
            for batch in reader:
                writer.write(batch)
            return writer.close(reader.schema)
        except duckdb.Error as exc:
            raise DatasetError(
                f"ClientError: {what}: the query failed: {_first_lines(exc)}"
            ) from exc
    finally:
        connection.close()


def _first_lines(exc: BaseException, limit: int = 600) -> str:
    text = " ".join(str(exc).split())
    return text[:limit]
