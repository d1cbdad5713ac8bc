"""File-system channels: the channel directory is a link to a shared directory, read in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelyard.data import stage_channel, validate_channel
from modelyard.errors import ValidationError
from modelyard.store.local import LocalStore

DIRECTORY_FIELD = "DataSource.FileSystemDataSource.DirectoryPath"


def fs_channel(directory: Path, *, access: str = "ro") -> dict[str, Any]:
    return {
        "ChannelName": "shared",
        "DataSource": {
            "FileSystemDataSource": {
                "FileSystemId": "fs-0123456789abcdef0",
                "FileSystemType": "EFS",
                "DirectoryPath": str(directory),
                "FileSystemAccessMode": access,
            }
        },
    }


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    directory = tmp_path / "efs" / "datasets"
    (directory / "images").mkdir(parents=True)
    (directory / "images" / "0.png").write_bytes(b"png")
    return directory


def test_channel_dir_links_to_the_shared_directory(
    local_store: LocalStore, dest: Path, shared: Path
) -> None:
    (dest / "shared").mkdir()  # what the job directory writer leaves
    staged = stage_channel(
        local_store, fs_channel(shared), dest, host_index=0, host_count=2, input_mode="File"
    )
    with staged:
        assert staged.path == dest / "shared"
        assert staged.path.is_symlink()
        assert staged.path.resolve() == shared.resolve()
        assert staged.source == "FileSystem"
        assert staged.mode == "File"
        assert staged.read_only
        assert (staged.path / "images" / "0.png").read_bytes() == b"png"
        # Read in place: what appears in the shared directory later is seen at once.
        (shared / "late.csv").write_text("x\n")
        assert (staged.path / "late.csv").read_text() == "x\n"


def test_rw_access_is_recorded(local_store: LocalStore, dest: Path, shared: Path) -> None:
    staged = stage_channel(
        local_store,
        fs_channel(shared, access="rw"),
        dest,
        host_index=0,
        host_count=1,
        input_mode="File",
    )
    assert not staged.read_only
    # Restaging replaces the link.
    again = stage_channel(
        local_store, fs_channel(shared), dest, host_index=0, host_count=1, input_mode="File"
    )
    assert again.path.resolve() == shared.resolve()


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_a_missing_directory_is_refused(
    local_store: LocalStore, dest: Path, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "nothere"
    if kind == "file":
        path.write_text("not a directory")
    with pytest.raises(ValidationError) as caught:
        validate_channel(local_store, fs_channel(path), 2)
    assert caught.value.field == f"InputDataConfig.2.{DIRECTORY_FIELD}"
    with pytest.raises(ValidationError) as caught:
        stage_channel(
            local_store, fs_channel(path), dest, host_index=0, host_count=1, input_mode="File"
        )
    assert caught.value.field == f"Channel.{DIRECTORY_FIELD}"
    assert not (dest / "shared").exists()


def test_file_system_channels_are_file_mode_only(
    local_store: LocalStore, dest: Path, shared: Path
) -> None:
    with pytest.raises(ValidationError) as caught:
        stage_channel(
            local_store, fs_channel(shared), dest, host_index=0, host_count=1, input_mode="Pipe"
        )
    assert caught.value.field == "Channel.InputMode"


def test_a_channel_dir_holding_files_is_not_replaced(
    local_store: LocalStore, dest: Path, shared: Path
) -> None:
    (dest / "shared").mkdir()
    (dest / "shared" / "keep.txt").write_text("mine")
    with pytest.raises(ValidationError):
        stage_channel(
            local_store, fs_channel(shared), dest, host_index=0, host_count=1, input_mode="File"
        )
    assert (dest / "shared" / "keep.txt").read_text() == "mine"
