"""The catalog's tables, as SQLAlchemy 2 typed declarative models.

One generic ``resources`` table holds every kind: what differs between kinds
is their state machine (:mod:`modelyard.catalog.states`), not their columns.
``spec`` is the Create* request (PascalCase JSON), ``state`` what controllers
own. ``status_events`` keeps each status / secondary-status change (SageMaker's
``SecondaryStatusTransitions``), ``metric_points`` the training metric series.

The migrations in ``migrations/versions`` must create exactly these tables: a
test compares them with :func:`alembic.autogenerate.compare_metadata`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Names of the constraints, so migrations and reflection agree on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC ``datetime`` in and out, on every backend.

    PostgreSQL stores ``timestamptz`` and hands it back in the session's time
    zone; SQLite has no time zones and stores text. Both give back aware UTC
    here; a naive value written is taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Resource(Base):
    """One resource of any kind; ``version`` grows by one on every write."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(63))
    arn: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(64))
    secondary_status: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[dict[str, Any]]
    state: Mapped[dict[str, Any]]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusEventRow(Base):
    """A status or secondary-status change of a resource."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resources.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(64))
    secondary_status: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class MetricPointRow(Base):
    """One value of a metric series of a resource (training metrics)."""

    __tablename__ = "metric_points"
    __table_args__ = (Index(None, "resource_id", "name", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    timestamp: Mapped[datetime]
    value: Mapped[float] = mapped_column(Double)
