"""Metrics parsed from a job's log as it streams (SageMaker's ``MetricDefinitions``).

Each definition is ``{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}``: every log line
is searched with every regex and the first group of each match is a point of that
metric. A regex that finds nothing in a line holding tabs is tried again on the line
with each tab written ``#011``, the way CloudWatch shows a tab: SageMaker's regexes for
XGBoost's evaluation lines (``...#011validation-rmse:...``) match a local log as they
match CloudWatch's. A :class:`MetricFollower` thread follows one container's log, sends points to
the catalog in small batches, and records how many lines it has read so that a
follower restarted after a server restart neither loses nor repeats points.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from modelyard.catalog.base import Catalog
from modelyard.errors import ModelyardError
from modelyard.ids import ResourceKind, utcnow
from modelyard.runtime.base import Handle

log = logging.getLogger(__name__)

#: State key holding the number of log lines the follower has consumed.
LINES_KEY = "MetricLogLines"
FLUSH_INTERVAL_S = 0.5
FLUSH_POINTS = 200

Point = tuple[str, datetime, float]
#: How CloudWatch Logs writes a tab (syslog's octal escape), which SageMaker regexes expect.
CLOUDWATCH_TAB = "#011"


class MetricParser:
    """The metric definitions of a job, compiled."""

    def __init__(self, definitions: Sequence[Mapping[str, Any]]) -> None:
        self.definitions = [(str(d["Name"]), re.compile(str(d["Regex"]))) for d in definitions]

    def __bool__(self) -> bool:
        return bool(self.definitions)

    def parse(self, line: str, at: datetime | None = None) -> list[Point]:
        """The points ``line`` holds (a value that is not a finite number is skipped)."""
        found: list[Point] = []
        cloudwatch = line.replace("\t", CLOUDWATCH_TAB) if "\t" in line else None
        for name, regex in self.definitions:
            matches = list(regex.finditer(line))
            if not matches and cloudwatch is not None:
                matches = list(regex.finditer(cloudwatch))
            for match in matches:
                text = match.group(1) if regex.groups else match.group(0)
                try:
                    value = float(text)
                except (TypeError, ValueError):
                    continue
                if math.isfinite(value):
                    found.append((name, at or utcnow(), value))
        return found


class MetricFollower:
    """Follows one container's log in a thread and stores the metric points it finds."""

    def __init__(
        self,
        catalog: Catalog,
        kind: ResourceKind,
        name: str,
        handle: Handle,
        parser: MetricParser,
        *,
        since_line: int = 0,
        stopped: Callable[[], bool] = lambda: False,
    ) -> None:
        self.catalog = catalog
        self.kind = kind
        self.name = name
        self.handle = handle
        self.parser = parser
        self.lines = since_line
        self._stopped = stopped
        self._thread = threading.Thread(target=self._run, name=f"metrics-{name}", daemon=True)

    def start(self) -> MetricFollower:
        self._thread.start()
        return self

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the log to be drained; True when it was."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _run(self) -> None:
        pending: list[Point] = []
        last_flush = time.monotonic()
        try:
            for line in self._lines():
                if self._stopped():
                    return
                self.lines += 1
                pending.extend(self.parser.parse(line))
                now = time.monotonic()
                if len(pending) >= FLUSH_POINTS or (
                    pending and now - last_flush >= FLUSH_INTERVAL_S
                ):
                    self._flush(pending)
                    pending = []
                    last_flush = now
            if not self._stopped():
                self._flush(pending)
        except Exception:  # a follower must never take the server down
            if not self._stopped():
                log.exception("following the metrics of %s %s failed", self.kind.value, self.name)

    def _lines(self) -> Iterator[str]:
        return self.handle.logs(follow=True, since_line=self.lines)

    def _flush(self, points: list[Point]) -> None:
        with contextlib.suppress(ModelyardError):
            if points:
                self.catalog.add_metric_points(self.kind, self.name, points)
            self.catalog.update(self.kind, self.name, state_updates={LINES_KEY: self.lines})
