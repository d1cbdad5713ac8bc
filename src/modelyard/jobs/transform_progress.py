"""A transform job's progress: objects, records and input bytes done, out of the totals.

``ElapsedSeconds`` is the time spent transforming in this run (since the replicas were
ready; a resumed job starts it again), so ``RecordsDone / ElapsedSeconds`` is the rate.

Counted from every instance's threads, written to the catalog (describe's
``TransformProgress``) and to the job's log at most every ``interval_s``, and once more
at the end. Records have no total: they are only known once an object is read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

PROGRESS_KEY = "Progress"


class Progress:
    """Thread-safe counters of one job (see the module doc)."""

    def __init__(self, objects_total: int, bytes_total: int) -> None:
        self.objects_total = objects_total
        self.bytes_total = bytes_total
        self.objects_done = 0
        self.records_done = 0
        self.bytes_done = 0
        self.objects_skipped = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._finished: float | None = None

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.bytes_done += count

    def add_records(self, count: int) -> None:
        with self._lock:
            self.records_done += count

    def object_done(self) -> None:
        with self._lock:
            self.objects_done += 1

    def skip(self, size: int) -> None:
        """An object already written before a server restart."""
        with self._lock:
            self.objects_done += 1
            self.objects_skipped += 1
            self.bytes_done += size

    def finish(self) -> None:
        """The transforming is over: the elapsed time stops here."""
        self._finished = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        elapsed = (self._finished or time.monotonic()) - self._started
        with self._lock:
            return {
                "ObjectsDone": self.objects_done,
                "ObjectsTotal": self.objects_total,
                "RecordsDone": self.records_done,
                "BytesDone": self.bytes_done,
                "BytesTotal": self.bytes_total,
                "ElapsedSeconds": round(elapsed, 3),
            }


def describe_line(snapshot: dict[str, Any]) -> str:
    """One log line: ``progress: 3/10 objects, 12000 records, 1.5/5.0 MB``."""
    mb_done = snapshot["BytesDone"] / 2**20
    mb_total = snapshot["BytesTotal"] / 2**20
    return (
        f"progress: {snapshot['ObjectsDone']}/{snapshot['ObjectsTotal']} objects, "
        f"{snapshot['RecordsDone']} records, {mb_done:.1f}/{mb_total:.1f} MB"
    )


class ProgressReporter:
    """Writes the progress every ``interval_s`` from its own thread until closed."""

    def __init__(
        self,
        progress: Progress,
        write: Callable[[dict[str, Any]], None],
        *,
        interval_s: float = 1.0,
    ) -> None:
        self.progress = progress
        self.write = write
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="transform-progress", daemon=True)
        self._last: dict[str, Any] | None = None

    def start(self) -> ProgressReporter:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self) -> None:
        snapshot = self.progress.snapshot()
        if {**snapshot, "ElapsedSeconds": 0} != {**(self._last or {}), "ElapsedSeconds": 0}:
            self._last = snapshot
            self.write(snapshot)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)
        self._last = self.progress.snapshot()
        self.write(self._last)
