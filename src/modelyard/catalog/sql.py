"""The catalog on a SQL database: SQLite (embedded default) or PostgreSQL.

Every write is a compare-and-swap on the row's ``version``
(``UPDATE ... WHERE id = :id AND version = :seen``). A caller that passes
``expected_version`` learns about a concurrent change as
``ConcurrentUpdateError``; otherwise the catalog reads the row again and
re-applies the change (re-checking the state machine), so two racing writers
never lose a write and two racing transitions cannot both win.

Errors of SQLAlchemy and of the drivers never leave this module: they become
``CatalogError`` (``from`` the original).
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, insert, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from modelyard.catalog.base import (
    Catalog,
    MetricPoint,
    Page,
    ResourceRecord,
    SortBy,
    SortOrder,
    StatusEvent,
)
from modelyard.catalog.engine import WRITE_OPTION, create_catalog_engine, is_sqlite_memory
from modelyard.catalog.migrate import upgrade_to_head
from modelyard.catalog.models import MetricPointRow, Resource, StatusEventRow
from modelyard.catalog.pagination import check_list_arguments, paginate, split_page
from modelyard.catalog.states import machine_for
from modelyard.catalog.values import (
    already_exists,
    json_object,
    metric_point_values,
    stale_version,
    to_record,
)
from modelyard.errors import (
    CatalogError,
    ConcurrentUpdateError,
    ModelyardError,
    NotFoundError,
)
from modelyard.ids import Identity, ResourceKind, make_arn, utcnow, validate_name

#: How often a write without ``expected_version`` re-reads and retries after
#: losing a race. Every lost race means another writer won, so this only runs
#: out under a storm of writers to the same resource.
MAX_WRITE_ATTEMPTS = 100

#: A change computed from the current row: the new column values, and the
#: status event to record (``None`` when neither status changed).
_Change = tuple[dict[str, Any], StatusEventRow | None]


class SqlCatalog(Catalog):
    """The catalog on the database at a SQLAlchemy ``url``; thread-safe.

    The schema is not created here: :func:`modelyard.catalog.open_catalog`
    (or :meth:`migrate`) brings the database to the newest migration first.
    """

    def __init__(self, url: str | URL, *, identity: Identity | None = None) -> None:
        try:
            self._url = make_url(url)
            self._engine = create_catalog_engine(self._url)
        except SQLAlchemyError as exc:
            raise CatalogError(f"cannot use catalog URL {url!s}: {exc}") from exc
        self._write_engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self._identity = identity or Identity()
        # An in-memory SQLite database is one shared connection: one user at a time.
        self._serialized: AbstractContextManager[Any] = (
            threading.RLock() if is_sqlite_memory(self._url) else nullcontext()
        )
        self._closed = False

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"SqlCatalog({self.url!r})"

    def migrate(self) -> None:
        """Bring the database to the newest schema (safe from several processes at once)."""
        with self._serialized:
            try:
                upgrade_to_head(self._engine)
            except SQLAlchemyError as exc:
                raise CatalogError(f"migrating the catalog at {self.url} failed: {exc}") from exc

    def close(self) -> None:
        self._closed = True
        self._engine.dispose()

    # Reads.

    def get(self, kind: ResourceKind, name: str) -> ResourceRecord:
        kind = ResourceKind(kind)
        with self._session(write=False) as session:
            return to_record(self._load(session, kind, name))

    def list(
        self,
        kind: ResourceKind,
        *,
        status: str | None = None,
        name_contains: str | None = None,
        creation_time_after: datetime | None = None,
        creation_time_before: datetime | None = None,
        sort_by: SortBy = "CreationTime",
        sort_order: SortOrder = "Descending",
        max_results: int = 100,
        next_token: str | None = None,
    ) -> Page:
        kind = ResourceKind(kind)
        check_list_arguments(sort_by, sort_order, max_results)
        if status is not None:
            machine_for(kind).check_status(status, field="StatusEquals")
        query = select(Resource).where(Resource.kind == kind.value)
        if status is not None:
            query = query.where(Resource.status == status)
        if name_contains:
            needle = name_contains.lower()
            query = query.where(func.lower(Resource.name).contains(needle, autoescape=True))
        if creation_time_after is not None:
            query = query.where(Resource.created_at > creation_time_after)
        if creation_time_before is not None:
            query = query.where(Resource.created_at < creation_time_before)
        query = paginate(
            query,
            sort_by=sort_by,
            sort_order=sort_order,
            max_results=max_results,
            next_token=next_token,
            dialect=self._engine.dialect.name,
        )
        with self._session(write=False) as session:
            rows = builtins.list(session.scalars(query))
        rows, token = split_page(
            rows, sort_by=sort_by, sort_order=sort_order, max_results=max_results
        )
        return Page(records=[to_record(row) for row in rows], next_token=token)

    def events(self, kind: ResourceKind, name: str) -> builtins.list[StatusEvent]:
        kind = ResourceKind(kind)
        with self._session(write=False) as session:
            row = self._load(session, kind, name)
            query = (
                select(StatusEventRow)
                .where(StatusEventRow.resource_id == row.id)
                .order_by(StatusEventRow.at, StatusEventRow.id)
            )
            return [
                StatusEvent(
                    status=event.status,
                    secondary_status=event.secondary_status,
                    message=event.message,
                    at=event.at,
                )
                for event in session.scalars(query)
            ]

    def metric_points(
        self, kind: ResourceKind, name: str, metric: str | None = None
    ) -> builtins.list[MetricPoint]:
        kind = ResourceKind(kind)
        with self._session(write=False) as session:
            row = self._load(session, kind, name)
            query = select(MetricPointRow).where(MetricPointRow.resource_id == row.id)
            if metric is not None:
                query = query.where(MetricPointRow.name == metric)
            query = query.order_by(MetricPointRow.name, MetricPointRow.timestamp, MetricPointRow.id)
            return [
                MetricPoint(name=point.name, timestamp=point.timestamp, value=point.value)
                for point in session.scalars(query)
            ]

    # Writes.

    def create(
        self,
        kind: ResourceKind,
        name: str,
        *,
        spec: dict[str, Any],
        status: str | None = None,
        state: dict[str, Any] | None = None,
        identity: Identity | None = None,
        secondary_status: str | None = None,
    ) -> ResourceRecord:
        kind = ResourceKind(kind)
        validate_name(name, kind)
        machine = machine_for(kind)
        status = machine.check_initial(status or machine.default_status)
        machine.check_secondary(secondary_status)
        now = utcnow()
        row = Resource(
            kind=kind.value,
            name=name,
            arn=make_arn(kind, name, identity or self._identity),
            status=status,
            secondary_status=secondary_status,
            failure_reason=None,
            spec=json_object(spec, "spec"),
            state=json_object(state or {}, "state"),
            version=1,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._session(write=True) as session:
                taken = session.scalar(
                    select(Resource.id).where(Resource.kind == kind.value, Resource.name == name)
                )
                if taken is not None:
                    raise already_exists(kind, name)
                session.add(row)
                session.flush()
                session.add(
                    StatusEventRow(
                        resource_id=row.id,
                        status=status,
                        secondary_status=secondary_status,
                        message=None,
                        at=now,
                    )
                )
        except CatalogError as exc:
            # Two creators raced past the check (PostgreSQL): the unique key decided.
            if isinstance(exc.__cause__, IntegrityError) and self._exists(kind, name):
                raise already_exists(kind, name) from exc.__cause__
            raise
        return to_record(row)

    def transition(
        self,
        kind: ResourceKind,
        name: str,
        status: str,
        *,
        secondary_status: str | None = None,
        failure_reason: str | None = None,
        message: str | None = None,
        state_updates: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> ResourceRecord:
        """Move to ``status``; ``None`` keeps the secondary status and failure reason as they are.

        A status event is recorded when the status or the secondary status changes.
        """
        kind = ResourceKind(kind)
        machine = machine_for(kind)
        machine.check_status(status)
        machine.check_secondary(secondary_status)
        updates = json_object(state_updates or {}, "state_updates")

        def change(row: Resource) -> _Change:
            machine.check_transition(name, row.status, status)
            secondary = row.secondary_status if secondary_status is None else secondary_status
            values: dict[str, Any] = {"status": status, "secondary_status": secondary}
            if failure_reason is not None:
                values["failure_reason"] = failure_reason
            if updates:
                values["state"] = {**row.state, **updates}
            if (status, secondary) == (row.status, row.secondary_status):
                return values, None
            event = StatusEventRow(
                resource_id=row.id, status=status, secondary_status=secondary, message=message
            )
            return values, event

        return self._write(kind, name, expected_version, change)

    def update(
        self,
        kind: ResourceKind,
        name: str,
        *,
        state_updates: dict[str, Any] | None = None,
        spec: dict[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> ResourceRecord:
        """Merge ``state_updates`` (top-level keys) into the state; replace the spec if given."""
        kind = ResourceKind(kind)
        updates = json_object(state_updates or {}, "state_updates")
        new_spec = None if spec is None else json_object(spec, "spec")

        def change(row: Resource) -> _Change:
            values: dict[str, Any] = {}
            if new_spec is not None:
                values["spec"] = new_spec
            if updates:
                values["state"] = {**row.state, **updates}
            return values, None

        return self._write(kind, name, expected_version, change)

    def delete(self, kind: ResourceKind, name: str) -> None:
        kind = ResourceKind(kind)
        with self._session(write=True) as session:
            row = self._load(session, kind, name)
            session.execute(delete(Resource).where(Resource.id == row.id))

    def add_metric_points(
        self, kind: ResourceKind, name: str, points: Sequence[tuple[str, datetime, float]]
    ) -> None:
        """Append points; a value that is not a finite number is refused (400)."""
        kind = ResourceKind(kind)
        values = [metric_point_values(metric, at, value) for metric, at, value in points]
        with self._session(write=True) as session:
            row = self._load(session, kind, name)
            if values:
                session.execute(
                    insert(MetricPointRow), [{"resource_id": row.id, **point} for point in values]
                )

    # Internals.

    @contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        """One transaction; writes take SQLite's write lock up front."""
        if self._closed:
            raise CatalogError(f"the catalog at {self.url} is closed")
        engine = self._write_engine if write else self._engine
        with self._serialized:
            try:
                with Session(engine, expire_on_commit=False) as session, session.begin():
                    yield session
            except ModelyardError:
                raise
            except SQLAlchemyError as exc:
                detail = getattr(exc, "orig", None) or exc
                raise CatalogError(
                    f"the catalog database failed ({type(exc).__name__}): {detail}"
                ) from exc

    def _load(self, session: Session, kind: ResourceKind, name: str) -> Resource:
        row = session.scalar(
            select(Resource).where(Resource.kind == kind.value, Resource.name == name)
        )
        if row is None:
            raise NotFoundError(f"{kind.value} {name!r} does not exist")
        return row

    def _exists(self, kind: ResourceKind, name: str) -> bool:
        try:
            self.get(kind, name)
        except NotFoundError:
            return False
        return True

    def _write(
        self,
        kind: ResourceKind,
        name: str,
        expected_version: int | None,
        change: Callable[[Resource], _Change],
    ) -> ResourceRecord:
        for _attempt in range(MAX_WRITE_ATTEMPTS):
            with self._session(write=True) as session:
                row = self._load(session, kind, name)
                if expected_version is not None and row.version != expected_version:
                    raise stale_version(kind, name, expected_version, row.version)
                values, event = change(row)
                if not values:
                    return to_record(row)
                now = utcnow()
                values |= {"version": row.version + 1, "updated_at": now}
                result = cast(
                    CursorResult[Any],
                    session.execute(
                        update(Resource)
                        .where(Resource.id == row.id, Resource.version == row.version)
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    ),
                )
                if result.rowcount == 1:
                    if event is not None:
                        event.at = now
                        session.add(event)
                    return dataclasses.replace(to_record(row), **values)
            # Somebody else wrote between our read and our write.
            if expected_version is not None:
                raise stale_version(kind, name, expected_version, None)
        raise ConcurrentUpdateError(
            f"{kind.value} {name!r} kept changing under {MAX_WRITE_ATTEMPTS} attempts to write "
            "it; retry later"
        )
