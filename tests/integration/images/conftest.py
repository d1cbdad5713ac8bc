"""An image registry over a fresh home, a fresh image cache and real build processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelyard.catalog import SqlCatalog, open_catalog
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.images import ImageRegistry, VenvBuilder
from modelyard.runtime import LocalProcessRuntime, get_runtime


@pytest.fixture
def images_settings(
    modelyard_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings whose image cache is this test's own (builds are what we test here)."""
    monkeypatch.setenv("MODELYARD_IMAGES_DIR", str(tmp_path / "images"))
    reset_settings()
    return get_settings()


@pytest.fixture
def catalog(images_settings: Settings) -> Iterator[SqlCatalog]:
    found = open_catalog(images_settings)
    yield found
    found.close()


@pytest.fixture
def runtime(images_settings: Settings) -> Iterator[LocalProcessRuntime]:
    found = get_runtime(images_settings)
    assert isinstance(found, LocalProcessRuntime)
    yield found
    for handle in found.list():
        handle.stop(grace_s=0)


@pytest.fixture
def registry(
    catalog: SqlCatalog, runtime: LocalProcessRuntime, images_settings: Settings
) -> ImageRegistry:
    return ImageRegistry(catalog, runtime, VenvBuilder(images_settings.images_dir), images_settings)
