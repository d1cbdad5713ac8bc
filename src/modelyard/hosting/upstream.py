"""The router's HTTP/1.1 client to replicas: pooled keep-alive connections, TCP_NODELAY.

Why not httpx: on this hot path every microsecond counts (the router's budget is
0.5 ms at p50), and a request here is always the same shape (``POST /invocations``
with a known body). Each connection is an :class:`asyncio.Protocol` whose bytes go
to ``httptools``' C parser (already installed with ``uvicorn[standard]``); a pool
keeps idle connections per replica, newest first, and drops those idle longer than
``max_idle_s`` (below the replica's 75 s keep-alive, so a pooled connection is
never one the replica has just closed).

Failures are typed so the router can decide about a retry:

- :class:`ConnectFailedError`: the replica could not be reached; nothing was sent.
- :class:`ConnectionLostError`: the connection broke before a whole response came back
  (the replica died or was killed mid-request).
- :class:`UpstreamTimeoutError`: no whole response within the timeout; the connection is
  aborted so a late answer never lands on the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import httptools

from modelyard.hosting.routing import ReplicaTarget

DEFAULT_CONNECT_TIMEOUT_S = 2.0
DEFAULT_MAX_IDLE_S = 30.0
MAX_IDLE_PER_REPLICA = 64


class UpstreamError(Exception):
    """A replica could not give a whole HTTP response."""


class ConnectFailedError(UpstreamError):
    """Nothing was sent: the replica refused or did not accept the connection."""


class ConnectionLostError(UpstreamError):
    """The connection broke before the whole response arrived."""


class UpstreamTimeoutError(UpstreamError):
    """No whole response within the timeout."""


@dataclass(slots=True)
class UpstreamResponse:
    """A replica's answer: status, headers (raw, names as sent), body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> bytes | None:
        """The first header named ``name`` (lower-case), else None."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    __slots__ = (
        "_body",
        "_headers",
        "_parser",
        "_waiter",
        "closed",
        "idle_since",
        "transport",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self.closed = False
        self.idle_since = 0.0

    # asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionLostError(f"the replica sent a malformed response: {exc}"))
            self.abort()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = f": {exc}" if exc else ""
        self._fail(ConnectionLostError(f"the replica closed the connection mid-request{reason}"))

    # httptools callbacks --------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter = self._waiter
        self._waiter = None
        response = UpstreamResponse(
            self._parser.get_status_code(), self._headers, b"".join(self._body)
        )
        if not self._parser.should_keep_alive():
            self.closed = True
            if self.transport is not None:
                self.transport.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # the pool's side --------------------------------------------------------------

    def send(
        self, data: bytes, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[UpstreamResponse]:
        assert self.transport is not None
        self._headers = []
        self._body = []
        waiter: asyncio.Future[UpstreamResponse] = loop.create_future()
        self._waiter = waiter
        self.transport.write(data)
        return waiter

    def _fail(self, error: UpstreamError) -> None:
        waiter = self._waiter
        self._waiter = None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def expire(self, error: UpstreamError) -> None:
        """Give up on the request in flight: fail it and drop the connection."""
        self._fail(error)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def build_request(
    body: bytes, content_type: bytes, accept: bytes | None, extra: Sequence[tuple[bytes, bytes]]
) -> bytes:
    """``POST /invocations`` as bytes. Header values must already be free of CR and LF."""
    parts = [
        b"POST /invocations HTTP/1.1\r\nHost: replica\r\nContent-Type: ",
        content_type,
        b"\r\nContent-Length: ",
        str(len(body)).encode(),
        b"\r\n",
    ]
    if accept:
        parts += (b"Accept: ", accept, b"\r\n")
    for name, value in extra:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    parts.append(body)
    return b"".join(parts)


class UpstreamPool:
    """Keep-alive connections to replicas, created on demand in the running loop."""

    def __init__(
        self,
        *,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        max_idle_s: float = DEFAULT_MAX_IDLE_S,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.max_idle_s = max_idle_s
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def request(
        self, target: ReplicaTarget, data: bytes, timeout_s: float
    ) -> UpstreamResponse:
        """Send ``data`` (a whole request) to ``target``; its whole response, or an error."""
        loop = asyncio.get_running_loop()
        key = (target.host, target.port)
        conn = self._take_idle(key)
        if conn is None:
            conn = await self._connect(loop, key)
        waiter = conn.send(data, loop)
        timer = loop.call_later(
            timeout_s, conn.expire, UpstreamTimeoutError(f"no answer within {timeout_s:g} s")
        )
        try:
            response = await waiter
        finally:
            timer.cancel()
        if not conn.closed:
            self._give_back(key, conn)
        return response

    def _take_idle(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        oldest_allowed = time.monotonic() - self.max_idle_s
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since >= oldest_allowed:
                return conn
            conn.abort()
        return None

    def _give_back(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) >= MAX_IDLE_PER_REPLICA:
            conn.abort()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    async def _connect(self, loop: asyncio.AbstractEventLoop, key: tuple[str, int]) -> _Connection:
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Connection, key[0], key[1]), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise ConnectFailedError(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        return protocol

    def forget(self, host: str, port: int) -> None:
        """Close the idle connections to a replica that is gone."""
        for conn in self._idle.pop((host, port), []):
            conn.abort()

    def close(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.abort()
        self._idle.clear()

    def idle_count(self, target: ReplicaTarget) -> int:
        return len(self._idle.get((target.host, target.port), []))
