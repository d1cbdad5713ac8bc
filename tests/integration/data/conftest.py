"""The data suite runs against each store backend: a local directory and S3 (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.local import LocalStore


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        store: Store = LocalStore(tmp_path / "store")
    else:
        store = request.getfixturevalue("s3_store")
    store.create_bucket("bucket")
    return store


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "store")
    store.create_bucket("bucket")
    return store


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    """``<jobdir>/input/data``."""
    path = tmp_path / "job" / "input" / "data"
    path.mkdir(parents=True)
    return path
