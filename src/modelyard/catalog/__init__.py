"""The catalog: every resource's spec, status, controller state and history.

``open_catalog(settings)`` gives the catalog the settings name (SQLite at
``<home>/catalog.db`` by default, PostgreSQL by URL), migrated and ready.
Status changes follow the state machines of :mod:`modelyard.catalog.states`;
an illegal one is refused with ``IllegalTransitionError`` (409).
"""

from modelyard.catalog.base import (
    Catalog,
    MetricPoint,
    Page,
    ResourceRecord,
    SortBy,
    SortOrder,
    StatusEvent,
)
from modelyard.catalog.registry import open_catalog
from modelyard.catalog.sql import SqlCatalog
from modelyard.catalog.states import STATE_MACHINES, StateMachine, machine_for

__all__ = [
    "STATE_MACHINES",
    "Catalog",
    "MetricPoint",
    "Page",
    "ResourceRecord",
    "SortBy",
    "SortOrder",
    "SqlCatalog",
    "StateMachine",
    "StatusEvent",
    "machine_for",
    "open_catalog",
]
