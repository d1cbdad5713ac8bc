"""The SQLAlchemy engine of a catalog URL, configured per backend.

SQLite (the embedded default) runs in WAL mode so readers never block the
writer, with a busy timeout so that threads and processes queue for the write
lock instead of failing, and foreign keys on (cascading deletes). Write
transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that read
a row and then writes it fails with ``SQLITE_BUSY`` at once, whatever the busy
timeout, when another connection committed in between. ``synchronous=NORMAL``
is durable against a killed process (a crash of the OS may lose the last
commits, never corrupt the file).

PostgreSQL needs nothing special: connections are checked before use so a
restarted server does not surface as an error.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

#: Execution option of the engine used for writes (``BEGIN IMMEDIATE`` on SQLite).
WRITE_OPTION = "modelyard_write"
#: How long a SQLite writer waits for the lock held by another one.
SQLITE_BUSY_TIMEOUT_S = 30.0


def is_sqlite_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_catalog_engine(url: str | URL) -> Engine:
    """An engine for ``url``: reads use it as is, writes through
    ``engine.execution_options(modelyard_write=True)``."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
    }
    if is_sqlite_memory(parsed):
        # One connection shared by every thread (callers serialize on a lock):
        # the default pool would give each thread its own, empty, database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy emit BEGIN (see _begin_sqlite_transaction) instead of sqlite3.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
