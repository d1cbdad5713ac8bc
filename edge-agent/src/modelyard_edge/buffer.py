"""Captured inputs/outputs and metrics, buffered on local disk up to a size bound.

Records are appended as JSON Lines to segments ``seg-<n>.jsonl`` in the buffer's
directory; a segment is closed at ``segment_bytes``. When the segments together pass
``max_bytes``, the oldest are deleted and their records counted as dropped, so a
device offline for weeks never fills its disk. Closed segments wait for
:meth:`CaptureBuffer.take` to hand them to the uploader, which deletes them with
:meth:`CaptureBuffer.ack` once the control plane has them.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

STATE_FILE = "buffer-state.json"


class CaptureBuffer:
    def __init__(
        self, directory: Path, *, max_bytes: int = 16 << 20, segment_bytes: int = 256 << 10
    ):
        if max_bytes < segment_bytes:
            segment_bytes = max(1, max_bytes // 2)
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        state = self._read_state()
        self.dropped = int(state.get("Dropped", 0))
        self.captured = int(state.get("Captured", 0))
        numbers = [self._number(p) for p in self.directory.glob("seg-*.jsonl")]
        self._next = max(numbers, default=0) + 1
        self._current: Path | None = None
        self._current_size = 0
        self._current_count = 0
        self._total_bytes = sum(p.stat().st_size for p in self.segments())

    @staticmethod
    def _number(path: Path) -> int:
        return int(path.stem.split("-", 1)[1])

    def _read_state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.directory / STATE_FILE).read_text())
            return data
        except (OSError, ValueError):
            return {}

    def _write_state(self) -> None:
        path = self.directory / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"Dropped": self.dropped, "Captured": self.captured}))
        temporary.replace(path)

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("seg-*.jsonl"), key=self._number)

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.segments() if p.exists())

    def append(self, record: dict[str, Any]) -> None:
        """Append one record (counters reach the disk on drops, :meth:`take` and :meth:`close`)."""
        line = (json.dumps(record, separators=(",", ":"), default=_jsonable) + "\n").encode()
        with self._lock:
            if self._current is None or self._current_size + len(line) > self.segment_bytes:
                self._current = self.directory / f"seg-{self._next:010d}.jsonl"
                self._next += 1
                self._current_size = 0
                self._current_count = 0
            with self._current.open("ab") as handle:
                handle.write(line)
            self._current_size += len(line)
            self._current_count += 1
            self._total_bytes += len(line)
            self.captured += 1
            if self._total_bytes > self.max_bytes:
                self._enforce_bound()
                self._write_state()

    def _enforce_bound(self) -> None:
        segments = self.segments()
        while self._total_bytes > self.max_bytes and len(segments) > 1:
            oldest = segments.pop(0)
            size = oldest.stat().st_size
            with oldest.open("rb") as handle:
                self.dropped += sum(1 for _ in handle)
            oldest.unlink()
            self._total_bytes -= size

    def close(self) -> None:
        """Write the counters (the agent calls it when it stops)."""
        with self._lock:
            self._write_state()

    def take(self) -> list[Path]:
        """Every segment with records, the open one closed first (the uploader's batch)."""
        with self._lock:
            self._current = None
            self._write_state()
            return self.segments()

    def ack(self, segment: Path) -> None:
        """The control plane has ``segment``: delete it."""
        with self._lock:
            if segment.exists():
                self._total_bytes -= segment.stat().st_size
                segment.unlink()

    @staticmethod
    def read(segment: Path) -> list[dict[str, Any]]:
        records = []
        with segment.open("r", encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        continue  # a line cut by a power loss
        return records

    def pending_records(self) -> int:
        with self._lock:
            count = 0
            for segment in self.segments():
                with segment.open("rb") as handle:
                    count += sum(1 for _ in handle)
            return count


def _jsonable(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    return str(value)
