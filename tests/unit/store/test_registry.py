"""Backends by name, imported only when chosen."""

from __future__ import annotations

import subprocess
import sys

import pytest

import modelyard.store
from modelyard.config import Settings
from modelyard.errors import ValidationError
from modelyard.store import get_store
from modelyard.store.local import LocalStore


def test_the_default_backend_is_a_directory_under_home(settings: Settings) -> None:
    store = get_store(settings)

    assert isinstance(store, LocalStore)
    assert store.root == settings.store_root.resolve()


def test_an_unknown_backend_is_refused(settings: Settings) -> None:
    odd = settings.model_copy(update={"store_backend": "tape"})

    with pytest.raises(ValidationError, match="local, s3"):
        get_store(odd)


def test_importing_the_store_package_does_not_import_s3fs() -> None:
    code = "import sys, modelyard.store; print('s3fs' in sys.modules, 'botocore' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == ["False", "False"]


def test_public_names() -> None:
    assert set(modelyard.store.__all__) >= {
        "Store",
        "ObjectInfo",
        "ListPage",
        "BucketInfo",
        "S3Uri",
        "parse_s3_uri",
        "join",
        "get_store",
        "upload_directory",
        "download_directory",
        "upload_file",
        "download_file",
    }
