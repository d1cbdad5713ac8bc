"""Calls to one transform replica: ``/execution-parameters`` and ``/invocations``.

Connections are shared by the threads that send requests (up to
``MaxConcurrentTransforms`` at once), with TCP_NODELAY so small answers are not held
back by Nagle's algorithm. A replica's workers share its listening socket and each
serves the connections it accepted: a connection is therefore not kept forever (see
:data:`REUSE_BELOW_BYTES`), so that the load spreads over the workers even when they
became ready at different times. A connection
that breaks (or a 503 while the replica is busy) is retried up to
``ModelClientConfig.InvocationsMaxRetries`` times; an answer that is an error (4xx/5xx)
is the model's verdict on those records and is never retried.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from modelyard.hosting.routing import ReplicaTarget

_RETRY_DELAY_S = 0.2
#: A request this large gets a connection of its own (closed after): connecting costs
#: nothing next to sending it, and a new connection is accepted by an idle worker of the
#: replica, where a kept one stays with the worker that accepted it, busy or not.
REUSE_BELOW_BYTES = 1 << 20
#: Smaller requests reuse connections, renewed after this long for the same reason.
MAX_CONNECTION_AGE_S = 2.0


class InvocationError(Exception):
    """An invocation failed: the model answered an error (``answered``: ``status`` and
    ``message`` from the replica), or no answer came (a timeout, a broken connection)."""

    def __init__(self, status: int, message: str, *, answered: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.answered = answered


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: str | None


class ReplicaClient:
    """HTTP to one replica from many threads (see the module doc)."""

    def __init__(self, target: ReplicaTarget, *, timeout_s: float, retries: int) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self.retries = retries
        self._idle: queue.LifoQueue[tuple[http.client.HTTPConnection, float]] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(
            self.target.host, self.target.port, timeout=self.timeout_s
        )
        conn.connect()
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _take(self) -> tuple[http.client.HTTPConnection, float]:
        with contextlib.suppress(queue.Empty):
            return self._idle.get_nowait()
        return self._connect(), time.monotonic()

    def _give_back(self, conn: http.client.HTTPConnection, opened: float, sent: int) -> None:
        """Keep the connection for the next request, unless it is worth a new one."""
        if sent >= REUSE_BELOW_BYTES or time.monotonic() - opened > MAX_CONNECTION_AGE_S:
            self._discard(conn)
        else:
            self._idle.put((conn, opened))

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock, contextlib.suppress(ValueError):
            self._connections.remove(conn)

    def _send(
        self, method: str, path: str, body: bytes | bytearray | None, headers: dict[str, str]
    ) -> tuple[int, bytes, str | None]:
        attempt = 0
        while True:
            conn, opened = self._take()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self._discard(conn)
                if isinstance(exc, socket.timeout | TimeoutError):
                    raise InvocationError(
                        408,
                        f"the model did not answer within {self.timeout_s:g} s "
                        "(ModelClientConfig.InvocationsTimeoutInSeconds)",
                    ) from exc
                if attempt >= self.retries:
                    raise InvocationError(502, f"the replica could not be reached: {exc}") from exc
                attempt += 1
                time.sleep(_RETRY_DELAY_S * attempt)
                continue
            if response.getheader("Connection", "").lower() == "close":
                self._discard(conn)
            else:
                self._give_back(conn, opened, len(body or b""))
            if response.status == 503 and attempt < self.retries:
                attempt += 1
                time.sleep(_RETRY_DELAY_S * attempt)
                continue
            return response.status, data, response.getheader("Content-Type")

    def execution_parameters(self) -> dict[str, Any]:
        """What ``GET /execution-parameters`` proposes, or ``{}`` when it does not answer.

        Asked on a connection of its own, closed after, so that it does not count
        against one of the replica's workers when the invocation connections are opened.
        """
        conn = http.client.HTTPConnection(
            self.target.host, self.target.port, timeout=self.timeout_s
        )
        try:
            conn.request("GET", "/execution-parameters")
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            return {}
        with contextlib.suppress(ValueError):
            parsed = json.loads(body)
            if isinstance(parsed, dict):
                return parsed
        return {}

    def invoke(
        self, payload: bytes | bytearray, content_type: str | None, accept: str | None
    ) -> Answer:
        headers = {"Content-Length": str(len(payload))}
        if content_type:
            headers["Content-Type"] = content_type
        if accept:
            headers["Accept"] = accept
        status, body, answer_type = self._send("POST", "/invocations", payload, headers)
        if status >= 400:
            raise InvocationError(status, error_message(body) or f"HTTP {status}", answered=True)
        return Answer(body, answer_type)

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


def error_message(body: bytes) -> str:
    """The model's message from an error body (the serving container's JSON, or text)."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace").strip()[:512]
    if isinstance(parsed, dict):
        error = parsed.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "Message", "error"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return json.dumps(parsed)[:512]
