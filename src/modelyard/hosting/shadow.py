"""Shadow variants: what a shadow answered next to production, and the report on it.

The router sends the shadow variant a copy of a sampled production request once the
production response has gone back (:meth:`modelyard.hosting.router.Router.after_response`);
whatever the shadow does (fail, time out, die) is only recorded here, never seen by
the caller. Per endpoint, :class:`ShadowRecorder` keeps counts and the latest
``max_samples`` latencies of both sides, and :func:`shadow_report` turns them into:

    {"EndpointName", "ProductionVariant", "ShadowVariant", "SampledRequests",
     "Compared", "Agreements", "AgreementRate", "Dropped",
     "Production": {"Errors", "LatencyP50Ms", "LatencyP99Ms"},
     "Shadow": {"Errors", "LatencyP50Ms", "LatencyP99Ms"}}

Two answers agree when both succeeded and their bodies are equal: byte for byte, or
as JSON / CSV numbers equal within a relative tolerance of 1e-6 (a different float
formatting is not a disagreement).

The report survives a server restart: :meth:`ShadowRecorder.persist` writes the stats
that changed since the last call into their endpoint's catalog state (``ShadowReport``:
counts and the latest :data:`PERSISTED_SAMPLES` latencies of each side, enough for
p50/p99 while keeping the endpoint's row small); the endpoint loop calls it with its
metrics flush and at shutdown, and :meth:`ShadowRecorder.restore` loads them when the
endpoint is rebuilt.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from modelyard.catalog.base import Catalog
from modelyard.errors import NotFoundError
from modelyard.ids import ResourceKind

REL_TOLERANCE = 1e-6
#: The key of an endpoint's catalog state that keeps its shadow stats.
STATE_KEY = "ShadowReport"
#: Latencies of each side kept in the catalog (the newest; memory keeps ``max_samples``).
PERSISTED_SAMPLES = 2_000


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a == b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=REL_TOLERANCE, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return bool(a == b)


def _csv_values(text: str) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for line in text.strip().splitlines():
        row: list[Any] = []
        for cell in line.split(","):
            cell = cell.strip()
            try:
                row.append(float(cell))
            except ValueError:
                row.append(cell)
        rows.append(row)
    return rows


def responses_agree(production: bytes, shadow: bytes, content_type: str) -> bool:
    """Whether two successful answers say the same thing (see the module doc)."""
    if production == shadow:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        a_text, b_text = production.decode("utf-8"), shadow.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if "json" in media:
        try:
            return _close(json.loads(a_text), json.loads(b_text))
        except ValueError:
            return False
    if media == "text/csv":
        return _close(_csv_values(a_text), _csv_values(b_text))
    return False


def _latest(samples: deque[float]) -> list[float]:
    return list(samples)[-PERSISTED_SAMPLES:]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by the nearest-rank method; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class ShadowStats:
    """Counts and recent latencies of one endpoint's production/shadow pair."""

    production_variant: str
    shadow_variant: str
    max_samples: int = 10_000
    sampled: int = 0
    compared: int = 0
    agreements: int = 0
    dropped: int = 0
    production_errors: int = 0
    shadow_errors: int = 0
    production_latency_ms: deque[float] = field(default_factory=deque)
    shadow_latency_ms: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.production_latency_ms = deque(self.production_latency_ms, maxlen=self.max_samples)
        self.shadow_latency_ms = deque(self.shadow_latency_ms, maxlen=self.max_samples)

    def to_state(self) -> dict[str, Any]:
        """What the catalog keeps (read back by :meth:`from_state`)."""
        return {
            "ProductionVariant": self.production_variant,
            "ShadowVariant": self.shadow_variant,
            "SampledRequests": self.sampled,
            "Compared": self.compared,
            "Agreements": self.agreements,
            "Dropped": self.dropped,
            "ProductionErrors": self.production_errors,
            "ShadowErrors": self.shadow_errors,
            "ProductionLatencyMs": _latest(self.production_latency_ms),
            "ShadowLatencyMs": _latest(self.shadow_latency_ms),
        }

    @classmethod
    def from_state(cls, data: dict[str, Any], max_samples: int) -> ShadowStats:
        return cls(
            production_variant=str(data["ProductionVariant"]),
            shadow_variant=str(data["ShadowVariant"]),
            max_samples=max_samples,
            sampled=int(data.get("SampledRequests", 0)),
            compared=int(data.get("Compared", 0)),
            agreements=int(data.get("Agreements", 0)),
            dropped=int(data.get("Dropped", 0)),
            production_errors=int(data.get("ProductionErrors", 0)),
            shadow_errors=int(data.get("ShadowErrors", 0)),
            production_latency_ms=deque(float(v) for v in data.get("ProductionLatencyMs", [])),
            shadow_latency_ms=deque(float(v) for v in data.get("ShadowLatencyMs", [])),
        )


class ShadowRecorder:
    """Every endpoint's :class:`ShadowStats`; written from the router's loop, read by the API."""

    def __init__(self, *, max_samples: int = 10_000) -> None:
        self.max_samples = max_samples
        self._stats: dict[str, ShadowStats] = {}
        self._changed: set[str] = set()
        self._lock = threading.Lock()

    def _get(self, endpoint: str, production: str, shadow: str) -> ShadowStats:
        stats = self._stats.get(endpoint)
        if (
            stats is None
            or stats.production_variant != production
            or stats.shadow_variant != shadow
        ):
            stats = self._stats[endpoint] = ShadowStats(production, shadow, self.max_samples)
        self._changed.add(endpoint)
        return stats

    def dropped(self, endpoint: str, production: str, shadow: str) -> None:
        with self._lock:
            stats = self._get(endpoint, production, shadow)
            stats.sampled += 1
            stats.dropped += 1

    def record(
        self,
        endpoint: str,
        production: str,
        shadow: str,
        *,
        production_ok: bool,
        production_latency_ms: float,
        shadow_ok: bool,
        shadow_latency_ms: float | None,
        agree: bool,
    ) -> None:
        """One mirrored request; ``shadow_latency_ms`` is None when the shadow never answered."""
        with self._lock:
            stats = self._get(endpoint, production, shadow)
            stats.sampled += 1
            stats.production_latency_ms.append(production_latency_ms)
            if not production_ok:
                stats.production_errors += 1
            if not shadow_ok:
                stats.shadow_errors += 1
            if shadow_latency_ms is not None:
                stats.shadow_latency_ms.append(shadow_latency_ms)
            if production_ok and shadow_ok:
                stats.compared += 1
                stats.agreements += int(agree)

    def report(self, endpoint: str) -> dict[str, Any] | None:
        with self._lock:
            stats = self._stats.get(endpoint)
            if stats is None:
                return None
            return shadow_report(endpoint, stats)

    def forget(self, endpoint: str) -> None:
        with self._lock:
            self._stats.pop(endpoint, None)
            self._changed.discard(endpoint)

    def restore(self, endpoint: str, data: dict[str, Any]) -> None:
        """Load an endpoint's stats as :meth:`persist` wrote them (after a restart)."""
        stats = ShadowStats.from_state(data, self.max_samples)
        with self._lock:
            self._stats.setdefault(endpoint, stats)

    def persist(self, catalog: Catalog) -> int:
        """Write the stats changed since the last call to their endpoints; how many."""
        with self._lock:
            changed = {e: self._stats[e].to_state() for e in self._changed if e in self._stats}
            self._changed.clear()
        for endpoint, data in changed.items():
            try:
                catalog.update(ResourceKind.ENDPOINT, endpoint, state_updates={STATE_KEY: data})
            except NotFoundError:
                continue  # deleted meanwhile: its report goes with it
        return len(changed)


def shadow_report(endpoint: str, stats: ShadowStats) -> dict[str, Any]:
    """The comparison report of one endpoint (shape in the module doc)."""
    production = list(stats.production_latency_ms)
    shadow = list(stats.shadow_latency_ms)
    return {
        "EndpointName": endpoint,
        "ProductionVariant": stats.production_variant,
        "ShadowVariant": stats.shadow_variant,
        "SampledRequests": stats.sampled,
        "Compared": stats.compared,
        "Agreements": stats.agreements,
        "AgreementRate": (stats.agreements / stats.compared) if stats.compared else None,
        "Dropped": stats.dropped,
        "Production": {
            "Errors": stats.production_errors,
            "LatencyP50Ms": percentile(production, 50),
            "LatencyP99Ms": percentile(production, 99),
        },
        "Shadow": {
            "Errors": stats.shadow_errors,
            "LatencyP50Ms": percentile(shadow, 50),
            "LatencyP99Ms": percentile(shadow, 99),
        },
    }
