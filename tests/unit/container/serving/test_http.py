"""The HTTP/1.1 request parser and response writer, fed byte by byte where it matters."""

from __future__ import annotations

import pytest

from modelyard.container.http import (
    Request,
    RequestParser,
    Response,
    serialize,
)
from modelyard.container.serving_errors import HttpProtocolError

LIMIT = 1000


def parser(max_body: int = LIMIT, max_header: int = 512) -> RequestParser:
    return RequestParser(max_header_bytes=max_header, max_body_bytes=max_body)


def parse_all(data: bytes, p: RequestParser | None = None) -> list[Request]:
    p = p or parser()
    p.feed(data)
    out = []
    while (request := p.next_request()) is not None:
        out.append(request)
    return out


def refused(data: bytes, **limits: int) -> HttpProtocolError:
    p = parser(**limits)
    p.feed(data)

    def drain() -> None:
        while p.next_request() is not None:
            pass

    with pytest.raises(HttpProtocolError) as info:
        drain()
    return info.value


POST = (
    b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
    b"Content-Length: 3\r\n\r\n1,2"
)


def test_a_post_with_a_body() -> None:
    [request] = parse_all(POST)
    assert request.method == "POST"
    assert request.path == "/invocations"
    assert request.headers["content-type"] == "text/csv"
    assert request.body == b"1,2"
    assert request.keep_alive


def test_byte_by_byte_gives_the_same_request() -> None:
    p = parser()
    seen = []
    for byte in POST:
        p.feed(bytes([byte]))
        if (request := p.next_request()) is not None:
            seen.append(request)
    assert [r.body for r in seen] == [b"1,2"]
    assert p.idle


def test_pipelined_requests_come_out_in_order() -> None:
    ping = b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
    requests = parse_all(ping + POST + ping + POST.replace(b"1,2", b"3,4"))
    assert [(r.path, r.body) for r in requests] == [
        ("/ping", b""),
        ("/invocations", b"1,2"),
        ("/ping", b""),
        ("/invocations", b"3,4"),
    ]


def test_keep_alive_rules() -> None:
    close11 = b"GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n"
    plain10 = b"GET /ping HTTP/1.0\r\n\r\n"
    keep10 = b"GET /ping HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
    assert [r.keep_alive for r in parse_all(close11)] == [False]
    assert [r.keep_alive for r in parse_all(plain10)] == [False]
    assert [r.keep_alive for r in parse_all(keep10)] == [True]


def test_chunked_body_with_extensions_and_trailers() -> None:
    data = (
        b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4;ext=1\r\n1,2,\r\n3\r\n3,4\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    p = parser()
    requests = []
    for byte in data + POST:
        p.feed(bytes([byte]))
        while (request := p.next_request()) is not None:
            requests.append(request)
    assert [r.body for r in requests] == [b"1,2,3,4", b"1,2"]


def test_chunked_without_trailers() -> None:
    data = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n"
    assert [r.body for r in parse_all(data)] == [b"0123456789"]


def test_expect_continue_is_noted_until_the_body_arrives() -> None:
    p = parser()
    p.feed(b"POST /invocations HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    assert p.next_request() is None
    assert p.continue_wanted
    p.continue_wanted = False
    p.feed(b"abc")
    request = p.next_request()
    assert request is not None
    assert request.body == b"abc"
    assert not p.continue_wanted


def test_expect_continue_with_the_body_already_there_needs_no_continue() -> None:
    p = parser()
    p.feed(b"POST /i HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx")
    assert p.next_request() is not None
    assert not p.continue_wanted


def test_body_over_the_limit_is_413_before_it_is_read() -> None:
    error = refused(b"POST /invocations HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
    assert (error.status, error.code) == (413, "PayloadTooLarge")
    assert "1001 bytes" in error.message


def test_body_at_the_limit_is_fine() -> None:
    data = b"POST /i HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000
    assert len(parse_all(data)[0].body) == 1000


def test_chunked_body_over_the_limit_is_413() -> None:
    data = b"POST /i HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"200\r\n" + b"x" * 512
    data += b"\r\n200\r\n"
    assert refused(data).status == 413


def test_headers_over_the_limit_are_431_even_unterminated() -> None:
    big = b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 600
    assert refused(big).status == 431
    assert refused(big + b"\r\n\r\n").code == "HeadersTooLarge"


def test_too_many_headers_are_431() -> None:
    data = b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(200)) + b"\r\n"
    assert refused(data, max_header=100_000).status == 431


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"GARBAGE\r\n\r\n", "request line"),
        (b"GET /ping HTTP/1.1 extra\r\n\r\n", "request line"),
        (b"G(T /ping HTTP/1.1\r\n\r\n", "method"),
        (b"GET ping HTTP/1.1\r\n\r\n", "target"),
        (b"GET /ping FTP/1.1\r\n\r\n", "version"),
        (b"GET /ping HTTP/1.1\r\nNoColon\r\n\r\n", "colon"),
        (b"GET /ping HTTP/1.1\r\nName : v\r\n\r\n", "header name"),
        (b"GET /ping HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "folded"),
        (b"POST /i HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"POST /i HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting"),
        (
            b"POST /i HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "both",
        ),
        (b"POST /i HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding"),
        (b"POST /i HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"POST /i HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxyz", "CRLF"),
    ],
)
def test_malformed_requests_are_400(data: bytes, fragment: str) -> None:
    error = refused(data)
    assert (error.status, error.code) == (400, "BadRequest")
    assert fragment in error.message


def test_other_http_versions_are_505() -> None:
    assert refused(b"GET /ping HTTP/2.0\r\n\r\n").status == 505


def test_same_content_length_twice_is_accepted() -> None:
    data = b"POST /i HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"
    assert parse_all(data)[0].body == b"x"


def test_repeated_headers_are_joined() -> None:
    [request] = parse_all(b"GET /p HTTP/1.1\r\nAccept: a/b\r\nAccept: c/d\r\n\r\n")
    assert request.headers["accept"] == "a/b, c/d"


def test_serialize() -> None:
    data = serialize(Response(200, b"[1]", "application/json", [("X-A", "b")]), keep_alive=True)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 200 OK"
    assert b"Content-Length: 3" in lines
    assert b"Content-Type: application/json" in lines
    assert b"X-A: b" in lines
    assert any(line.startswith(b"Date: ") for line in lines)
    assert body == b"[1]"
    closing = serialize(Response(413), keep_alive=False)
    assert closing.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert b"Connection: close\r\n" in closing
    assert b"Connection: keep-alive" in serialize(Response(200), keep_alive=True, http10=True)
