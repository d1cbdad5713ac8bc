"""An inference pipeline's front against tiny asyncio containers on loopback.

Each "container" is a keep-alive HTTP/1.1 server with its own ``/ping`` and
``/invocations``; the front runs in the test's loop (and once as the real
``python -m modelyard.hosting.pipeline_front`` process) and is called through the
router's own client.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from modelyard.hosting.pipeline_chain import Chain, Link
from modelyard.hosting.pipeline_front import Front
from modelyard.hosting.routing import ReplicaTarget
from modelyard.hosting.upstream import (
    ConnectionLostError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    build_request,
)

Answer = tuple[int, bytes, dict[str, str]]
Handler = Callable[[bytes, dict[str, str]], Awaitable[Answer]]


@dataclass
class Container:
    """A fake serving container: what it was sent, what its /ping says."""

    port: int
    seen: list[dict[str, str]] = field(default_factory=list)
    ping: Answer = (200, b"", {})
    parameters: Answer = (404, b"", {})


@asynccontextmanager
async def container(handler: Handler) -> AsyncIterator[Container]:
    found = Container(0)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if lines[0].startswith("GET /ping"):
                    status, payload, extra = found.ping
                elif lines[0].startswith("GET /execution-parameters"):
                    status, payload, extra = found.parameters
                else:
                    found.seen.append(headers)
                    status, payload, extra = await handler(body, headers)
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()


async def doubles_csv(body: bytes, headers: dict[str, str]) -> Answer:
    """A preprocessor: doubles every CSV value, answers in the Accept it was asked for."""
    values = [float(v) * 2 for v in body.decode().split(",")]
    return 200, ",".join(f"{v:g}" for v in values).encode(), {"Content-Type": "text/csv"}


async def sums_to_json(body: bytes, headers: dict[str, str]) -> Answer:
    """A model: the sum of the CSV values it gets, as JSON, custom attributes answered."""
    total = sum(float(v) for v in body.decode().split(","))
    extra = {"Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "summed"}
    return 200, json.dumps({"sum": total}).encode(), extra


async def fails(body: bytes, headers: dict[str, str]) -> Answer:
    error = {"code": "ModelError", "message": "boom", "type": "ValueError", "handler": "predict_fn"}
    return 500, json.dumps({"error": error}).encode(), {"Content-Type": "application/json"}


async def hangs(body: bytes, headers: dict[str, str]) -> Answer:
    await asyncio.sleep(30)
    return 200, b"", {}


def link(label: str, box: Container, accept: str | None = None) -> Link:
    return Link(
        label,
        ReplicaTarget(label, "127.0.0.1", box.port),
        accept.encode() if accept else None,
    )


@asynccontextmanager
async def front(*links: Link, timeout_s: float = 5.0) -> AsyncIterator[ReplicaTarget]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]
    stopping = asyncio.Event()
    task = asyncio.get_running_loop().create_task(
        Front(Chain(links, UpstreamPool(), timeout_s)).serve(sock, stopping)
    )
    try:
        yield ReplicaTarget("front", "127.0.0.1", port)
    finally:
        stopping.set()
        await task
        sock.close()


async def invoke(
    client: UpstreamPool,
    target: ReplicaTarget,
    body: bytes,
    content_type: bytes = b"text/csv",
    accept: bytes | None = b"application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> UpstreamResponse:
    return await client.request(
        target, build_request(body, content_type, accept, extra or []), timeout_s=10
    )


async def ping(client: UpstreamPool, target: ReplicaTarget) -> UpstreamResponse:
    return await client.request(target, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", timeout_s=10)


def error_of(response: UpstreamResponse) -> dict[str, Any]:
    details: dict[str, Any] = json.loads(response.body)["error"]
    return details


def run(coroutine: Awaitable[None]) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_each_answer_becomes_the_next_request_and_the_last_one_comes_back() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(sums_to_json) as second,
            front(link("container 0 (pre)", first, "text/csv"), link("c1", second)) as target,
        ):
            client = UpstreamPool()
            response = await invoke(
                client, target, b"1,2,3", extra=[(b"X-Amzn-SageMaker-Custom-Attributes", b"t=1")]
            )
            assert response.status == 200
            assert json.loads(response.body) == {"sum": 12.0}
            assert response.header(b"content-type") == b"application/json"
            assert response.header(b"x-amzn-sagemaker-custom-attributes") == b"summed"
            # the first gets the client's body type, and is asked for its own default type
            assert first.seen[0]["content-type"] == "text/csv"
            assert first.seen[0]["accept"] == "text/csv"
            # the next gets the first's answer type; the client's Accept is for the last
            assert second.seen[0]["content-type"] == "text/csv"
            assert second.seen[0]["accept"] == "application/json"
            assert all(s["x-amzn-sagemaker-custom-attributes"] == "t=1" for s in first.seen)
            # keep-alive on both sides: a second request reuses the connections
            again = await invoke(client, target, b"5")
            assert json.loads(again.body) == {"sum": 10.0}
            assert client.idle_count(target) == 1
            client.close()

    run(scenario())


def test_an_intermediate_container_without_a_default_is_asked_for_nothing() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(sums_to_json) as second,
            front(link("c0", first), link("c1", second)) as target,
        ):
            client = UpstreamPool()
            await invoke(client, target, b"1")
            assert "accept" not in first.seen[0]
            client.close()

    run(scenario())


def test_a_model_error_in_the_second_container_names_it() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(fails) as second,
            front(link("container 0 (pre)", first), link("container 1 (xgb)", second)) as target,
        ):
            client = UpstreamPool()
            response = await invoke(client, target, b"1,2")
            assert response.status == 500
            assert error_of(response) == {
                "code": "ModelError",
                "message": "container 1 (xgb): predict_fn: boom",
            }
            client.close()

    run(scenario())


def test_a_refusal_keeps_its_status_and_names_the_container() -> None:
    async def refuses(body: bytes, headers: dict[str, str]) -> Answer:
        error = {"code": "UnsupportedContentType", "message": "text/csv is not supported"}
        return 415, json.dumps({"error": error}).encode(), {"Content-Type": "application/json"}

    async def scenario() -> None:
        async with (
            container(refuses) as first,
            container(sums_to_json) as second,
            front(link("container 0 (pre)", first), link("c1", second)) as target,
        ):
            client = UpstreamPool()
            response = await invoke(client, target, b"1")
            assert response.status == 415
            assert error_of(response)["code"] == "UnsupportedContentType"
            assert error_of(response)["message"] == "container 0 (pre): text/csv is not supported"
            assert second.seen == []
            client.close()

    run(scenario())


def test_a_slow_container_answers_504_naming_it() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(hangs) as second,
            front(link("c0", first), link("container 1 (slow)", second), timeout_s=0.3) as target,
        ):
            client = UpstreamPool()
            response = await invoke(client, target, b"1")
            assert response.status == 504
            assert error_of(response) == {
                "code": "ModelTimeout",
                "message": "container 1 (slow): no answer within 0.3 s",
            }
            client.close()

    run(scenario())


def test_a_dead_container_drops_the_connection_so_the_router_retries_elsewhere() -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            first = await stack.enter_async_context(container(doubles_csv))
            second = await stack.enter_async_context(container(sums_to_json))
            target = await stack.enter_async_context(front(link("c0", first), link("c1", second)))
            gone = socket.socket()
            gone.bind(("127.0.0.1", 0))
            dead = Container(gone.getsockname()[1])
            gone.close()  # nobody listens there any more
            broken = await stack.enter_async_context(front(link("c0", first), link("c1", dead)))
            client = UpstreamPool()
            assert (await invoke(client, target, b"1")).status == 200
            with pytest.raises(ConnectionLostError):
                await invoke(client, broken, b"1")
            ready = await ping(client, target)
            assert ready.status == 200
            starting = await ping(client, broken)
            assert starting.status == 503
            assert error_of(starting) == {
                "code": "Starting",
                "message": "c1 is not listening yet",
            }
            client.close()

    run(scenario())


def test_ping_is_ready_only_when_every_container_is_and_reports_a_load_error() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(sums_to_json) as second,
            front(link("c0", first), link("container 1 (xgb)", second)) as target,
        ):
            client = UpstreamPool()
            assert (await ping(client, target)).status == 200
            error = {"code": "ModelError", "message": "no model file", "handler": "model_fn"}
            second.ping = (503, json.dumps({"error": error}).encode(), {})
            failed = await ping(client, target)
            assert failed.status == 503
            assert error_of(failed) == {
                "code": "ModelError",
                "message": "container 1 (xgb): model_fn: no model file",
            }
            second.ping = (500, b"", {})
            unhealthy = await ping(client, target)
            assert error_of(unhealthy)["code"] == "Unhealthy"
            assert "container 1 (xgb) answered /ping with 500" in error_of(unhealthy)["message"]
            client.close()

    run(scenario())


def test_execution_parameters_are_what_every_container_can_take() -> None:
    def proposes(**parameters: object) -> Answer:
        return 200, json.dumps(parameters).encode(), {"Content-Type": "application/json"}

    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(sums_to_json) as second,
            container(sums_to_json) as third,
            front(link("c0", first), link("c1", second), link("c2", third)) as target,
        ):
            client = UpstreamPool()
            asked = b"GET /execution-parameters HTTP/1.1\r\nHost: x\r\n\r\n"
            nothing = await client.request(target, asked, timeout_s=5)
            assert nothing.status == 404
            first.parameters = proposes(
                MaxConcurrentTransforms=4, BatchStrategy="MULTI_RECORD", MaxPayloadInMB=6
            )
            second.parameters = proposes(
                MaxConcurrentTransforms=2, BatchStrategy="SINGLE_RECORD", MaxPayloadInMB=10
            )
            answer = await client.request(target, asked, timeout_s=5)
            assert answer.status == 200
            assert json.loads(answer.body) == {
                "MaxConcurrentTransforms": 2,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": 6,
            }
            client.close()

    run(scenario())


def test_other_paths_and_methods_are_refused_in_the_error_shape() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            front(link("c0", first)) as target,
        ):
            client = UpstreamPool()
            missing = await client.request(
                target, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", timeout_s=5
            )
            assert missing.status == 404
            assert error_of(missing)["code"] == "NotFound"
            wrong = await client.request(
                target, b"GET /invocations HTTP/1.1\r\nHost: x\r\n\r\n", timeout_s=5
            )
            assert wrong.status == 405
            client.close()

    run(scenario())


def test_the_front_process_serves_then_drains_on_sigterm() -> None:
    async def scenario() -> None:
        async with (
            container(doubles_csv) as first,
            container(sums_to_json) as second,
        ):
            probe = socket.socket()
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            chain = [
                {"label": "c0", "host": "127.0.0.1", "port": first.port, "accept": "text/csv"},
                {"label": "c1", "host": "127.0.0.1", "port": second.port, "accept": ""},
            ]
            env = {
                **os.environ,
                "MODELYARD_PORT_HTTP": str(port),
                "MODELYARD_PIPELINE_CHAIN": json.dumps(chain),
                "MODELYARD_PIPELINE_TIMEOUT_S": "5",
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "modelyard.hosting.pipeline_front"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                target = ReplicaTarget("front", "127.0.0.1", port)
                client = UpstreamPool()
                deadline = time.monotonic() + 30
                while True:
                    try:
                        assert (await ping(client, target)).status == 200
                        break
                    except UpstreamError:
                        if time.monotonic() > deadline or process.poll() is not None:
                            raise
                        await asyncio.sleep(0.05)
                response = await invoke(client, target, b"1,2")
                assert json.loads(response.body) == {"sum": 6.0}
                client.close()
                process.send_signal(signal.SIGTERM)
                code = await asyncio.get_running_loop().run_in_executor(None, process.wait, 20)
                assert code == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                assert process.stderr is not None
                process.stderr.close()

    run(scenario())


def test_the_front_loads_none_of_the_controllers() -> None:
    """Each pipeline replica runs a front: it must stay small (no catalog, no controllers)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, modelyard.hosting.pipeline_front; "
            "print(sorted(m for m in sys.modules if m.startswith(('modelyard.hosting.endpoints', "
            "'modelyard.hosting.autoscaling', 'modelyard.catalog', 'sqlalchemy'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert completed.stdout.strip() == "[]"
