"""File-system channels (``FileSystemDataSource``): a shared directory read in place.

SageMaker mounts an EFS or FSx for Lustre directory at the channel path; here
``DirectoryPath`` is a directory on a file system this machine already mounts
(NFS, Lustre, a local disk), and the channel directory becomes a symbolic link
to it: nothing is copied, and the script reads (or, with ``rw``, writes) the
shared files themselves.

``FileSystemAccessMode`` is recorded (``StagedChannel.read_only``) but not
enforced: a symbolic link cannot be read-only, and a read-only bind mount
needs privileges a local runtime does not have. A runtime that does mount
(containers) can honour it from the flag. ``FileSystemId`` and
``FileSystemType`` are checked for shape only: the directory path alone
locates the data.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from modelyard.data.channel import ChannelSpec, FileSystemSource
from modelyard.data.staged import StagedChannel
from modelyard.errors import ValidationError


def check_directory(spec: ChannelSpec) -> Path:
    """The channel's ``DirectoryPath``, refused unless it is an existing directory."""
    source = spec.source
    assert isinstance(source, FileSystemSource)
    path = source.directory_path
    if not path.is_dir():
        problem = "does not exist" if not path.exists() else "is not a directory"
        raise ValidationError(
            f"channel {spec.name!r}: DirectoryPath {str(path)!r} {problem}; name a directory "
            "on a file system mounted on this machine",
            field=spec.field("DataSource.FileSystemDataSource.DirectoryPath"),
        )
    return path


def stage_file_system(spec: ChannelSpec, channel_dir: Path) -> StagedChannel:
    """Make ``channel_dir`` a symbolic link to the channel's directory."""
    target = check_directory(spec)
    source = spec.source
    assert isinstance(source, FileSystemSource)
    _remove_placeholder(channel_dir)
    channel_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = channel_dir.with_name(f".{channel_dir.name}.{uuid.uuid4().hex[:12]}.link")
    os.symlink(target, temp, target_is_directory=True)
    try:
        os.replace(temp, channel_dir)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return StagedChannel(
        spec.name,
        "File",
        channel_dir,
        source="FileSystem",
        read_only=source.access_mode == "ro",
    )


def _remove_placeholder(channel_dir: Path) -> None:
    """Clear the way for the link: an old link, or the empty directory the job dir writer made."""
    if channel_dir.is_symlink() or channel_dir.is_file():
        channel_dir.unlink()
    elif channel_dir.is_dir():
        if any(channel_dir.iterdir()):
            raise ValidationError(
                f"channel {channel_dir.name!r}: {str(channel_dir)!r} already holds files; a "
                "file-system channel replaces the directory with a link to the shared one",
                field="ChannelName",
            )
        channel_dir.rmdir()
