"""What the router answers when an invocation does not succeed, in one place.

Bodies follow the API's error shape ``{"error": {"code", "message"}}`` (so the SDK
rebuilds :mod:`modelyard.errors` classes), with SageMaker runtime's fields beside it
for ``ModelError``: ``OriginalStatusCode`` and ``OriginalMessage``.

======  =====================  ===============================================
status  code                   when
======  =====================  ===============================================
404     ResourceNotFound       no such endpoint, or no such target variant
413     PayloadTooLarge        the body is over the limit (6 MB by default)
400     ValidationError        a header the router cannot pass on
4xx     (the replica's)        the model refused the input: 400, 406, 413, 415
424     ModelError             the model failed (its 5xx), or did not answer in time
503     ServiceUnavailable     no replica of the variant is ready, or none answered
======  =====================  ===============================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass

JSON = b"application/json"


@dataclass(slots=True)
class InvocationResult:
    """The router's answer to one invocation."""

    status: int
    body: bytes
    content_type: bytes
    variant: str | None = None
    custom_attributes: bytes | None = None
    model_latency_us: float | None = None
    #: The replica's own status when it answered (or 504 when it timed out), else None.
    model_status: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _body(details: dict[str, object]) -> bytes:
    return json.dumps({"error": details}, separators=(",", ":")).encode()


def error(status: int, code: str, message: str, variant: str | None = None) -> InvocationResult:
    return InvocationResult(status, _body({"code": code, "message": message}), JSON, variant)


def unknown_endpoint(name: str) -> InvocationResult:
    return error(
        404,
        "ResourceNotFound",
        f"Endpoint {name} not found: it does not exist or is not in service "
        "(see 'modelyard endpoints list')",
    )


def unknown_variant(endpoint: str, variant: str, known: list[str]) -> InvocationResult:
    return error(
        404,
        "ResourceNotFound",
        f"endpoint {endpoint} has no production variant {variant!r} "
        f"(X-Amzn-SageMaker-Target-Variant); it has {', '.join(known) or 'none'}",
    )


def too_large(size: int, limit: int) -> InvocationResult:
    return error(
        413,
        "PayloadTooLarge",
        f"the request body is {size} bytes, over the endpoint's limit of {limit} bytes "
        f"({limit / 2**20:g} MB): send smaller batches",
    )


def bad_header(name: str) -> InvocationResult:
    return error(400, "ValidationError", f"the {name} header holds a line break: remove it")


def no_replica(endpoint: str, variant: str | None) -> InvocationResult:
    where = f"variant {variant} of endpoint {endpoint}" if variant else f"endpoint {endpoint}"
    return error(
        503,
        "ServiceUnavailable",
        f"no replica of {where} is ready to take the request; retry shortly",
        variant,
    )


def replica_failed(endpoint: str, variant: str, reason: str) -> InvocationResult:
    return error(
        503,
        "ServiceUnavailable",
        f"the replicas of variant {variant} of endpoint {endpoint} failed to answer "
        f"(tried twice): {reason}; retry shortly",
        variant,
    )


def model_error(variant: str, original_status: int, original_message: str) -> InvocationResult:
    """SageMaker's 424: the model answered ``original_status`` with ``original_message``."""
    message = (
        f"Received server error ({original_status}) from model with message "
        f'"{original_message}". See the replica logs of variant {variant}.'
    )
    body = _body(
        {
            "code": "ModelError",
            "message": message,
            "OriginalStatusCode": original_status,
            "OriginalMessage": original_message,
        }
    )
    return InvocationResult(424, body, JSON, variant)


def model_timeout(variant: str, timeout_s: float) -> InvocationResult:
    result = model_error(
        variant, 504, f"the model did not answer within {timeout_s:g} s; the request was abandoned"
    )
    result.model_status = 504
    return result


def replica_message(body: bytes) -> str:
    """The message of a replica's ``{"error": {...}}`` body, else the body as text."""
    try:
        parsed = json.loads(body)
        details = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(details, dict) and isinstance(details.get("message"), str):
            return str(details["message"])
    except ValueError:
        pass
    return body[:1024].decode("utf-8", "replace").strip() or "(empty body)"
