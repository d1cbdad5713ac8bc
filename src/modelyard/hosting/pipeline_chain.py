"""An inference pipeline's chain: one request through every container, in order.

SageMaker's serial contract: the request goes to the first container's
``/invocations``; each container's answer becomes the next one's request, its
``Content-Type`` passed on; the last container's answer goes back. The client's
``Accept`` is for the last container; an intermediate container is asked for its own
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` when its environment sets one (as sagemaker's
scikit-learn + XGBoost example does with ``text/csv``), else for nothing (its default).
The custom-attributes header goes to every container; the last one's comes back.

What goes wrong, and what the front answers:

- container k answers a non-2xx: that status, the container's error code, and its
  message prefixed with the container's label (``container 1 (xgboost:2.1):
  predict_fn: ...``), so the router's 424 names the container at fault;
- container k does not answer within the timeout: 504 ``ModelTimeout`` naming it;
- container k cannot be reached or drops the connection (it died): no answer at all
  (:data:`ABORT`): the front drops the client's connection, so the router retries on
  another replica and has this one probed, as with a dead single-container replica.

``/ping`` pings every container at once: 200 only if all answer 200; else 503 with
the first ``ModelError`` (a model failed to load), else the first unhealthy one, else
``Starting`` while a container does not listen yet.

``/execution-parameters`` (batch transform asks it) answers what every container can
take: the smallest ``MaxConcurrentTransforms`` and ``MaxPayloadInMB`` any of them
proposes, and the first container's ``BatchStrategy`` (it is the one that receives the
records); 404 when none proposes anything.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from modelyard.hosting.replica_process import STARTING_CODE
from modelyard.hosting.routing import ReplicaTarget
from modelyard.hosting.upstream import (
    ConnectFailedError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeoutError,
    build_request,
)

log = logging.getLogger(__name__)

JSON = b"application/json"
DEFAULT_CONTENT_TYPE = b"application/octet-stream"
CUSTOM_ATTRIBUTES = b"X-Amzn-SageMaker-Custom-Attributes"
PING_REQUEST = b"GET /ping HTTP/1.1\r\nHost: replica\r\n\r\n"
PARAMETERS_REQUEST = b"GET /execution-parameters HTTP/1.1\r\nHost: replica\r\n\r\n"
#: Execution parameters of which the pipeline can take the smallest.
_LIMITS = ("MaxConcurrentTransforms", "MaxPayloadInMB")
PING_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Link:
    """One container of the chain: where it listens, what it is called, what it answers."""

    label: str
    target: ReplicaTarget
    #: ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` of an intermediate container, if set.
    accept: bytes | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the front sends back."""

    status: int
    body: bytes
    content_type: bytes = JSON
    custom_attributes: bytes | None = None


#: Drop the client's connection without an answer (a container is gone).
ABORT = None


def error_answer(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":"))
    return Answer(status, body.encode())


def _details(body: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, dict) else {}


def _failed(link: Link, response: UpstreamResponse) -> Answer:
    """Container ``link`` refused or failed: its status and code, its message named."""
    details = _details(response.body)
    code = str(details.get("code") or ("ModelError" if response.status >= 500 else "BadRequest"))
    message = details.get("message")
    if not isinstance(message, str):
        message = response.body[:1024].decode("utf-8", "replace").strip() or "(empty body)"
    handler = details.get("handler")
    if handler:
        message = f"{handler}: {message}"
    return error_answer(response.status, code, f"{link.label}: {message}")


class Chain:
    """Forwards through the links over pooled keep-alive connections."""

    def __init__(self, links: Sequence[Link], pool: UpstreamPool, timeout_s: float) -> None:
        if not links:
            raise ValueError("an inference pipeline has at least one container")
        self.links = tuple(links)
        self.pool = pool
        self.timeout_s = timeout_s

    async def invoke(
        self,
        body: bytes,
        content_type: bytes | None,
        accept: bytes | None,
        custom_attributes: bytes | None,
    ) -> Answer | None:
        """The last container's answer, an error naming a container, or :data:`ABORT`."""
        extra = [(CUSTOM_ATTRIBUTES, custom_attributes)] if custom_attributes else []
        current_type = content_type or DEFAULT_CONTENT_TYPE
        last = len(self.links) - 1
        response: UpstreamResponse | None = None
        for index, link in enumerate(self.links):
            wanted = accept if index == last else link.accept
            request = build_request(body, current_type, wanted, extra)
            try:
                response = await self.pool.request(link.target, request, self.timeout_s)
            except UpstreamTimeoutError:
                return error_answer(
                    504,
                    "ModelTimeout",
                    f"{link.label}: no answer within {self.timeout_s:g} s",
                )
            except UpstreamError as exc:
                log.warning("%s is unreachable, dropping the request: %s", link.label, exc)
                return ABORT
            if not 200 <= response.status < 300:
                return _failed(link, response)
            body = response.body
            current_type = response.header(b"content-type") or DEFAULT_CONTENT_TYPE
        assert response is not None
        return Answer(
            response.status,
            body,
            current_type,
            response.header(CUSTOM_ATTRIBUTES.lower()),
        )

    async def ping(self) -> Answer:
        """200 when every container is ready (see the module doc for the rest)."""
        answers = await asyncio.gather(*(self._ping(link) for link in self.links))
        for wanted in ("ModelError", None, STARTING_CODE):
            for answer in answers:
                if answer is None:
                    continue
                code = _details(answer.body).get("code")
                if wanted is None and code not in ("ModelError", STARTING_CODE):
                    return answer
                if code == wanted:
                    return answer
        return Answer(200, b"", b"text/plain")

    async def _ping(self, link: Link) -> Answer | None:
        try:
            response = await self.pool.request(link.target, PING_REQUEST, PING_TIMEOUT_S)
        except ConnectFailedError:
            return error_answer(503, STARTING_CODE, f"{link.label} is not listening yet")
        except UpstreamTimeoutError:
            return error_answer(
                503, "Unhealthy", f"{link.label}: no answer to /ping within {PING_TIMEOUT_S:g} s"
            )
        except UpstreamError as exc:
            return error_answer(503, "Unhealthy", f"{link.label}: /ping failed: {exc}")
        if response.status == 200:
            return None
        details = _details(response.body)
        if response.status == 503 and details.get("code") == "ModelError":
            return _failed(link, response)
        return error_answer(503, "Unhealthy", f"{link.label} answered /ping with {response.status}")

    async def execution_parameters(self) -> Answer:
        """What every container can take (see the module doc)."""
        proposed = await asyncio.gather(*(self._parameters(link) for link in self.links))
        merged: dict[str, object] = {}
        for index, parameters in enumerate(proposed):
            for key, value in parameters.items():
                if key in _LIMITS and isinstance(value, int) and not isinstance(value, bool):
                    current = merged.get(key)
                    merged[key] = value if not isinstance(current, int) else min(current, value)
                elif key == "BatchStrategy" and index == 0:
                    merged[key] = value
        if not merged:
            return error_answer(404, "NotFound", "no container proposes execution parameters")
        return Answer(200, json.dumps(merged).encode())

    async def _parameters(self, link: Link) -> dict[str, object]:
        try:
            response = await self.pool.request(link.target, PARAMETERS_REQUEST, PING_TIMEOUT_S)
        except UpstreamError:
            return {}
        if response.status != 200:
            return {}
        try:
            parsed = json.loads(response.body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
