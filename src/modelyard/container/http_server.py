"""The replica's HTTP/1.1 server: asyncio protocols over a listening socket it is given.

One :class:`HttpServer` runs in each worker process, on a listening socket the parent
bound and every worker shares. Requests are handled *inline*, in the event loop's
thread: predict is CPU-bound, a worker serves one request at a time anyway, and a
thread hand-off would cost more than it saves. Parallelism comes from worker processes.

- Accepting: one connection at a time (asyncio's own accept loop would take a whole
  burst at once), and, when siblings share the socket (``share_accepts``), a worker
  that already has N open connections waits N ms (at most 10) before taking the next
  one: a sibling with fewer connections, woken by the same readiness, takes it first.
  Without that, on a busy machine the first worker to wake takes a whole burst of
  keep-alive connections and its siblings idle for their lifetime. A worker busy in
  ``predict`` does not accept at all, so new connections go to idle siblings. Every
  accepted socket gets ``TCP_NODELAY``.
- Connections: keep-alive, pipelining (answers in request order, written together),
  ``Expect: 100-continue``, flow control (a client that stops reading stops being read).
  A malformed or oversized request is answered with its 4xx and the connection closed.
  A connection idle (or stuck mid-request) longer than ``keepalive_timeout_s`` is closed.
- Draining (:meth:`HttpServer.drain`): stop accepting; requests already received are
  answered (``Connection: close``); idle connections are closed after a short grace
  during which requests still in flight on them are answered too; the server is done
  when no connection is left, or at ``drain_timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from dataclasses import dataclass
from typing import Final, Protocol

from modelyard.container.http import (
    CONTINUE_RESPONSE,
    Request,
    RequestParser,
    Response,
    serialize,
)
from modelyard.container.serving_errors import INTERNAL_ERROR, HttpProtocolError, ServingError

logger = logging.getLogger("modelyard.container.serving")

_SWEEP_INTERVAL_S: Final = 1.0
_IDLE_CLOSE_GRACE_S: Final = 0.1
_ACCEPT_DELAY_PER_CONNECTION_S: Final = 0.001
_MAX_ACCEPT_DELAY_S: Final = 0.010


class App(Protocol):
    """What the server calls for each request; it must answer, never raise."""

    def handle(self, request: Request) -> Response: ...


@dataclass(frozen=True)
class ServerLimits:
    max_body_bytes: int
    max_header_bytes: int
    keepalive_timeout_s: float
    drain_timeout_s: float
    share_accepts: bool = False  # sibling workers accept on the same socket


def _error_response(error: ServingError) -> Response:
    return Response(error.status, error.body(), "application/json")


class HttpConnection(asyncio.Protocol):
    """One client connection (see the module doc)."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._parser = RequestParser(
            max_header_bytes=server.limits.max_header_bytes,
            max_body_bytes=server.limits.max_body_bytes,
        )
        self._transport: asyncio.Transport | None = None
        self._paused = False
        self._closing = False
        self.last_active_s = time.monotonic()

    # -- asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._server.connection_closed(self)

    def data_received(self, data: bytes) -> None:
        self.last_active_s = time.monotonic()
        self._parser.feed(data)
        if not self._paused:
            self._process()

    def eof_received(self) -> bool:
        return False  # close our side too: a half-closed client sends nothing more

    def pause_writing(self) -> None:
        self._paused = True
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None and not self._closing:
            self._transport.resume_reading()
            self._process()

    # -- requests ----------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return self._parser.idle

    def _process(self) -> None:
        transport = self._transport
        if transport is None or self._closing:
            return
        server = self._server
        out: list[bytes] = []
        while not self._paused:
            try:
                request = self._parser.next_request()
            except HttpProtocolError as error:
                out.append(serialize(_error_response(error), keep_alive=False))
                self._close_after(out)
                return
            if request is None:
                if self._parser.continue_wanted:
                    self._parser.continue_wanted = False
                    out.append(CONTINUE_RESPONSE)
                break
            response = server.respond(request)
            keep_alive = request.keep_alive and not server.stop_requested
            out.append(
                serialize(response, keep_alive=keep_alive, http10=request.version == "HTTP/1.0")
            )
            if not keep_alive:
                self._close_after(out)
                return
            if len(out) > 64:
                transport.write(b"".join(out))
                out.clear()
        if out:
            transport.write(b"".join(out))
        self.last_active_s = time.monotonic()
        if server.draining and self._parser.idle:
            server.loop.call_later(_IDLE_CLOSE_GRACE_S, self.close_if_idle)

    def _close_after(self, out: list[bytes]) -> None:
        assert self._transport is not None
        self._closing = True
        self._transport.write(b"".join(out))
        self._transport.close()

    def close_if_idle(self) -> None:
        if not self._closing and self._parser.idle and self._transport is not None:
            self._closing = True
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._closing = True
            self._transport.abort()


class HttpServer:
    """Serves ``app`` on a listening socket until :meth:`drain` completes."""

    def __init__(self, app: App, limits: ServerLimits, loop: asyncio.AbstractEventLoop) -> None:
        self.app = app
        self.limits = limits
        self.loop = loop
        self.connections: set[HttpConnection] = set()
        self.draining = False
        self.stop_requested = False
        self._listener: socket.socket | None = None
        self._accepting = False
        self._open = 0  # accepted and not closed yet (including those being attached)
        self._resume_timer: asyncio.TimerHandle | None = None
        self._done: asyncio.Future[None] = loop.create_future()
        self._sweeper: asyncio.TimerHandle | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self, listener: socket.socket) -> None:
        listener.setblocking(False)
        self._listener = listener
        self.resume_accepting()
        self._sweeper = self.loop.call_later(_SWEEP_INTERVAL_S, self._sweep)

    async def wait_closed(self) -> None:
        await self._done

    def request_drain(self) -> None:
        """:meth:`drain` from a signal handler, which may run in the middle of a request.

        The flag is set at once, so the response being computed already says
        ``Connection: close`` and its client does not reuse a closing connection.
        """
        self.stop_requested = True
        self.loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        """Stop accepting, finish what was received, then close (idempotent)."""
        if self.draining:
            return
        self.draining = self.stop_requested = True
        logger.info(
            "draining: %d open connection(s), closing within %g s",
            len(self.connections),
            self.limits.drain_timeout_s,
        )
        self._stop_accepting()
        for connection in list(self.connections):
            if connection.idle:
                self.loop.call_later(_IDLE_CLOSE_GRACE_S, connection.close_if_idle)
        self.loop.call_later(self.limits.drain_timeout_s, self._abort_all)
        self._check_done()

    def resume_accepting(self) -> None:
        if self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_timer = None
        if self._listener is not None and not self._accepting:
            self.loop.add_reader(self._listener.fileno(), self._on_listener_readable)
            self._accepting = True

    def _pause_accepting(self) -> None:
        if self._resume_timer is not None:
            self._resume_timer.cancel()
            self._resume_timer = None
        if self._listener is not None and self._accepting:
            self.loop.remove_reader(self._listener.fileno())
            self._accepting = False

    def _stop_accepting(self) -> None:
        self._pause_accepting()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _abort_all(self) -> None:
        if self.connections:
            logger.warning(
                "drain timeout: aborting %d connection(s) still open", len(self.connections)
            )
        for connection in list(self.connections):
            connection.abort()
        self.connections.clear()
        self._check_done()

    def connection_closed(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)
        self._open -= 1
        if self.draining:
            self._check_done()

    def _check_done(self) -> None:
        if self.draining and not self.connections and not self._done.done():
            if self._sweeper is not None:
                self._sweeper.cancel()
            self._done.set_result(None)

    # -- accepting and housekeeping ----------------------------------------------------

    def _on_listener_readable(self) -> None:
        if self.limits.share_accepts and self._open:
            self._pause_accepting()
            delay_s = min(self._open * _ACCEPT_DELAY_PER_CONNECTION_S, _MAX_ACCEPT_DELAY_S)
            self._resume_timer = self.loop.call_later(delay_s, self._accept_after_delay)
            return
        self._accept()

    def _accept_after_delay(self) -> None:
        self._resume_timer = None
        self._accept()
        self.resume_accepting()

    def _accept(self) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            conn, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return  # a sibling worker took it
        except OSError as exc:  # EMFILE and friends: try again on the next event
            logger.warning("accept failed: %s", exc)
            return
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setblocking(False)
        self._open += 1
        self.loop.create_task(self._attach(conn))

    async def _attach(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: HttpConnection(self), conn)
        except OSError as exc:
            logger.debug("connection lost while being set up: %s", exc)
            conn.close()
            self._open -= 1

    def _sweep(self) -> None:
        deadline = time.monotonic() - self.limits.keepalive_timeout_s
        for connection in list(self.connections):
            if connection.last_active_s < deadline:
                connection.abort() if not connection.idle else connection.close_if_idle()
        self._sweeper = self.loop.call_later(_SWEEP_INTERVAL_S, self._sweep)

    # -- requests ----------------------------------------------------------------------

    def respond(self, request: Request) -> Response:
        try:
            return self.app.handle(request)
        except Exception:
            logger.exception("serving toolkit failed on %s %s", request.method, request.target)
            error = ServingError(500, INTERNAL_ERROR, "the serving toolkit failed; see its log")
            return _error_response(error)
