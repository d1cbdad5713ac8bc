"""Scale-in without a failed request: a retired replica drains before it is stopped.

The controller first publishes a route without the replica (no new request reaches
it), then :func:`drain_then_stop` waits, in a worker thread, until the router has no
request in flight to it (the router's per-replica outstanding count) or the drain
timeout passes, and only then stops it (SIGTERM, SIGKILL after the grace). A request
that picked the replica from the previous route just before the publish is counted a
moment later, so the count must read zero for ``settle_s`` in a row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

POLL_S = 0.02
SETTLE_S = 0.1


class Stoppable(Protocol):
    replica_id: str

    def stop(self, grace_s: float) -> int | None: ...


def drain_then_stop(
    process: Stoppable,
    in_flight: Callable[[str], int],
    *,
    timeout_s: float,
    grace_s: float,
    settle_s: float = SETTLE_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Wait until nothing is in flight to the replica (at most ``timeout_s``), then stop it."""
    started = clock()
    deadline = started + timeout_s
    idle_since: float | None = None
    while True:
        now = clock()
        if in_flight(process.replica_id) > 0:
            idle_since = None
        elif idle_since is None:
            idle_since = now
        if idle_since is not None and now - idle_since >= settle_s:
            break
        if now >= deadline:
            log.warning(
                "replica %s still had %d request(s) in flight after %g s of draining; "
                "stopping it anyway",
                process.replica_id,
                in_flight(process.replica_id),
                timeout_s,
            )
            break
        sleep(POLL_S)
    log.info("replica %s drained in %.2f s", process.replica_id, clock() - started)
    return process.stop(grace_s)
