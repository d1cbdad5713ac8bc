"""HTTP/1.1 requests in, responses out: a sans-IO parser for the replica's server.

:class:`RequestParser` is fed the bytes of one connection as they arrive and hands back
complete :class:`Request` objects, in order (pipelined requests queue up in its buffer).
It reads ``Content-Length`` and ``chunked`` bodies, notes ``Expect: 100-continue`` and
enforces the limits a replica needs: the request line and headers together at most
``max_header_bytes`` (431), the body at most ``max_body_bytes`` (413, decided from the
``Content-Length`` before the body is read). Anything ambiguous that request smuggling
feeds on is refused with 400: both ``Content-Length`` and ``Transfer-Encoding``,
conflicting lengths, whitespace before a header's colon, folded header lines, transfer
codings other than ``chunked``.

It does no I/O, so the unit tests drive it byte by byte; :mod:`.http_server` owns the
sockets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

from modelyard.container.serving_errors import (
    BAD_REQUEST,
    HEADERS_TOO_LARGE,
    HTTP_VERSION_NOT_SUPPORTED,
    PAYLOAD_TOO_LARGE,
    HttpProtocolError,
)

DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024
MAX_HEADER_COUNT: Final = 128
_MAX_CHUNK_LINE: Final = 1024
_TOKEN_CHARS: Final = frozenset(
    b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")

# Parser states.
_HEAD: Final = 0
_BODY: Final = 1
_CHUNK_SIZE: Final = 2
_CHUNK_DATA: Final = 3
_CHUNK_END: Final = 4
_TRAILERS: Final = 5


@dataclass(slots=True)
class Request:
    """One request: method, target, ``HTTP/1.x``, headers (names lower-cased), body."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes = b""
    keep_alive: bool = True

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]


@dataclass(slots=True)
class Response:
    """What a handler answers; :func:`serialize` turns it into bytes."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def _bad(message: str) -> HttpProtocolError:
    return HttpProtocolError(400, BAD_REQUEST, message)


class RequestParser:
    """Turns the bytes of one connection into requests (see the module doc)."""

    def __init__(
        self,
        *,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        max_body_bytes: int,
    ) -> None:
        self.max_header_bytes = max_header_bytes
        self.max_body_bytes = max_body_bytes
        self._buffer = bytearray()
        self._state = _HEAD
        self._request: Request | None = None
        self._remaining = 0  # bytes of the body (or of the current chunk) still to come
        self._chunks: list[bytes] = []
        self._body_size = 0
        self.continue_wanted = False
        """Set when a request's headers asked for ``100 Continue`` and its body has not
        arrived yet; the server answers ``100 Continue`` once and clears it."""

    @property
    def idle(self) -> bool:
        """No partial request is buffered (a connection may be closed without loss)."""
        return self._state == _HEAD and not self._buffer

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_request(self) -> Request | None:
        """The next complete request, or None until more bytes arrive.

        Raises :class:`HttpProtocolError` for a malformed or oversized request: the
        connection must then be answered with its status and closed.
        """
        while True:
            state = self._state
            if state == _HEAD:
                if not self._parse_head():
                    return None
            elif state == _BODY:
                if len(self._buffer) < self._remaining:
                    return None
                return self._finish(self._take(self._remaining))
            elif state == _CHUNK_SIZE:
                if not self._parse_chunk_size():
                    return None
            elif state == _CHUNK_DATA:
                if not self._buffer:
                    return None
                piece = self._take(min(self._remaining, len(self._buffer)))
                self._chunks.append(piece)
                self._remaining -= len(piece)
                if self._remaining == 0:
                    self._state = _CHUNK_END
            elif state == _CHUNK_END:
                if len(self._buffer) < 2:
                    return None
                if self._take(2) != b"\r\n":
                    raise _bad("a chunk of the body does not end with CRLF")
                self._state = _CHUNK_SIZE
            else:  # _TRAILERS
                end = self._buffer.find(b"\r\n\r\n") if self._buffer[:2] != b"\r\n" else -2
                if end == -1:
                    if len(self._buffer) > self.max_header_bytes:
                        raise HttpProtocolError(
                            431, HEADERS_TOO_LARGE, "the chunked body's trailers are too large"
                        )
                    return None
                del self._buffer[: end + 4]
                body = b"".join(self._chunks)
                self._chunks = []
                return self._finish(body)

    # -- pieces ------------------------------------------------------------------------

    def _take(self, size: int) -> bytes:
        buffer = self._buffer
        if size == len(buffer):  # the usual body: all that was buffered, copied once
            piece = bytes(buffer)
            buffer.clear()
            return piece
        with memoryview(buffer) as view:  # released before the buffer is resized
            piece = bytes(view[:size])
        del buffer[:size]
        return piece

    def _finish(self, body: bytes) -> Request:
        request = self._request
        assert request is not None
        request.body = body
        self._request = None
        self._state = _HEAD
        self.continue_wanted = False
        return request

    def _parse_head(self) -> bool:
        buffer = self._buffer
        # Tolerate empty lines between pipelined requests (RFC 9112, 2.2).
        while buffer[:2] == b"\r\n":
            del buffer[:2]
        end = buffer.find(b"\r\n\r\n")
        if end == -1:
            if len(buffer) > self.max_header_bytes:
                raise HttpProtocolError(
                    431,
                    HEADERS_TOO_LARGE,
                    f"the request line and headers exceed {self.max_header_bytes} bytes",
                )
            return False
        if end + 4 > self.max_header_bytes:
            raise HttpProtocolError(
                431,
                HEADERS_TOO_LARGE,
                f"the request line and headers exceed {self.max_header_bytes} bytes",
            )
        head = bytes(buffer[:end])
        del buffer[: end + 4]
        lines = head.split(b"\r\n")
        request = _request_line(lines[0])
        if len(lines) - 1 > MAX_HEADER_COUNT:
            raise HttpProtocolError(
                431, HEADERS_TOO_LARGE, f"more than {MAX_HEADER_COUNT} header fields"
            )
        headers = request.headers
        for line in lines[1:]:
            name, value = _header_line(line)
            if name in headers:
                if name == "content-length" and headers[name] != value:
                    raise _bad("conflicting Content-Length headers")
                if name != "content-length":
                    headers[name] = f"{headers[name]}, {value}"
            else:
                headers[name] = value
        connection = headers.get("connection", "").lower()
        if request.version == "HTTP/1.1":
            request.keep_alive = "close" not in connection
        else:
            request.keep_alive = "keep-alive" in connection
        self._request = request
        self._start_body(request)
        return True

    def _start_body(self, request: Request) -> None:
        headers = request.headers
        encoding = headers.get("transfer-encoding")
        length_text = headers.get("content-length")
        if encoding is not None:
            if length_text is not None:
                raise _bad("both Content-Length and Transfer-Encoding are set")
            if encoding.strip().lower() != "chunked":
                raise _bad(f"unsupported Transfer-Encoding {encoding!r}: only chunked")
            self._state = _CHUNK_SIZE
            self._body_size = 0
            self._chunks = []
        elif length_text is not None:
            if not length_text.isdigit() or not length_text.isascii():
                raise _bad(f"invalid Content-Length {length_text!r}")
            length = int(length_text)
            if length > self.max_body_bytes:
                raise HttpProtocolError(
                    413,
                    PAYLOAD_TOO_LARGE,
                    f"the body has {length} bytes, over the limit of {self.max_body_bytes} "
                    "bytes (SAGEMAKER_MAX_PAYLOAD_IN_MB)",
                )
            self._remaining = length
            self._state = _BODY
        else:
            self._remaining = 0
            self._state = _BODY
        if self._state != _BODY or self._remaining > len(self._buffer):
            self.continue_wanted = headers.get("expect", "").lower() == "100-continue"

    def _parse_chunk_size(self) -> bool:
        end = self._buffer.find(b"\r\n")
        if end == -1:
            if len(self._buffer) > _MAX_CHUNK_LINE:
                raise _bad("a chunk-size line is too long")
            return False
        line = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
        del self._buffer[: end + 2]
        if not line or not _HEX_DIGITS.issuperset(line) or len(line) > 16:
            raise _bad(f"invalid chunk size {line[:32]!r}")
        size = int(line, 16)
        self._body_size += size
        if self._body_size > self.max_body_bytes:
            raise HttpProtocolError(
                413,
                PAYLOAD_TOO_LARGE,
                f"the chunked body exceeds the limit of {self.max_body_bytes} bytes "
                "(SAGEMAKER_MAX_PAYLOAD_IN_MB)",
            )
        if size == 0:
            self._state = _TRAILERS
        else:
            self._remaining = size
            self._state = _CHUNK_DATA
        return True


def _request_line(line: bytes) -> Request:
    parts = line.split(b" ")
    if len(parts) != 3:
        raise _bad(f"malformed request line {line[:100]!r}")
    method, target, version = parts
    if not method or not _TOKEN_CHARS.issuperset(method):
        raise _bad(f"invalid method {method[:32]!r}")
    if not target or not target.isascii() or (target[0] not in b"/*" and b"://" not in target):
        raise _bad(f"invalid request target {target[:100]!r}")
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        if version.startswith(b"HTTP/") and len(version) == 8:
            raise HttpProtocolError(
                505,
                HTTP_VERSION_NOT_SUPPORTED,
                f"{version.decode('ascii', 'replace')} is not supported: use HTTP/1.1",
            )
        raise _bad(f"invalid HTTP version {version[:32]!r}")
    return Request(method.decode("ascii"), target.decode("ascii"), version.decode("ascii"), {})


def _header_line(line: bytes) -> tuple[str, str]:
    if line[:1] in (b" ", b"\t"):
        raise _bad(f"folded header lines (obs-fold) are not accepted: {line[:100]!r}")
    name, colon, value = line.partition(b":")
    if not colon:
        raise _bad(f"header line without a colon: {line[:100]!r}")
    if not name or not _TOKEN_CHARS.issuperset(name):
        # Also catches "Name :" (whitespace before the colon).
        raise _bad(f"invalid header name {name[:100]!r}")
    return name.decode("ascii").lower(), value.strip(b" \t").decode("latin-1")


# ------------------------------------------------------------------------- responses

_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}
_STATUS_LINES: dict[int, bytes] = {}
CONTINUE_RESPONSE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"


class _DateCache:
    """The ``Date`` header, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._line


_DATE = _DateCache()


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        reason = _REASONS.get(status, "Unknown")
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {reason}\r\n".encode()
    return line


def serialize(response: Response, *, keep_alive: bool, http10: bool = False) -> bytes:
    """The response as bytes: status line, headers (``Content-Length`` always), body."""
    parts = [_status_line(response.status), _DATE.line()]
    if response.content_type is not None:
        parts.append(b"Content-Type: " + response.content_type.encode("latin-1") + b"\r\n")
    for name, value in response.headers:
        parts.append(f"{name}: {value}\r\n".encode("latin-1"))
    parts.append(b"Content-Length: %d\r\n" % len(response.body))
    if not keep_alive:
        parts.append(b"Connection: close\r\n")
    elif http10:
        parts.append(b"Connection: keep-alive\r\n")
    parts.append(b"\r\n")
    parts.append(response.body)
    return b"".join(parts)
