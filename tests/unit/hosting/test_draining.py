"""Scale-in drains: out of the route first, stopped once nothing is in flight to it."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from modelyard.catalog import SqlCatalog
from modelyard.config import Settings
from modelyard.hosting.draining import drain_then_stop
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.router import Invocation, Router
from modelyard.hosting.routing import EndpointRoute, ReplicaTarget, RoutingTable, VariantRoute
from modelyard.ids import ResourceKind
from tests.unit.hosting.test_controller import Clock, FakeLauncher, Harness


class Replica:
    """A slow keep-alive replica on loopback that counts what it received and answered."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.received = 0
        self.answered = 0
        self.answered_when_stopped: int | None = None
        self.received_when_stopped: int | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                self.received += 1
                await asyncio.sleep(self.delay_s)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                self.answered += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    def kill(self) -> None:
        """What SIGKILL does to a replica: every connection drops, mid-request or not."""
        self.received_when_stopped = self.received
        self.answered_when_stopped = self.answered
        for writer in self._writers:
            writer.transport.abort()


@asynccontextmanager
async def listening(replica: Replica) -> AsyncIterator[int]:
    server = await asyncio.start_server(replica.serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


class Stopped:
    """The replica's process as the drain sees it: stop() kills it (from a worker thread)."""

    def __init__(self, replica_id: str, replica: Replica, loop: asyncio.AbstractEventLoop) -> None:
        self.replica_id = replica_id
        self.replica = replica
        self.loop = loop
        self.done = threading.Event()

    def stop(self, grace_s: float) -> int:
        self.loop.call_soon_threadsafe(self.replica.kill)
        self.done.set()
        return 0


def test_scale_in_under_load_fails_no_request_and_stops_the_replica_once_idle() -> None:
    async def scenario() -> None:
        catalog = SqlCatalog("sqlite://")
        catalog.migrate()
        catalog.create(ResourceKind.ENDPOINT, "ep", spec={}, status="Creating")
        table = RoutingTable()
        router = Router(table, MetricsStore(catalog), rng=random.Random(3))
        kept, retired = Replica(0.05), Replica(0.3)
        async with listening(kept) as kept_port, listening(retired) as retired_port:
            both = (
                ReplicaTarget("kept", "127.0.0.1", kept_port),
                ReplicaTarget("retired", "127.0.0.1", retired_port),
            )
            table.publish(EndpointRoute("ep", (VariantRoute("A", 1.0, both),)))
            statuses: list[int] = []

            async def client(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    result = await router.invoke(Invocation("ep", b"[1]"))
                    statuses.append(result.status)

            stop = asyncio.Event()
            clients = [asyncio.create_task(client(stop)) for _ in range(8)]
            while retired.received < 4:
                await asyncio.sleep(0.01)
            # Scale in: the route without it is published, then it drains and stops.
            table.publish(EndpointRoute("ep", (VariantRoute("A", 1.0, both[:1]),)))
            process = Stopped("retired", retired, asyncio.get_running_loop())
            assert router.outstanding["retired"] > 0  # requests were in flight to it
            drained = asyncio.create_task(
                asyncio.to_thread(
                    drain_then_stop,
                    process,
                    lambda replica_id: router.outstanding.get(replica_id, 0),
                    timeout_s=10.0,
                    grace_s=0.0,
                )
            )
            await drained
            await asyncio.sleep(0.2)  # load goes on after the stop
            stop.set()
            await asyncio.gather(*clients)
            router.close()
            await asyncio.sleep(0.05)  # the replicas see their connections close
        catalog.close()
        assert process.done.is_set()
        assert set(statuses) == {200}
        # Every request the retired replica took was answered before it was killed.
        assert retired.answered_when_stopped == retired.received_when_stopped
        assert retired.received == retired.received_when_stopped  # none after it left

    asyncio.run(scenario())


def test_a_drain_gives_up_after_its_timeout() -> None:
    clock = Clock()
    stopped: list[float] = []

    class Stuck:
        replica_id = "stuck"

        def stop(self, grace_s: float) -> int:
            stopped.append(clock.now)
            return 0

    def sleep(seconds: float) -> None:
        clock.now += seconds

    drain_then_stop(Stuck(), lambda _: 1, timeout_s=5.0, grace_s=1.0, clock=clock, sleep=sleep)
    (at,) = stopped
    assert 105.0 <= at < 105.1


def test_the_controller_takes_a_scaled_in_replica_out_of_the_route_before_draining_it(
    tmp_path: Path,
) -> None:
    catalog = SqlCatalog("sqlite://")
    catalog.migrate()
    catalog.create(
        ResourceKind.MODEL,
        "m1",
        spec={"ModelName": "m1", "PrimaryContainer": {"Image": "sklearn:1.5"}},
        status="Created",
    )
    catalog.create(
        ResourceKind.ENDPOINT_CONFIG,
        "two",
        spec={
            "EndpointConfigName": "two",
            "ProductionVariants": [
                {"VariantName": "A", "ModelName": "m1", "InitialInstanceCount": 2}
            ],
        },
        status="Created",
    )
    harness = Harness(catalog, Settings(home=tmp_path), FakeLauncher())
    harness.controller.create({"EndpointName": "ep", "EndpointConfigName": "two"})
    harness.ticks()
    newest = harness.routed("ep")["A"][-1]
    seen: list[tuple[list[str], bool]] = []
    in_flight = {newest: 3}

    def count(replica_id: str) -> int:
        # What the router sees while the replica drains: three requests finishing.
        seen.append((harness.routed("ep")["A"], harness.launcher.processes[replica_id].stopped))
        in_flight[replica_id] = max(0, in_flight.get(replica_id, 0) - 1)
        return in_flight[replica_id]

    harness.controller.loop.in_flight = count
    harness.controller.set_variant("ep", "A", desired_count=1)
    harness.ticks()
    assert seen, "the replica was not drained"
    assert all(newest not in routed for routed, _ in seen)  # out of the route first
    assert not any(stopped for _, stopped in seen)  # and stopped only after
    assert harness.launcher.processes[newest].stopped
    assert harness.routed("ep")["A"] != [newest]
    harness.catalog.close()
