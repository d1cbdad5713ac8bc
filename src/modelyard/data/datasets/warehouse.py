"""``RedshiftDatasetDefinition`` as a SQL warehouse is used here: any SQLAlchemy database.

Redshift is PostgreSQL-shaped; the query runs against the database that
``ClusterId`` names, which is either

- the name of a connection in the server's settings (``MODELYARD_SQL_CONNECTIONS``,
  a JSON object of names to SQLAlchemy URLs): the credentials stay on the server,
  and this is the recommended form; or
- a SQLAlchemy URL itself (``postgresql+psycopg://user:pw@host:5432/db``): handy on
  one's own machine; its password is masked in every response and message.

``Database`` replaces the URL's database and ``DbUser`` is the user when the URL
names none; ``ClusterRoleArn`` is ignored (no IAM). On PostgreSQL the query runs in
a read-only transaction, with a 10 s connection timeout. Rows stream from a
server-side cursor in batches of :data:`BATCH_ROWS` into Arrow batches whose types
come from the driver's column types where it reports them (PostgreSQL's type OIDs:
integers, floats, booleans, text, dates and timestamps, ``numeric(p, s)`` as
decimals), else from the values; JSON, UUIDs, unconstrained ``numeric`` and other
types become text, exactly as the database prints them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from modelyard.data.datasets.errors import DatasetError
from modelyard.data.datasets.writer import ResultWriter, WrittenResult

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import URL

BATCH_ROWS = 10_000
CONNECT_TIMEOUT_S = 10


def resolve_url(
    cluster_id: str, database: str | None, db_user: str | None, connections: Mapping[str, str]
) -> URL:
    """The SQLAlchemy URL a definition names (see the module doc); ValueError if none."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    raw = connections.get(cluster_id)
    if raw is None:
        if "://" not in cluster_id:
            known = ", ".join(sorted(connections)) or "none is configured"
            raise ValueError(
                f"{cluster_id!r} is neither a connection of the server's "
                f"MODELYARD_SQL_CONNECTIONS ({known}) nor a SQLAlchemy URL"
            )
        raw = cluster_id
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValueError(f"{mask(raw)!r} is not a SQLAlchemy URL: {exc}") from exc
    if database:
        url = url.set(database=database)
    if db_user and not url.username:
        url = url.set(username=db_user)
    return url


def mask(url: str) -> str:
    """``url`` with its password hidden (a connection name is returned as it is)."""
    if "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        scheme = url.split("://", 1)[0]
        return f"{scheme}://***"


def run_query(url: URL, query: str, writer: ResultWriter, *, what: str) -> WrittenResult:
    """Run ``query`` on ``url`` and stream its rows into ``writer``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    shown = url.render_as_string(hide_password=True)
    postgres = url.get_backend_name() == "postgresql"
    connect_args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S} if postgres else {}
    try:
        engine = create_engine(url, connect_args=connect_args, poolclass=_null_pool())
    except (SQLAlchemyError, ImportError) as exc:
        raise DatasetError(f"ClientError: {what}: cannot use {shown}: {_reason(exc)}") from exc
    try:
        try:
            connection = engine.connect()
        except (SQLAlchemyError, OSError) as exc:
            raise DatasetError(
                f"ClientError: {what}: cannot connect to {shown}: {_reason(exc)}"
            ) from exc
        with connection:
            batch_rows = min(BATCH_ROWS, writer.rows_per_part)
            options: dict[str, Any] = {"stream_results": True, "yield_per": batch_rows}
            if postgres:
                options["postgresql_readonly"] = True
            try:
                result = connection.execution_options(**options).execute(text(query))
                if not result.returns_rows:
                    raise DatasetError(
                        f"ClientError: {what}: the query returns no rows (give a SELECT)"
                    )
                names = list(result.keys())
                description = result.cursor.description if result.cursor is not None else None
                types = _arrow_types(description, len(names))
                schema: pa.Schema | None = None
                for rows in result.partitions(batch_rows):
                    batch = _to_batch(rows, names, types, schema)
                    schema = batch.schema
                    writer.write(batch)
                return writer.close(schema or _empty_schema(names, types))
            except DBAPIError as exc:
                raise DatasetError(
                    f"ClientError: {what}: the query failed on {shown}: {_reason(exc)}"
                ) from exc
            finally:
                connection.rollback()
    finally:
        engine.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return " ".join(text[0].split())[:600] if text else type(orig).__name__


# -- types -----------------------------------------------------------------------


def _pg_types() -> dict[int, pa.DataType]:
    import pyarrow as pa

    return {
        16: pa.bool_(),
        17: pa.binary(),
        20: pa.int64(),
        21: pa.int16(),
        23: pa.int32(),
        26: pa.int64(),
        700: pa.float32(),
        701: pa.float64(),
        1082: pa.date32(),
        1083: pa.time64("us"),
        1114: pa.timestamp("us"),
        1184: pa.timestamp("us", tz="UTC"),
    }


_NUMERIC_OID = 1700
_TEXT_OIDS = frozenset({18, 19, 25, 114, 142, 1042, 1043, 1186, 2950, 3802})


def _arrow_types(description: Sequence[Any] | None, count: int) -> list[pa.DataType | None]:
    """The Arrow type of each column, from the driver's type codes; None = infer."""
    import pyarrow as pa

    if description is None:
        return [None] * count
    known = _pg_types()
    types: list[pa.DataType | None] = []
    for column in description:
        code = column[1] if len(column) > 1 else None
        if not isinstance(code, int):
            types.append(None)
        elif code in known:
            types.append(known[code])
        elif code in _TEXT_OIDS:
            types.append(pa.string())
        elif code == _NUMERIC_OID:
            precision, scale = getattr(column, "precision", None), getattr(column, "scale", None)
            if precision and 0 < precision <= 38 and scale is not None:
                types.append(pa.decimal128(precision, scale))
            else:
                types.append(pa.string())
        else:
            types.append(None)
    return types


def _as_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    return str(value)


def _to_batch(
    rows: Sequence[Any], names: list[str], types: list[pa.DataType | None], schema: pa.Schema | None
) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for index in range(len(names)):
        values = [row[index] for row in rows]
        wanted = schema.field(index).type if schema is not None else types[index]
        if wanted is not None and pa.types.is_string(wanted):
            values = [_as_text(v) for v in values]
        try:
            array = pa.array(values, type=wanted)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array([_as_text(v) for v in values], type=pa.string())
            if wanted is not None and not pa.types.is_string(wanted):
                raise
        if schema is None and pa.types.is_null(array.type):
            array = array.cast(pa.string())  # no value to tell the type: text
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _empty_schema(names: list[str], types: list[pa.DataType | None]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(n, t or pa.string()) for n, t in zip(names, types, strict=True)])
