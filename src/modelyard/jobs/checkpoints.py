"""Checkpoints (``CheckpointConfig``): restored before start, synced up while training.

As SageMaker does: whatever is under ``CheckpointConfig.S3Uri`` is copied into each
host's checkpoint directory before the container starts, and the directory is copied
back to ``S3Uri`` while the job runs (every ``interval`` seconds, only the files that
changed since the last copy) and once more when it ends, stopped ones included. A job
started again with the same ``CheckpointConfig`` therefore finds the last checkpoints
of the one before it. Files deleted locally are not deleted from the store.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from modelyard.errors import ModelyardError
from modelyard.store.base import Store
from modelyard.store.transfer import download_directory, upload_file
from modelyard.store.uri import S3Uri, parse_s3_uri

log = logging.getLogger(__name__)


def restore_checkpoints(store: Store, uri: str, local_dir: Path) -> int:
    """Copy every object under ``uri`` into ``local_dir``; the number of files."""
    local_dir.mkdir(parents=True, exist_ok=True)
    source = parse_s3_uri(uri, field="CheckpointConfig.S3Uri")
    if not store.bucket_exists(source.bucket):
        return 0
    return len(download_directory(store, source, local_dir))


class CheckpointSyncer:
    """Copies changed files of some directories up to one prefix; call :meth:`sync`."""

    def __init__(self, store: Store, uri: str, directories: list[Path]) -> None:
        self.store = store
        self.target: S3Uri = parse_s3_uri(uri, field="CheckpointConfig.S3Uri")
        self.directories = directories
        self._sent: dict[tuple[Path, str], tuple[int, int]] = {}

    def sync(self) -> int:
        """Upload what changed since the last call; the number of files sent."""
        sent = 0
        for directory in self.directories:
            if not directory.is_dir():
                continue
            for root, dirs, files in os.walk(directory):
                dirs.sort()
                for name in sorted(files):
                    path = Path(root, name)
                    relative = path.relative_to(directory).as_posix()
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue  # removed while we walked
                    stamp = (st.st_size, st.st_mtime_ns)
                    if not path.is_file() or self._sent.get((directory, relative)) == stamp:
                        continue
                    try:
                        upload_file(self.store, path, self.target.child(relative))
                    except (ModelyardError, OSError) as exc:
                        log.warning("checkpoint %s not synced: %s", path, exc)
                        continue
                    self._sent[(directory, relative)] = stamp
                    sent += 1
        return sent
