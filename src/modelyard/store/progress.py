"""Progress of a transfer: a Rich bar (bytes and files), a callback, or nothing.

Transfers take ``progress: bool | ProgressCallback``: ``True`` draws a bar on
stderr, a callable receives the number of bytes moved after each chunk (from
worker threads, so it must be thread-safe), ``False`` reports nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

ProgressCallback = Callable[[int], None]
ProgressOption = bool | ProgressCallback


class Reporter:
    """What a transfer reports to: bytes moved and files finished."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes have moved."""

    def file_done(self) -> None:
        """One more file is complete."""


class _CallbackReporter(Reporter):
    def __init__(self, callback: ProgressCallback) -> None:
        self._callback = callback

    def advance(self, nbytes: int) -> None:
        self._callback(nbytes)


class _RichReporter(Reporter):
    def __init__(self, progress: Progress, task: TaskID, total_files: int) -> None:
        self._progress = progress
        self._task = task
        self._total_files = total_files
        self._files = 0
        self._lock = threading.Lock()

    def advance(self, nbytes: int) -> None:
        self._progress.update(self._task, advance=nbytes)

    def file_done(self) -> None:
        with self._lock:
            self._files += 1
            files = self._files
        self._progress.update(self._task, files=f"{files}/{self._total_files} files")


@contextmanager
def reporting(
    progress: ProgressOption,
    *,
    description: str,
    total_bytes: int | None,
    total_files: int = 1,
    console: Console | None = None,
) -> Iterator[Reporter]:
    """The reporter ``progress`` asks for, live for the duration of the transfer."""
    if progress is False:
        yield Reporter()
        return
    if callable(progress):
        yield _CallbackReporter(progress)
        return
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[files]}"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )
    with bar:
        task = bar.add_task(description, total=total_bytes, files=f"0/{total_files} files")
        yield _RichReporter(bar, task, total_files)


class CountingReader:
    """A read-only stream reporting each chunk read through it."""

    def __init__(self, inner: BinaryIO, reporter: Reporter) -> None:
        self._inner = inner
        self._reporter = reporter

    def read(self, size: int = -1) -> bytes:
        chunk = self._inner.read(size)
        if chunk:
            self._reporter.advance(len(chunk))
        return chunk

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()
