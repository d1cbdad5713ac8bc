"""The router's HTTP front door: a raw ASGI middleware in front of the control-plane app.

``POST /endpoints/{name}/invocations`` (SageMaker runtime's path) is answered here,
before FastAPI's routing, validation and dependency machinery, which would cost more
than the router's whole budget; every other request goes on to the app unchanged.
The API token, when one is configured, is checked here too.

Request headers read: ``Content-Type``, ``Accept``, ``X-Amzn-SageMaker-Custom-Attributes``,
``X-Amzn-SageMaker-Target-Variant``, ``X-Amzn-SageMaker-Inference-Id``. Response headers:
``Content-Type``, ``X-Amzn-Invoked-Production-Variant`` and the custom attributes the
model set. The body is read up to the router's limit; a larger ``Content-Length`` is
refused (413) before reading.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from modelyard.hosting import answers
from modelyard.hosting.answers import InvocationResult
from modelyard.hosting.router import Invocation, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

PREFIX = "/endpoints/"
SUFFIX = "/invocations"
VARIANT_HEADER = b"x-amzn-invoked-production-variant"


def endpoint_of(path: str) -> str | None:
    """``name`` of ``/endpoints/{name}/invocations``, else None."""
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        name = path[len(PREFIX) : -len(SUFFIX)]
        if name and "/" not in name:
            return name
    return None


class InvocationsMiddleware:
    """Answers invocations with :class:`Router`; passes everything else to ``app``."""

    def __init__(
        self, app: ASGIApp, router: Callable[[], Router], token: str | None = None
    ) -> None:
        self.app = app
        self._router = router
        self._expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            name = endpoint_of(scope["path"])
            if name is not None:
                await self._invoke(name, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _invoke(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        router = self._router()
        invocation = Invocation(name, b"")
        authorization = b""
        length = -1
        for key, value in scope["headers"]:
            if key == b"content-type":
                invocation.content_type = value
            elif key == b"accept":
                invocation.accept = value
            elif key.startswith(b"x-amzn-sagemaker-"):
                if key == b"x-amzn-sagemaker-custom-attributes":
                    invocation.custom_attributes = value
                elif key == b"x-amzn-sagemaker-target-variant":
                    invocation.target_variant = value.decode("latin-1")
                elif key == b"x-amzn-sagemaker-inference-id":
                    invocation.inference_id = value
            elif key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
            elif key == b"authorization":
                authorization = value
        if self._expected is not None and not hmac.compare_digest(authorization, self._expected):
            reason = "a wrong" if authorization else "no"
            await _respond(
                send,
                answers.error(
                    401,
                    "UnauthorizedOperation",
                    f"the request carries {reason} API token: send "
                    "'Authorization: Bearer <MODELYARD_API_TOKEN>'",
                ),
            )
            return
        limit = router.max_payload_bytes
        if length > limit:
            await _respond(send, answers.too_large(length, limit))
            return
        body = await _read_body(receive, limit)
        if body is None:
            await _respond(send, answers.too_large(limit + 1, limit))
            return
        invocation.body = body
        try:
            result = await router.invoke(invocation)
        except Exception as exc:  # a bug of the router: say so in the API's error shape
            log.exception("invoking endpoint %s failed in the router", name)
            result = answers.error(
                500,
                "InternalFailure",
                f"internal error in the router ({type(exc).__name__}); the server log has details",
            )
        await _respond(send, result)
        router.after_response(invocation, result, (time.perf_counter() - started) * 1e3)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it exceeds ``limit``."""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    parts = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _respond(send: Send, result: InvocationResult) -> None:
    headers = [
        (b"content-type", result.content_type),
        (b"content-length", str(len(result.body)).encode()),
    ]
    if result.variant is not None:
        headers.append((VARIANT_HEADER, result.variant.encode()))
    if result.custom_attributes is not None:
        headers.append((b"x-amzn-sagemaker-custom-attributes", result.custom_attributes))
    await send({"type": "http.response.start", "status": result.status, "headers": headers})
    await send({"type": "http.response.body", "body": result.body})
