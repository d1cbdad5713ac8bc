"""The S3 backend is chosen and configured by settings alone."""

from __future__ import annotations

import pytest

from modelyard.config import get_settings
from modelyard.store import get_store
from modelyard.store.s3 import S3Store


@pytest.mark.s3
@pytest.mark.usefixtures("s3_settings")
def test_settings_select_the_s3_backend() -> None:
    store = get_store(get_settings())
    try:
        assert isinstance(store, S3Store)
        store.create_bucket("from-settings")
        store.put_object("from-settings", "k", b"v")
        assert store.get_object("from-settings", "k") == b"v"
    finally:
        store.close()
