"""Failure/success files, tarring model/ and output/data, staging the source bundle."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from modelyard.container.errors import PlatformError, SourceDirError, UnsafeArchiveError
from modelyard.container.files import (
    extract_tarball,
    read_failure_file,
    stage_source_dir,
    tar_directory,
    write_failure_file,
    write_success_file,
)


def test_failure_file_is_written_once_and_the_scripts_own_is_kept(tmp_path: Path) -> None:
    output = tmp_path / "output"
    assert read_failure_file(output) is None
    assert write_failure_file(output, "first") is True
    assert write_failure_file(output, "second") is False
    assert read_failure_file(output) == "first"


def test_success_file_is_empty(tmp_path: Path) -> None:
    write_success_file(tmp_path / "output")
    assert (tmp_path / "output" / "success").read_text() == ""


def members(archive: Path) -> list[tuple[str, str]]:
    with tarfile.open(archive) as tar:
        return [(m.name, m.linkname if m.issym() else m.type.decode()) for m in tar.getmembers()]


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "b.bin").write_bytes(b"bb")
    (model / "a.txt").write_text("aa")
    (model / "sub" / "w.pt").write_bytes(b"w")
    return model


def test_tar_directory_is_sorted_relative_and_round_trips(model_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "out" / "model.tar.gz"
    tar_directory(model_dir, archive)
    assert [name for name, _ in members(archive)] == ["a.txt", "b.bin", "sub", "sub/w.pt"]
    with tarfile.open(archive) as tar:
        assert all(m.uid == 0 and m.uname == "" for m in tar.getmembers())
        tar.extractall(tmp_path / "x", filter="data")
    assert (tmp_path / "x" / "sub" / "w.pt").read_bytes() == b"w"


def test_tar_directory_is_deterministic(model_dir: Path, tmp_path: Path) -> None:
    tar_directory(model_dir, tmp_path / "1.tar.gz")
    tar_directory(model_dir, tmp_path / "2.tar.gz")
    assert (tmp_path / "1.tar.gz").read_bytes() == (tmp_path / "2.tar.gz").read_bytes()


def test_an_empty_directory_makes_an_empty_archive(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    tar_directory(tmp_path / "empty", tmp_path / "e.tar.gz")
    assert members(tmp_path / "e.tar.gz") == []


def test_symlinks_inside_are_kept_as_relative_links(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "latest").symlink_to(model_dir / "sub" / "w.pt")  # absolute, inside
    (model_dir / "sub" / "up").symlink_to("../a.txt")
    tar_directory(model_dir, tmp_path / "m.tar.gz")
    links = dict(members(tmp_path / "m.tar.gz"))
    assert links["latest"] == "sub/w.pt"
    assert links["sub/up"] == "../a.txt"


@pytest.mark.parametrize("target", ["/etc/passwd", "../../outside.txt", "/"])
def test_symlinks_escaping_the_directory_are_refused(
    model_dir: Path, tmp_path: Path, target: str
) -> None:
    (tmp_path / "outside.txt").write_text("secret")
    (model_dir / "sub" / "evil").symlink_to(target)
    archive = tmp_path / "m.tar.gz"
    with pytest.raises(UnsafeArchiveError, match="sub/evil"):
        tar_directory(model_dir, archive)
    assert not archive.exists()
    assert list(tmp_path.glob(".m.tar.gz.*")) == []


def test_a_symlinked_directory_is_not_followed(model_dir: Path, tmp_path: Path) -> None:
    (model_dir / "loop").symlink_to(model_dir)
    tar_directory(model_dir, tmp_path / "m.tar.gz")
    assert dict(members(tmp_path / "m.tar.gz"))["loop"] == "."


def test_special_files_are_skipped(model_dir: Path, tmp_path: Path) -> None:
    os.mkfifo(model_dir / "pipe")
    tar_directory(model_dir, tmp_path / "m.tar.gz")
    assert "pipe" not in dict(members(tmp_path / "m.tar.gz"))


def test_archive_written_inside_the_directory_does_not_include_itself(model_dir: Path) -> None:
    tar_directory(model_dir, model_dir / "self.tar.gz")
    assert "self.tar.gz" not in dict(members(model_dir / "self.tar.gz"))


def make_tarball(path: Path, entries: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_extract_refuses_members_that_climb_out(tmp_path: Path) -> None:
    bundle = make_tarball(tmp_path / "bad.tar.gz", {"../escape.py": b"x"})
    with pytest.raises(SourceDirError, match="unsafe"):
        extract_tarball(bundle, tmp_path / "code")
    assert not (tmp_path / "escape.py").exists()


def test_extract_refuses_absolute_members_instead_of_rewriting_them(tmp_path: Path) -> None:
    bundle = make_tarball(tmp_path / "abs.tar.gz", {"/tmp/planted.py": b"x"})
    with pytest.raises(SourceDirError, match="absolute"):
        extract_tarball(bundle, tmp_path / "code")
    assert not (tmp_path / "code" / "tmp").exists()


def test_stage_a_tarball_by_path_and_by_file_url(tmp_path: Path) -> None:
    bundle = make_tarball(tmp_path / "sourcedir.tar.gz", {"train.py": b"print(1)"})
    stage_source_dir(str(bundle), tmp_path / "code1")
    stage_source_dir(f"file://{bundle}", tmp_path / "code2")
    assert (tmp_path / "code1" / "train.py").read_bytes() == b"print(1)"
    assert (tmp_path / "code2" / "train.py").read_bytes() == b"print(1)"


def test_stage_a_directory_and_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "util.py").write_text("")
    stage_source_dir(str(tmp_path / "src"), tmp_path / "code1")
    assert (tmp_path / "code1" / "lib" / "util.py").exists()
    stage_source_dir(str(tmp_path / "src" / "lib" / "util.py"), tmp_path / "code2")
    assert (tmp_path / "code2" / "util.py").exists()


def test_a_staged_code_directory_is_used_as_it_is(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("staged")
    stage_source_dir("s3://bucket/sourcedir.tar.gz", code)  # the server staged it
    assert (code / "train.py").read_text() == "staged"


def test_an_unstaged_s3_bundle_is_a_platform_error(tmp_path: Path) -> None:
    with pytest.raises(PlatformError, match="server must download"):
        stage_source_dir("s3://bucket/sourcedir.tar.gz", tmp_path / "code")


def test_a_missing_source_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(SourceDirError, match="does not exist"):
        stage_source_dir(str(tmp_path / "nope"), tmp_path / "code")
