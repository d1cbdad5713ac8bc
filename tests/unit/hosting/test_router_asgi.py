"""The router's ASGI front door: which requests it takes, the token, body limits, headers."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from modelyard.hosting.answers import InvocationResult
from modelyard.hosting.router import Invocation
from modelyard.hosting.router_asgi import InvocationsMiddleware, endpoint_of


class FakeRouter:
    max_payload_bytes = 10

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[Invocation] = []
        self.after: list[Invocation] = []
        self.fail = fail

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        if self.fail:
            raise RuntimeError("bug")
        self.seen.append(invocation)
        return InvocationResult(200, b"ok", b"text/plain", "A", b"back")

    def after_response(self, invocation: Invocation, result: InvocationResult, ms: float) -> None:
        self.after.append(invocation)


async def _call(
    app: InvocationsMiddleware,
    path: str,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    method: str = "POST",
) -> tuple[int, dict[bytes, bytes], bytes]:
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    await app(scope, receive, send)
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def call(app: InvocationsMiddleware, path: str, *args: Any, **kwargs: Any) -> Any:
    return asyncio.run(_call(app, path, *args, **kwargs))


def passthrough() -> InvocationsMiddleware:
    async def fallback(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"api"})

    return InvocationsMiddleware(fallback, FakeRouter)  # type: ignore[arg-type]


def test_only_invocations_paths_are_taken() -> None:
    assert endpoint_of("/endpoints/ep/invocations") == "ep"
    for path in ("/endpoints/ep", "/endpoints//invocations", "/endpoints/a/b/invocations"):
        assert endpoint_of(path) is None
    app = passthrough()
    assert call(app, "/endpoints/ep", [], [b""])[0] == 299
    assert call(app, "/endpoints/ep/invocations", [], [b""], method="GET")[0] == 299


def test_headers_go_in_and_the_variant_and_attributes_come_back() -> None:
    router = FakeRouter()
    app = InvocationsMiddleware(passthrough(), lambda: router)  # type: ignore[arg-type,return-value]
    status, headers, body = call(
        app,
        "/endpoints/ep/invocations",
        [
            (b"content-type", b"text/csv"),
            (b"accept", b"application/json"),
            (b"x-amzn-sagemaker-custom-attributes", b"a=1"),
            (b"x-amzn-sagemaker-target-variant", b"A"),
            (b"x-amzn-sagemaker-inference-id", b"i-1"),
        ],
        [b"1,", b"2"],
    )
    assert (status, body) == (200, b"ok")
    assert headers[b"x-amzn-invoked-production-variant"] == b"A"
    assert headers[b"x-amzn-sagemaker-custom-attributes"] == b"back"
    (seen,) = router.seen
    assert (seen.endpoint, seen.body, seen.content_type, seen.accept) == (
        "ep",
        b"1,2",
        b"text/csv",
        b"application/json",
    )
    assert (seen.custom_attributes, seen.target_variant, seen.inference_id) == (
        b"a=1",
        "A",
        b"i-1",
    )
    assert router.after == [seen]


def test_bodies_over_the_limit_are_refused_by_length_or_as_they_stream() -> None:
    router = FakeRouter()
    app = InvocationsMiddleware(passthrough(), lambda: router)  # type: ignore[arg-type,return-value]
    declared = call(app, "/endpoints/ep/invocations", [(b"content-length", b"11")], [b"x" * 11])
    assert declared[0] == 413
    streamed = call(app, "/endpoints/ep/invocations", [], [b"x" * 6, b"x" * 6])
    assert streamed[0] == 413
    assert router.seen == []


def test_the_token_is_required_when_configured() -> None:
    router = FakeRouter()
    app = InvocationsMiddleware(passthrough(), lambda: router, token="s3cret")  # type: ignore[arg-type,return-value]
    assert call(app, "/endpoints/ep/invocations", [], [b""])[0] == 401
    wrong = [(b"authorization", b"Bearer nope")]
    assert call(app, "/endpoints/ep/invocations", wrong, [b""])[0] == 401
    right = [(b"authorization", b"Bearer s3cret")]
    assert call(app, "/endpoints/ep/invocations", right, [b""])[0] == 200


def test_a_router_bug_is_a_500_in_the_apis_error_shape() -> None:
    app = InvocationsMiddleware(passthrough(), lambda: FakeRouter(fail=True))  # type: ignore[arg-type,return-value]
    status, _headers, body = call(app, "/endpoints/ep/invocations", [], [b""])
    assert status == 500
    assert b'"code":"InternalFailure"' in body
