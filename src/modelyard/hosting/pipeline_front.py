"""The front of an inference pipeline's replica: ``python -m modelyard.hosting.pipeline_front``.

Why a front process and not the first container chaining to the next: every container
stays the plain serving contract (any image, any framework, none of them knowing it is
in a pipeline), and the replica keeps one address, one ``/ping`` and one process that
drains on SIGTERM, so the router, healing, autoscaling and batch transform treat a
pipeline replica like any other. The cost is one more loopback hop: a lean asyncio
server (``httptools`` parsing, uvloop when installed, TCP_NODELAY both ways) that
forwards over pooled keep-alive connections (:class:`~.upstream.UpstreamPool`, the
router's own client) adds 0.13-0.15 ms at p50 to a two-container chain on this
machine (``benchmarks/pipeline_front.py``: 0.16 ms when the client makes both hops
itself, 0.29-0.31 ms through the front), and one process of ~75 MB resident (importing
:mod:`modelyard.hosting` brings the controllers' modules along) counted in the
replica's memory.

It serves ``GET /ping``, ``POST /invocations`` and ``GET /execution-parameters``
(:class:`~.pipeline_chain.Chain` does the work), HTTP/1.1 keep-alive, one request at a
time per connection. Settings come from the launcher (:mod:`.replicas`) through the
environment:

``MODELYARD_PORT_HTTP``            the port to listen on (the runtime's)
``MODELYARD_BIND_HOST``            the address (127.0.0.1)
``MODELYARD_PIPELINE_CHAIN``       JSON list of ``{"label", "host", "port", "accept"}``
``MODELYARD_PIPELINE_TIMEOUT_S``   how long one container may take

On SIGTERM it stops accepting, finishes the requests it holds, closes idle
connections and exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable, Mapping
from typing import cast

import httptools

from modelyard.hosting.pipeline_chain import ABORT, Answer, Chain, Link, error_answer
from modelyard.hosting.routing import ReplicaTarget
from modelyard.hosting.upstream import UpstreamPool

log = logging.getLogger("modelyard.hosting.pipeline_front")

#: Batch transform's largest payload (100 MB), with room for framing.
MAX_BODY_BYTES = 101 * 2**20
DRAIN_TIMEOUT_S = 30.0
_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    413: b"Payload Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
    504: b"Gateway Timeout",
}


class ChainConfigError(ValueError):
    """The launcher's environment does not describe a chain."""


def chain_from_env(env: Mapping[str, str], pool: UpstreamPool) -> Chain:
    try:
        links = [
            Link(
                str(item["label"]),
                ReplicaTarget(str(item["label"]), str(item["host"]), int(item["port"])),
                str(item.get("accept") or "").encode("latin-1") or None,
            )
            for item in json.loads(env.get("MODELYARD_PIPELINE_CHAIN", ""))
        ]
        timeout_s = float(env.get("MODELYARD_PIPELINE_TIMEOUT_S", "65"))
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainConfigError(f"MODELYARD_PIPELINE_CHAIN is not a valid chain: {exc}") from exc
    return Chain(links, pool, timeout_s)


class _Request:
    __slots__ = ("body", "headers", "keep_alive", "method", "url")

    def __init__(self) -> None:
        self.method = b""
        self.url = b""
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []
        self.keep_alive = True


class FrontConnection(asyncio.Protocol):
    """One client connection: requests parsed by httptools, answered in order."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.current = _Request()
        self.size = 0
        self.queue: deque[_Request] = deque()
        self.busy = False
        self.closing = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.front.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.front.connections.discard(self)
        self.closing = True

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse(400, "BadRequest", "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            self._refuse(400, "BadRequest", f"malformed HTTP request: {exc}")

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.current = _Request()
        self.size = 0

    def on_url(self, url: bytes) -> None:
        self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.current.headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY_BYTES:
            self._refuse(413, "PayloadTooLarge", f"the body is over {MAX_BODY_BYTES} bytes")
            return
        self.current.body.append(body)

    def on_message_complete(self) -> None:
        request = self.current
        request.method = self.parser.get_method()
        request.keep_alive = self.parser.should_keep_alive()
        self.queue.append(request)
        if not self.busy:
            self._next()

    # answering
    def _next(self) -> None:
        if self.closing or not self.queue:
            self.busy = False
            if self.closing and self.transport is not None and not self.busy:
                self.transport.close()
            return
        self.busy = True
        request = self.queue.popleft()
        task = asyncio.get_running_loop().create_task(self._serve(request))
        self.front.tasks.add(task)
        task.add_done_callback(self.front.tasks.discard)

    async def _serve(self, request: _Request) -> None:
        try:
            answer = await self.front.answer(request)
        except Exception:
            log.exception("the pipeline front failed on a request")
            answer = error_answer(500, "InternalError", "the pipeline's front failed")
        if self.transport is None or self.transport.is_closing():
            return
        if answer is ABORT:
            self.transport.abort()
            return
        keep_alive = request.keep_alive and not self.front.draining
        self._write(answer, keep_alive)
        if not keep_alive:
            self.closing = True
            self.transport.close()
            return
        self._next()

    def _write(self, answer: Answer, keep_alive: bool) -> None:
        assert self.transport is not None
        head = [
            b"HTTP/1.1 %d %s\r\n" % (answer.status, _REASONS.get(answer.status, b"Status")),
            b"Content-Type: ",
            answer.content_type,
            b"\r\nContent-Length: %d\r\n" % len(answer.body),
        ]
        if answer.custom_attributes:
            head += (b"X-Amzn-SageMaker-Custom-Attributes: ", answer.custom_attributes, b"\r\n")
        if not keep_alive:
            head.append(b"Connection: close\r\n")
        head.append(b"\r\n")
        self.transport.write(b"".join(head) + answer.body)

    def _refuse(self, status: int, code: str, message: str) -> None:
        if self.transport is None or self.closing:
            return
        self.closing = True
        self._write(error_answer(status, code, message), keep_alive=False)
        self.transport.close()

    def close_if_idle(self) -> None:
        self.closing = True
        if not self.busy and self.transport is not None:
            self.transport.close()


class Front:
    """The server: its connections, the chain behind it, its drain."""

    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.connections: set[FrontConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.draining = False

    async def answer(self, request: _Request) -> Answer | None:
        path = request.url.split(b"?", 1)[0]
        if path == b"/ping":
            if request.method != b"GET":
                return error_answer(405, "MethodNotAllowed", "/ping takes GET")
            return await self.chain.ping()
        if path == b"/execution-parameters":
            if request.method != b"GET":
                return error_answer(405, "MethodNotAllowed", "/execution-parameters takes GET")
            return await self.chain.execution_parameters()
        if path == b"/invocations":
            if request.method != b"POST":
                return error_answer(405, "MethodNotAllowed", "/invocations takes POST")
            headers = request.headers
            return await self.chain.invoke(
                b"".join(request.body),
                headers.get(b"content-type"),
                headers.get(b"accept"),
                headers.get(b"x-amzn-sagemaker-custom-attributes"),
            )
        return error_answer(404, "NotFound", f"no such path: {path.decode('latin-1')}")

    async def serve(self, sock: socket.socket, stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: FrontConnection(self), sock=sock)
        log.info(
            "pipeline front on %s, chaining %s",
            sock.getsockname(),
            ", ".join(link.label for link in self.chain.links),
        )
        await stopping.wait()
        self.draining = True
        server.close()
        for connection in list(self.connections):
            connection.close_if_idle()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_TIMEOUT_S):
                while self.tasks or self.connections:
                    await asyncio.sleep(0.01)
        self.chain.pool.close()


def _listener(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return cast(Callable[[], asyncio.AbstractEventLoop], uvloop.new_event_loop)


async def _main(env: Mapping[str, str]) -> None:
    chain = chain_from_env(env, UpstreamPool())
    sock = _listener(env.get("MODELYARD_BIND_HOST", "127.0.0.1"), int(env["MODELYARD_PORT_HTTP"]))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await Front(chain).serve(sock, stopping)


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s [pipeline front pid %(process)d] %(levelname)s %(message)s",
    )
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_main(os.environ))
    except (ChainConfigError, KeyError, OSError) as exc:
        log.error("the pipeline front cannot start: %s", exc)
        return 70
    return 0


if __name__ == "__main__":
    sys.exit(main())
