"""What staging a channel returns: where the script finds it, and how to stop feeding it."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Protocol


class Feeder(Protocol):
    """A background feeder of a channel (Pipe FIFOs, FastFile streams)."""

    def stop(self) -> None:
        """Stop feeding and release threads and FIFOs; returns promptly, idempotent."""

    def detach(self) -> None:
        """Stop the threads but leave the FIFOs (and scripts waiting on them) in place, for
        a new server to feed (:mod:`modelyard.data.resume`); returns promptly."""

    @property
    def error(self) -> BaseException | None:
        """The failure that ended feeding early, if any."""


class StagedChannel:
    """A channel made available to a training script.

    ``path`` is the channel directory ``<dest>/<name>`` (``SM_CHANNEL_<NAME>``):
    the files (File, FastFile), a symbolic link to the shared directory
    (FileSystem), or an empty directory beside the FIFOs ``<dest>/<name>_<epoch>``
    (Pipe; see :meth:`fifo_path`). ``object_count`` and ``bytes_total`` count the
    objects this host receives per epoch, in stored (possibly compressed) bytes;
    0 for a file-system channel, which is not listed. For an augmented manifest,
    ``object_count`` counts this host's manifest lines and ``bytes_total`` is 0.
    """

    def __init__(
        self,
        name: str,
        mode: str,
        path: Path,
        *,
        object_count: int = 0,
        bytes_total: int = 0,
        source: str = "S3",
        read_only: bool = False,
        feeder: Feeder | None = None,
    ) -> None:
        self.name = name
        self.mode = mode
        self.path = path
        self.object_count = object_count
        self.bytes_total = bytes_total
        self.source = source
        self.read_only = read_only
        self._feeder = feeder
        self._closed = False
        self._lock = threading.Lock()

    def fifo_path(self, epoch: int) -> Path:
        """The FIFO of ``epoch`` (Pipe mode): ``<dest>/<name>_<epoch>``."""
        return self.path.with_name(f"{self.name}_{epoch}")

    @property
    def error(self) -> BaseException | None:
        """Why feeding stopped early (an unreadable object, a too-large record), if it did."""
        return self._feeder.error if self._feeder is not None else None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop the feeder threads (Pipe, FastFile); idempotent, never blocks for long."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._feeder is not None:
            self._feeder.stop()

    def detach(self) -> None:
        """The server goes away, the job stays: stop the feeder threads, keep the FIFOs."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._feeder is not None:
            self._feeder.detach()

    def __enter__(self) -> StagedChannel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"StagedChannel(name={self.name!r}, mode={self.mode!r}, path={str(self.path)!r}, "
            f"objects={self.object_count}, bytes={self.bytes_total})"
        )
