"""Reading a log file that another process is still writing, line by line."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

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
    *before* the last read, so nothing written just before the exit is lost. A
    last line without its newline is yielded only when no more can come. Bytes
    that are not UTF-8 are replaced, never raised on.
    """
    while not path.exists():
        if not follow or not is_running():
            return
        time.sleep(poll_interval_s)
    line_no = 0
    pending = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK_BYTES)
            if not chunk:
                if not follow:
                    break
                running = is_running()
                chunk = fh.read(_CHUNK_BYTES)
                if not chunk:
                    if not running:
                        break
                    time.sleep(poll_interval_s)
                    continue
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line_no >= since_line:
                    yield line.decode("utf-8", errors="replace")
                line_no += 1
    if pending and line_no >= since_line:
        yield pending.decode("utf-8", errors="replace")


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
