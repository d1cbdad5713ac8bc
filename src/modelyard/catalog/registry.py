"""Open the catalog the settings name, migrated and ready.

The backend is chosen by the URL's scheme: ``sqlite:///<path>`` (the embedded
default, ``<home>/catalog.db``) or ``postgresql[+psycopg]://...``. Both are
served by :class:`SqlCatalog`; another implementation of :class:`Catalog`
would be registered here under its scheme.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from modelyard.catalog.engine import is_sqlite_memory
from modelyard.catalog.sql import SqlCatalog
from modelyard.config import Settings
from modelyard.errors import ValidationError
from modelyard.ids import Identity

#: URL schemes (SQLAlchemy backend names) the catalog runs on.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def open_catalog(settings: Settings) -> SqlCatalog:
    """The catalog at ``settings.effective_catalog_url``, migrated to the newest schema.

    For SQLite the directory of the database file is created first. Opening
    the same catalog from several processes at once is safe.
    """
    url = _parse(settings.effective_catalog_url)
    if url.get_backend_name() == "sqlite" and not is_sqlite_memory(url):
        Path(str(url.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog(url, identity=Identity(settings.region, settings.account_id))
    try:
        catalog.migrate()
    except BaseException:
        catalog.close()
        raise
    return catalog


def _parse(raw: str) -> URL:
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ValidationError(
            f"catalog_url is not a database URL: {exc}", field="catalog_url"
        ) from exc
    if url.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValidationError(
            f"catalog_url uses {url.get_backend_name()!r}: use sqlite:///<path> or "
            "postgresql+psycopg://<user>:<password>@<host>/<database>",
            field="catalog_url",
        )
    return url
