"""The catalog's public names are a decision: adding one is a change of this test."""

from __future__ import annotations

import modelyard.catalog


def test_public_names() -> None:
    assert sorted(modelyard.catalog.__all__) == [
        "Catalog",
        "MetricPoint",
        "Page",
        "ResourceRecord",
        "STATE_MACHINES",
        "SortBy",
        "SortOrder",
        "SqlCatalog",
        "StateMachine",
        "StatusEvent",
        "machine_for",
        "open_catalog",
    ]
    for name in modelyard.catalog.__all__:
        assert getattr(modelyard.catalog, name) is not None


def test_sql_catalog_implements_the_catalog_seam() -> None:
    assert issubclass(modelyard.catalog.SqlCatalog, modelyard.catalog.Catalog)
