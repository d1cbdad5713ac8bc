"""The local HTTP endpoint: ``GET /ping``, ``POST /invocations``, ``GET /status``.

The serving contract of modelyard (and SageMaker): ``/ping`` answers 200 once a
package is loaded (503 before); ``/invocations`` takes ``application/json``
(``{"instances": [[...], ...]}``, ``{"inputs": {name: rows}}`` or a bare list of
rows), ``text/csv`` (one row per line) or ``application/x-npy``, and answers by
``Accept``: JSON ``{"predictions": <the label output, else the first>, "outputs":
{name: values}, "model_version": v}`` (the default), CSV or NPY of the first
output. Standard library only (``ThreadingHTTPServer``), bound to 127.0.0.1 unless
told otherwise; ``TCP_NODELAY`` on every connection.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from modelyard_edge.agent import EdgeAgent, NoModelError

log = logging.getLogger("modelyard_edge.server")
MAX_BODY_BYTES = 16 << 20


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"error": message}).encode())

    def do_GET(self) -> None:
        agent = self.server.agent
        if self.path == "/ping":
            if agent.version is None:
                self._error(503, "no package loaded")
            else:
                self._send(200, b"{}")
        elif self.path == "/status":
            self._send(
                200,
                json.dumps(
                    {**agent.heartbeat_report(), "LastSync": agent.last_sync}, default=str
                ).encode(),
            )
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._error(404, f"no route {self.path}")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._error(413, f"the body is over {MAX_BODY_BYTES} bytes")
            return
        body = self.rfile.read(length)
        content_type = (self.headers.get("Content-Type") or "application/json").split(";")[0]
        accept = (self.headers.get("Accept") or "application/json").split(",")[0].strip()
        try:
            data = _decode(body, content_type)
        except ValueError as exc:
            self._error(415 if "unsupported" in str(exc) else 400, str(exc))
            return
        agent = self.server.agent
        try:
            outputs = agent.predict(data)
        except NoModelError as exc:
            self._error(503, str(exc))
            return
        except Exception as exc:
            self._error(400, f"prediction failed: {exc}")
            return
        try:
            payload, media = _encode(outputs, accept, agent.version)
        except ValueError as exc:
            self._error(406, str(exc))
            return
        self._send(200, payload, media)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], agent: EdgeAgent) -> None:
        super().__init__(address, _Handler)
        self.agent = agent


def _decode(body: bytes, content_type: str) -> Any:
    if content_type in ("application/json", "application/jsonlines"):
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"the body is not JSON: {exc}") from exc
        if isinstance(data, dict) and "instances" in data:
            return np.asarray(data["instances"])
        if isinstance(data, dict) and "inputs" in data:
            return {str(k): np.asarray(v) for k, v in data["inputs"].items()}
        return np.asarray(data)
    if content_type == "text/csv":
        text = body.decode("utf-8").strip()
        rows = [[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()]
        return np.asarray(rows)
    if content_type == "application/x-npy":
        return np.load(io.BytesIO(body), allow_pickle=False)
    raise ValueError(f"unsupported content type {content_type!r}: use JSON, CSV or NPY")


def _encode(outputs: dict[str, Any], accept: str, version: str | None) -> tuple[bytes, str]:
    main = outputs.get("label", next(iter(outputs.values())))
    if accept in ("application/json", "*/*", ""):
        body = {
            "predictions": np.asarray(main).tolist(),
            "outputs": {k: np.asarray(v).tolist() for k, v in outputs.items()},
            "model_version": version,
        }
        return json.dumps(body).encode(), "application/json"
    if accept == "text/csv":
        array = np.asarray(main)
        rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
        return ("\n".join(",".join(str(v) for v in row) for row in rows) + "\n").encode(), accept
    if accept == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(main), allow_pickle=False)
        return buffer.getvalue(), accept
    raise ValueError(f"cannot answer in {accept!r}: accept JSON, CSV or NPY")


class EdgeServer:
    """The endpoint of an agent, served by a background thread."""

    def __init__(self, agent: EdgeAgent, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), agent)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EdgeServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            name="edge-http",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EdgeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
