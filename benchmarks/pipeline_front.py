"""What an inference pipeline's front costs: a two-container chain through it vs by hand.

    .venv/bin/python benchmarks/pipeline_front.py [--requests 3000]

Two echo "containers" (tiny asyncio HTTP/1.1 servers, each its own process) stand for
the pipeline's serving processes, so only the plumbing is measured. One client at a
time (keep-alive, TCP_NODELAY, the router's own upstream client) sends a 1 KB CSV body:

- **by hand**: the client posts to container 0, then posts its answer to container 1
  (the two hops any serial pipeline makes, with no process in between);
- **front**: the client posts to ``python -m modelyard.hosting.pipeline_front``, which
  chains the two containers.

The front's added latency is its p50 minus the by-hand p50. Everything listens on
127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from modelyard.hosting.routing import ReplicaTarget  # noqa: E402
from modelyard.hosting.upstream import UpstreamPool, build_request  # noqa: E402

ECHO_SERVER = textwrap.dedent(
    """
    import asyncio, socket, sys

    async def serve(reader, writer):
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                length = 0
                for line in head.split(b"\\r\\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: text/csv\\r\\n"
                             b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main():
        server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
        await server.serve_forever()

    asyncio.run(main())
    """
)
BODY = b",".join(b"%.6f" % (i / 7) for i in range(110))[:1024]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def started(argv: list[str], env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(10)


async def wait_listening(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def measure(call: Callable[[], Awaitable[None]], count: int) -> tuple[float, float]:
    for _ in range(200):
        await call()
    times = []
    for _ in range(count):
        started_at = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started_at) * 1e3)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


async def run(count: int) -> None:
    ports = [free_port(), free_port()]
    front_port = free_port()
    chain = [
        {"label": f"c{i}", "host": "127.0.0.1", "port": port, "accept": "text/csv"}
        for i, port in enumerate(ports)
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "MODELYARD_PORT_HTTP": str(front_port),
        "MODELYARD_PIPELINE_CHAIN": json.dumps(chain),
    }
    echo = [sys.executable, "-c", ECHO_SERVER]
    front = [sys.executable, "-m", "modelyard.hosting.pipeline_front"]
    with started([*echo, str(ports[0])]), started([*echo, str(ports[1])]), started(front, env):
        for port in (*ports, front_port):
            await wait_listening(port)
        pool = UpstreamPool()
        targets = [ReplicaTarget(f"c{i}", "127.0.0.1", p) for i, p in enumerate(ports)]
        via_front = ReplicaTarget("front", "127.0.0.1", front_port)

        async def by_hand() -> None:
            body = BODY
            for target in targets:
                answer = await pool.request(target, build_request(body, b"text/csv", None, []), 10)
                body = answer.body

        async def through_front() -> None:
            await pool.request(via_front, build_request(BODY, b"text/csv", None, []), 10)

        hand_p50, hand_p99 = await measure(by_hand, count)
        front_p50, front_p99 = await measure(through_front, count)
        pool.close()
    print(f"by hand (2 hops):  p50 {hand_p50:.3f} ms  p99 {hand_p99:.3f} ms")
    print(f"through the front: p50 {front_p50:.3f} ms  p99 {front_p99:.3f} ms")
    print(f"the front adds:    {front_p50 - hand_p50:.3f} ms at p50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
