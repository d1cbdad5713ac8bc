"""Named pipes: the one module of ``data/`` that creates, opens and writes FIFOs.

A writer never blocks for long, so that whoever feeds a FIFO can be stopped:

* opening waits for a reader by polling ``open(O_WRONLY | O_NONBLOCK)``, which
  fails with ENXIO until a reader has the FIFO open (a blocking open would
  wait forever for a script that never comes);
* writes are non-blocking, waiting for room with ``poll`` in short slices;
  ``EPIPE`` / ``POLLERR`` (the reader closed its end) raise :class:`ReaderGoneError`.

Python ignores SIGPIPE, so a vanished reader is an ``EPIPE`` error here, not
a signal killing the process.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import threading
import uuid
from pathlib import Path

WAIT_SLICE_S = 0.1
FIRST_POLL_S = 0.005
MAX_POLL_S = 0.1
PIPE_BUFFER_BYTES = 1024 * 1024
FIFO_MODE = 0o660


class ReaderGoneError(Exception):
    """The reader closed its end of the FIFO before the writer finished."""


class FeedStoppedError(Exception):
    """The feeder was asked to stop while writing."""


def make_fifo(path: Path) -> None:
    """Create a FIFO at ``path`` atomically, replacing whatever was there."""
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.fifo")
    os.mkfifo(temp, FIFO_MODE)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def remove_fifo(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def try_open_writer(path: Path) -> int | None:
    """A non-blocking write descriptor on the FIFO, or None while nobody reads it.

    A FIFO the script removed also gives None: its reader can never come, and
    that is no reason to fail the feeder.
    """
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT, errno.ENOTDIR):
            return None
        raise


def wait_for_reader(path: Path, stop: threading.Event) -> int | None:
    """Poll until a reader opens ``path`` (returns a write descriptor) or ``stop`` is set."""
    interval = FIRST_POLL_S
    while not stop.is_set():
        fd = try_open_writer(path)
        if fd is not None:
            return fd
        stop.wait(interval)
        interval = min(interval * 2, MAX_POLL_S)
    return None


def release_waiting_reader(path: Path) -> None:
    """Give EOF to a reader blocked opening ``path`` (open for writing, close at once)."""
    with contextlib.suppress(OSError):
        fd = try_open_writer(path)
        if fd is not None:
            os.close(fd)


class FifoWriter:
    """Writes to a FIFO descriptor from :func:`try_open_writer`, interruptible by ``stop``."""

    def __init__(self, fd: int, stop: threading.Event) -> None:
        self.fd = fd
        self.bytes_written = 0
        self._stop = stop
        self._poller = select.poll()
        self._poller.register(fd, select.POLLOUT)
        with contextlib.suppress(OSError):  # a bigger buffer: fewer wake-ups; best effort
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BUFFER_BYTES)

    def write(self, data: bytes | memoryview) -> None:
        """Write all of ``data``; raises ReaderGoneError or FeedStoppedError."""
        view = memoryview(data)
        while view:
            if self._stop.is_set():
                raise FeedStoppedError
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                self._wait_for_room()
                continue
            except BrokenPipeError as exc:
                raise ReaderGoneError from exc
            self.bytes_written += written
            view = view[written:]

    def _wait_for_room(self) -> None:
        while not self._stop.is_set():
            events = self._poller.poll(WAIT_SLICE_S * 1000)
            for _fd, event in events:
                if event & (select.POLLERR | select.POLLHUP):
                    raise ReaderGoneError
                if event & select.POLLOUT:
                    return
        raise FeedStoppedError

    def close(self) -> None:
        """Close the descriptor: the reader sees end of file once it has read what is buffered."""
        with contextlib.suppress(OSError):
            os.close(self.fd)
