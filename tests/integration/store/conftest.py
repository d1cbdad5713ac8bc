"""The store suite runs every test against each backend: a local directory and S3 (moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.store import Store
from modelyard.store.local import LocalStore


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    s3: Store = request.getfixturevalue("s3_store")
    return s3


@pytest.fixture
def bucket(store: Store) -> str:
    store.create_bucket("suite")
    return "suite"
