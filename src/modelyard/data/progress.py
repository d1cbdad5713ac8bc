"""Where a channel's feeder records how far it got, so that a new server can take over.

Pipe and FastFile channels are fed by threads of the server (:mod:`.pipe`,
:mod:`.fastfile`); the training script outlives a server restart, its feeders do not.
Each feeder writes a small JSON file (atomically, on every change that matters) that
the next server reads (:mod:`.resume`) to feed the channel again, or to say honestly
that it cannot:

Pipe: ``{"mode": "Pipe", "epoch": e, "reading": false|true}``
    ``reading`` turns true as soon as the script has opened ``<channel>_<e>`` and
    false again (with ``epoch`` = e+1) once every byte of epoch e is written and
    ``<channel>_<e+1>`` exists. A server that dies while ``reading`` is true leaves the
    script with a truncated epoch (the pipe's writer is gone: the script sees an early
    end of file, indistinguishable from the real one), which cannot be resumed.
FastFile (served from a non-local store): ``{"mode": "FastFile", "streams": n}``
    the number of files being streamed right now; a server that dies while n > 0 has
    cut those files short.

The file is written right after the writer's ``open`` succeeds, so a server dying in
the microseconds between the two can still hand a script an empty read unrecorded.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any


class ProgressFile:
    """A feeder's progress record (see the module doc); thread-safe, atomic writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, **state: Any) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
            temp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
            os.replace(temp, self.path)

    def read(self) -> dict[str, Any] | None:
        """The last record, or None when there is none (or it cannot be read)."""
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return content if isinstance(content, dict) else None
