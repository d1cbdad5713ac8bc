"""safe_extract refuses archives that would write outside their destination."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from modelyard.container.archive import ArchiveReadError, UnsafeArchiveError, safe_extract


def make_tar(path: Path, members: list[tuple[str, str, str | bytes]]) -> Path:
    """members: (kind, name, content-or-linkname); kind in file, dir, sym, hard, fifo, chr."""
    with tarfile.open(path, "w:gz") as archive:
        for kind, name, payload in members:
            info = tarfile.TarInfo(name)
            data = None
            if kind == "file":
                raw = payload.encode() if isinstance(payload, str) else payload
                info.size = len(raw)
                data = io.BytesIO(raw)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, str(payload)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
            archive.addfile(info, data)
    return path


def test_a_model_archive_extracts(tmp_path: Path) -> None:
    tar = make_tar(
        tmp_path / "model.tar.gz",
        [
            ("file", "model.joblib", b"\x80model"),
            ("dir", "code", ""),
            ("file", "code/inference.py", "def model_fn(model_dir): pass\n"),
            ("sym", "code/link.py", "inference.py"),
            ("hard", "copy.joblib", "model.joblib"),
        ],
    )
    dest = tmp_path / "model"
    names = safe_extract(tar, dest)
    assert "code/inference.py" in names
    assert (dest / "model.joblib").read_bytes() == b"\x80model"
    assert (dest / "code" / "link.py").read_text().startswith("def model_fn")
    assert (dest / "copy.joblib").read_bytes() == b"\x80model"


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        ([("file", "/etc/evil", "x")], "'/etc/evil' has an absolute path"),
        ([("file", "../evil", "x")], "'../evil' has a '..' component"),
        ([("file", "code/../../evil", "x")], "'code/../../evil' has a '..'"),
        ([("sym", "link", "/etc/passwd")], "'link' is a symlink to the absolute path"),
        ([("sym", "code/link", "../../etc")], "leads outside the destination"),
        ([("hard", "link", "/etc/passwd")], "'link' is a hard link"),
        ([("hard", "link", "missing")], "not a file earlier in the archive"),
        ([("fifo", "pipe", "")], "'pipe' is a FIFO"),
        ([("chr", "null", "")], "'null' is a device"),
        ([("sym", "d", "."), ("file", "d/x", "y")], "lies under the symlink 'd'"),
    ],
)
def test_unsafe_members_are_refused_by_name(
    tmp_path: Path, members: list[tuple[str, str, str]], fragment: str
) -> None:
    tar = make_tar(tmp_path / "bad.tar.gz", [("file", "ok.txt", "fine"), *members])
    dest = tmp_path / "model"
    with pytest.raises(UnsafeArchiveError) as info:
        safe_extract(tar, dest)
    assert fragment in str(info.value)
    assert str(tar) in str(info.value)
    assert not (dest / "ok.txt").exists(), "nothing is written when a member is refused"


def test_not_a_tarball(tmp_path: Path) -> None:
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"definitely not a tarball")
    with pytest.raises(ArchiveReadError, match="cannot extract"):
        safe_extract(path, tmp_path / "model")
