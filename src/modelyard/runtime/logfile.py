"""Reading a log file that another process is still writing, line by line."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import BinaryIO

_CHUNK_BYTES = 64 * 1024


def _never_running() -> bool:
    return False


def read_log_lines(
    path: Path,
    *,
    since_line: int = 0,
    follow: bool = False,
    is_running: Callable[[], bool] = _never_running,
    poll_interval_s: float = 0.1,
) -> Iterator[str]:
    """The lines of ``path`` (without their newline) from line ``since_line`` (0-based).

    With ``follow``, waits for more while ``is_running()`` is true and stops once the
    writer has exited and the file is drained: the check for "running" is made
    *before* the last read, so nothing written just before the exit is lost. Like
    ``tail -F``, a file replaced or truncated meanwhile (a rebuild starting a new
    log) is read again from its start. A last line without its newline is yielded
    only when no more can come. Bytes that are not UTF-8 are replaced.
    """
    line_no = 0
    while True:
        while not path.exists():
            if not follow or not is_running():
                return
            time.sleep(poll_interval_s)
        with open(path, "rb") as fh:
            lines = _read_lines(fh, path, follow, is_running, poll_interval_s)
            while True:
                try:
                    line = next(lines)
                except StopIteration as end:
                    replaced = bool(end.value)
                    break
                if line_no >= since_line:
                    yield line
                line_no += 1
        if not replaced:
            return
        line_no = since_line  # a new file: all of it is new


def _read_lines(
    fh: BinaryIO, path: Path, follow: bool, is_running: Callable[[], bool], poll_s: float
) -> Generator[str, None, bool]:
    """Lines of one open file; returns True if it ended by the file being replaced."""
    pending = b""
    while True:
        chunk = fh.read(_CHUNK_BYTES)
        if not chunk:
            if not follow:
                break
            running = is_running()
            chunk = fh.read(_CHUNK_BYTES)
            if not chunk:
                if _was_replaced(fh, path):
                    return True
                if not running:
                    break
                time.sleep(poll_s)
                continue
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")
    return False


def _was_replaced(fh: BinaryIO, path: Path) -> bool:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return True
    return current.st_ino != os.fstat(fh.fileno()).st_ino or current.st_size < fh.tell()


def tail_lines(path: Path, count: int, *, max_bytes: int = 256 * 1024) -> list[str]:
    """The last ``count`` lines of ``path`` (reading at most its last ``max_bytes``)."""
    if count <= 0 or not path.exists():
        return []
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - max_bytes))
        data = fh.read()
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[-count:]
