"""Packages are verified before anything loads them: hashes, signature, safe paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelyard_edge import TamperedPackageError, open_package
from tests import packages


def test_a_signed_package_verifies(tmp_path: Path) -> None:
    package = open_package(packages.build(tmp_path), tmp_path / "x", [packages.PUBLIC_HEX])
    assert (package.name, package.version) == ("iris", "1")
    assert package.signed_by is not None
    assert package.model_path.is_file()


def test_a_changed_file_is_refused(tmp_path: Path) -> None:
    directory = packages.build_dir(tmp_path / "p")
    (directory / "model.onnx").write_bytes((packages.DATA / "linear-b.onnx").read_bytes())
    with pytest.raises(TamperedPackageError, match=r"model\.onnx does not match the manifest"):
        open_package(packages.tarball(directory, tmp_path / "p.tar.gz"), tmp_path / "x")


def test_a_changed_manifest_breaks_the_signature(tmp_path: Path) -> None:
    directory = packages.build_dir(tmp_path / "p")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["Version"] = "999"
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with pytest.raises(TamperedPackageError, match="signature does not verify"):
        open_package(directory, directory, [packages.PUBLIC_HEX])


def test_unsigned_or_untrusted_packages_are_refused_when_keys_are_trusted(tmp_path: Path) -> None:
    unsigned = packages.build(tmp_path, "unsigned", secret=None)
    with pytest.raises(TamperedPackageError, match="not signed"):
        open_package(unsigned, tmp_path / "x", [packages.PUBLIC_HEX])
    assert open_package(unsigned, tmp_path / "y").signed_by is None  # no trust configured
    other = packages.build(tmp_path, "other", secret=b"\x07" * 32)
    with pytest.raises(TamperedPackageError, match="does not trust"):
        open_package(other, tmp_path / "z", [packages.PUBLIC_HEX])


def test_unlisted_files_unsafe_paths_and_garbage_are_refused(tmp_path: Path) -> None:
    directory = packages.build_dir(tmp_path / "p")
    (directory / "extra.py").write_text("print('hi')")
    with pytest.raises(TamperedPackageError, match=r"not in the manifest: extra\.py"):
        open_package(directory, directory)
    with pytest.raises(TamperedPackageError, match="unsafe path"):
        open_package(packages.evil_tarball(tmp_path / "evil.tar.gz"), tmp_path / "e")
    assert not (tmp_path / "escape.txt").exists()
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(TamperedPackageError, match="not a readable archive"):
        open_package(garbage, tmp_path / "g")
