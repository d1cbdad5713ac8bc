"""Health and healing: replicas that die or hang are replaced while the others serve."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx

from .conftest import Hosting, csv_rows

ROW = csv_rows([[5.1, 3.5, 1.4, 0.2]])
LOAD_CLIENTS = 4


@dataclass
class Load:
    """Counts of what a bounded load against an endpoint got back."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    slowest_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + len(self.errors)


@contextmanager
def load(url: str, endpoint: str, *, clients: int = LOAD_CLIENTS) -> Iterator[Load]:
    """``clients`` threads invoking ``endpoint`` back to back until the block ends."""
    found = Load()
    stop = threading.Event()
    lock = threading.Lock()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = client.post(
                        f"/endpoints/{endpoint}/invocations",
                        content=ROW,
                        headers={"Content-Type": "text/csv"},
                    )
                except httpx.HTTPError as exc:
                    with lock:
                        found.errors.append(repr(exc))
                    continue
                with lock:
                    found.statuses[response.status_code] += 1
                    found.slowest_s = max(found.slowest_s, time.monotonic() - started)
                    if response.status_code != 200:
                        found.errors.append(response.text)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield found
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def _running(hosting: Hosting, endpoint: str) -> list[dict[str, object]]:
    return [r for r in hosting.replicas(endpoint) if r["Status"] == "Running"]


def test_killing_a_replica_under_load_fails_no_request(hosting: Hosting) -> None:
    hosting.deploy("sturdy", hosting.artifacts.logistic, count=2)
    before = _running(hosting, "sturdy")
    assert len(before) == 2
    victim = before[0]
    with load(hosting.url, "sturdy") as seen:
        hosting.wait_until(lambda: seen.total >= 200, message="load did not start")
        os.killpg(int(str(victim["Pid"])), signal.SIGKILL)
        served_at_kill = seen.total
        # Replaced while the survivor serves: a new replica id comes up.
        hosting.wait_until(
            lambda: (
                len(_running(hosting, "sturdy")) == 2
                and victim["ReplicaId"] not in {r["ReplicaId"] for r in _running(hosting, "sturdy")}
            ),
            timeout_s=60,
            message="the killed replica was not replaced",
        )
        hosting.wait_until(lambda: seen.total >= served_at_kill + 200, message="load stalled")
    assert seen.errors == [], seen.errors[:5]
    assert seen.statuses[200] == seen.total
    assert hosting.describe("sturdy")["EndpointStatus"] == "InService"


def test_a_hung_replica_is_replaced_while_the_other_serves(hosting: Hosting) -> None:
    hosting.deploy("hangs", hosting.artifacts.logistic, count=2)
    victim = _running(hosting, "hangs")[0]
    pid = int(str(victim["Pid"]))
    os.killpg(pid, signal.SIGSTOP)
    try:
        with load(hosting.url, "hangs", clients=2) as seen:
            hosting.wait_until(
                lambda: (
                    victim["ReplicaId"] not in {r["ReplicaId"] for r in hosting.replicas("hangs")}
                    and len(_running(hosting, "hangs")) == 2
                ),
                timeout_s=60,
                message="the hung replica was not replaced",
            )
            hosting.wait_until(lambda: seen.total >= 50, message="load stalled")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGCONT)
    assert seen.errors == [], seen.errors[:5]
    described = hosting.describe("hangs")
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2


def test_a_single_replica_that_dies_is_replaced(hosting: Hosting) -> None:
    hosting.deploy("lonely", hosting.artifacts.logistic, count=1)
    (victim,) = _running(hosting, "lonely")
    os.killpg(int(str(victim["Pid"])), signal.SIGKILL)
    replaced = hosting.wait_until(
        lambda: [r for r in _running(hosting, "lonely") if r["ReplicaId"] != victim["ReplicaId"]],
        timeout_s=60,
        message="the dead replica was not replaced",
    )
    assert len(replaced) == 1
    answer = hosting.invoke("lonely", ROW, accept="application/json")
    assert answer.status_code == 200
    assert hosting.describe("lonely")["EndpointStatus"] == "InService"
