"""Planning transfers: which file becomes which key, which key lands where."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import ConflictError, InvalidKeyError
from modelyard.store.local import LocalStore
from modelyard.store.transfer import (
    download_file,
    plan_download,
    plan_upload,
    upload_file,
)


@pytest.mark.parametrize("key", ["data/../../etc/passwd", "data/../x", "data//x", "data/a\\b"])
def test_a_download_refuses_keys_that_would_escape_the_directory(tmp_path: Path, key: str) -> None:
    # Keys like these can exist in a foreign S3 bucket; they must never become paths.
    with pytest.raises(InvalidKeyError, match="outside"):
        plan_download([("data/ok", 1), (key, 1)], "data/", tmp_path)


def test_a_download_plan_keeps_the_tree_and_skips_folder_markers(tmp_path: Path) -> None:
    items = plan_download([("data/", 0), ("data/a/b.txt", 3), ("data/c", 1)], "data/", tmp_path)

    assert [(i.key, i.path) for i in items] == [
        ("data/a/b.txt", tmp_path / "a" / "b.txt"),
        ("data/c", tmp_path / "c"),
    ]


def test_a_download_refuses_a_file_that_is_also_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConflictError, match="cannot both"):
        plan_download([("p/a", 1), ("p/a/b", 1)], "p/", tmp_path)


def test_an_upload_plan_validates_every_key_first(tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("x")
    (tmp_path / "bad\\name").write_text("x")

    with pytest.raises(InvalidKeyError, match="backslash"):
        plan_upload(tmp_path, "prefix")


def test_an_upload_plan_names_keys_under_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_text("b")
    (tmp_path / "a").write_text("a")

    assert [i.key for i in plan_upload(tmp_path, "run/")] == ["run/a", "run/sub/b"]
    assert [i.key for i in plan_upload(tmp_path, "")] == ["a", "sub/b"]


def test_single_files_with_a_progress_bar(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.create_bucket("files")
    source = tmp_path / "report.json"
    source.write_text("{}")

    info = upload_file(store, source, "s3://files/reports/", progress=True)
    assert info.key == "reports/report.json"
    assert info.content_type == "application/json"

    written = download_file(store, "s3://files/reports/report.json", tmp_path, progress=True)
    assert written == tmp_path / "report.json"
    assert written.read_text() == "{}"
