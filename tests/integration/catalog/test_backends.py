"""What is particular to each backend: SQLite's set-up, URLs, unreachable servers."""

from __future__ import annotations

import socket
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from modelyard.catalog import SqlCatalog, open_catalog
from modelyard.config import Settings
from modelyard.errors import CatalogError, ValidationError
from modelyard.ids import ResourceKind

TRAINING = ResourceKind.TRAINING_JOB


def test_the_default_catalog_is_sqlite_in_wal_mode_under_home(
    settings: Settings, modelyard_home: Path
) -> None:
    assert not modelyard_home.exists()

    with open_catalog(settings) as catalog:
        catalog.create(TRAINING, "job-1", spec={})

    database = modelyard_home / "catalog.db"
    assert database.is_file()
    with closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_sqlite_connections_enforce_foreign_keys_and_wait_for_the_lock(
    settings: Settings,
) -> None:
    with open_catalog(settings) as catalog:
        engine = catalog._engine  # the pragmas are what this test is about
        with engine.connect() as connection:
            pragmas = {
                name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "busy_timeout", "synchronous")
            }
    assert pragmas == {"foreign_keys": 1, "busy_timeout": 30_000, "synchronous": 1}


def test_an_in_memory_catalog_is_one_database_for_every_thread() -> None:
    with SqlCatalog("sqlite://") as catalog:
        catalog.migrate()
        catalog.create(TRAINING, "job-1", spec={})
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda i: catalog.update(TRAINING, "job-1", state_updates={f"k{i}": i}),
                    range(8),
                )
            )
        assert catalog.get(TRAINING, "job-1").state == {f"k{i}": i for i in range(8)}


def test_an_unsupported_url_names_the_setting(settings: Settings) -> None:
    for url in ["mysql://u@h/db", "not a url"]:
        with pytest.raises(ValidationError) as caught:
            open_catalog(settings.model_copy(update={"catalog_url": url}))
        assert caught.value.field == "catalog_url"


def test_an_unreachable_postgres_is_a_catalog_error(settings: Settings) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/modelyard?connect_timeout=2"
    with pytest.raises(CatalogError) as caught:
        open_catalog(settings.model_copy(update={"catalog_url": url}))
    assert "psycopg" not in type(caught.value).__module__
    assert caught.value.__cause__ is not None


@pytest.mark.postgres
def test_plain_postgresql_urls_use_psycopg(postgres_database_url: str) -> None:
    plain = postgres_database_url.replace("postgresql+psycopg://", "postgresql://")
    with SqlCatalog(plain) as catalog:
        catalog.migrate()
        assert catalog.create(TRAINING, "job-1", spec={}).version == 1
