"""Busy clocks: since when each worker has been inside a request, for the supervisor.

The model timeout (``SAGEMAKER_MODEL_SERVER_TIMEOUT``) is enforced inside a worker by a
``SIGALRM`` that raises into the handler; Python code stops at once, but a long call
into C code that never returns to the interpreter (a runaway native loop) cannot be
interrupted that way. So each worker also writes, into one slot of a small shared
file, the monotonic time its current request started (0.0 when idle). The supervisor
reads the slots and SIGKILLs a worker still busy ``hard_grace_s`` after the timeout;
it is then restarted like any dead worker. The client of that request sees its
connection close without an answer, which is all a stuck process allows.

The file is created and unlinked by the supervisor and handed to the workers as an
inherited descriptor; a slot write is a memory store (no system call).
"""

from __future__ import annotations

import mmap
import os
import struct
import tempfile
import time
from typing import Final

_SLOT: Final = struct.Struct("d")


def hard_grace_s(timeout_s: float) -> float:
    """How long past the timeout a busy worker is given before it is killed."""
    return max(2.0, 0.1 * timeout_s)


class BusyClocks:
    """One slot per worker (index 1..n) in a shared, unlinked file."""

    def __init__(self, fd: int, workers: int) -> None:
        self.fd = fd
        self.workers = workers
        self._map = mmap.mmap(fd, _SLOT.size * workers)

    @classmethod
    def create(cls, workers: int) -> BusyClocks:
        directory = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, path = tempfile.mkstemp(prefix="modelyard-busy-", dir=directory)
        os.unlink(path)
        os.ftruncate(fd, _SLOT.size * workers)
        os.set_inheritable(fd, True)
        return cls(fd, workers)

    def slot(self, index: int) -> BusySlot:
        return BusySlot(self._map, _SLOT.size * (index - 1))

    def busy_for_s(self, index: int, now_s: float | None = None) -> float:
        """How long worker ``index`` has been in its current request (0.0 when idle)."""
        started: float = _SLOT.unpack_from(self._map, _SLOT.size * (index - 1))[0]
        if started <= 0.0:
            return 0.0
        return (time.monotonic() if now_s is None else now_s) - started

    def reset(self, index: int) -> None:
        _SLOT.pack_into(self._map, _SLOT.size * (index - 1), 0.0)

    def close(self) -> None:
        self._map.close()
        os.close(self.fd)


class BusySlot:
    """A worker's own slot: :meth:`enter` when a request starts, :meth:`leave` after."""

    def __init__(self, buffer: mmap.mmap, offset: int) -> None:
        self._buffer = buffer
        self._offset = offset

    def enter(self) -> None:
        _SLOT.pack_into(self._buffer, self._offset, time.monotonic())

    def leave(self) -> None:
        _SLOT.pack_into(self._buffer, self._offset, 0.0)
