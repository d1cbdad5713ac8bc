"""The router: one invocation in, the chosen replica's answer out.

``POST /endpoints/{name}/invocations`` arrives through a front door
(:mod:`.router_asgi`) as an :class:`Invocation`; :meth:`Router.invoke`:

1. finds the endpoint in the :class:`~.routing.RoutingTable` (404), checks the size
   (413) and the headers (400);
2. picks the variant: the ``X-Amzn-SageMaker-Target-Variant`` header (404 if unknown),
   else by weight (:func:`~.policies.choose_variant`);
3. picks the replica with fewer requests in flight of two (:func:`~.policies.choose_replica`),
   avoiding replicas that just failed; 503 if the variant has none;
4. sends ``POST /invocations`` over a pooled keep-alive connection
   (:mod:`.upstream`) with Content-Type, Accept and the custom-attributes header;
   if the connection breaks (the replica died) it is retried **once** on another
   replica of the variant, and the failed replica is ejected for ``eject_s`` and
   reported to the controller, which checks it at once;
5. maps the answer (:mod:`.answers`): 2xx and the model's 4xx pass through; the
   model's 5xx and timeouts become 424 ``ModelError`` with the original status and
   message; every answer names the variant.

Metrics are recorded inline (a few additions). Shadow copies and data capture happen
in :meth:`Router.after_response`, which the front door calls once the response has
gone back; both only queue work.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelyard.hosting import answers
from modelyard.hosting.answers import InvocationResult
from modelyard.hosting.capture import CaptureEvent, CaptureWriter
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.policies import choose_replica, choose_variant
from modelyard.hosting.routing import (
    EndpointRoute,
    ReplicaTarget,
    RoutingTable,
    VariantRoute,
)
from modelyard.hosting.shadow import ShadowRecorder, responses_agree
from modelyard.hosting.upstream import (
    ConnectFailedError,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeoutError,
    build_request,
)

log = logging.getLogger(__name__)

CUSTOM_ATTRIBUTES = b"X-Amzn-SageMaker-Custom-Attributes"
INFERENCE_ID = b"X-Amzn-SageMaker-Inference-Id"
DEFAULT_CONTENT_TYPE = b"application/json"
MAX_SHADOWS_IN_FLIGHT = 16


@dataclass(slots=True)
class Invocation:
    """One InvokeEndpoint request, headers as bytes (as the front door read them)."""

    endpoint: str
    body: bytes
    content_type: bytes | None = None
    accept: bytes | None = None
    custom_attributes: bytes | None = None
    target_variant: str | None = None
    inference_id: bytes | None = None


def _clean(value: bytes | None) -> bool:
    return value is None or (b"\r" not in value and b"\n" not in value)


class Router:
    """Routes invocations to replicas (see the module doc); lives in one event loop."""

    def __init__(
        self,
        table: RoutingTable,
        metrics: MetricsStore,
        *,
        pool: UpstreamPool | None = None,
        capture: CaptureWriter | None = None,
        shadows: ShadowRecorder | None = None,
        timeout_s: float = 60.0,
        max_payload_bytes: int = 6 * 2**20,
        eject_s: float = 5.0,
        rng: random.Random | None = None,
        on_replica_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.table = table
        self.metrics = metrics
        self.pool = pool or UpstreamPool()
        self.capture = capture
        self.shadows = shadows or ShadowRecorder()
        self.timeout_s = timeout_s
        self.max_payload_bytes = max_payload_bytes
        self.eject_s = eject_s
        self.rng = rng or random.Random()
        self.on_replica_failure = on_replica_failure
        #: Requests in flight per replica id (touched by the loop's thread only).
        self.outstanding: dict[str, int] = {}
        self._ejected: dict[str, float] = {}
        self._shadows_in_flight = 0

    # -- the hot path ----------------------------------------------------------------

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        started = time.perf_counter()
        route = self.table.get(invocation.endpoint)
        if route is None:
            return answers.unknown_endpoint(invocation.endpoint)
        if len(invocation.body) > self.max_payload_bytes:
            return answers.too_large(len(invocation.body), self.max_payload_bytes)
        if not (
            _clean(invocation.content_type)
            and _clean(invocation.accept)
            and _clean(invocation.custom_attributes)
            and _clean(invocation.inference_id)
        ):
            return answers.bad_header("Content-Type, Accept or X-Amzn-SageMaker-*")
        if invocation.target_variant:
            variant = route.by_name.get(invocation.target_variant)
            if variant is None or (route.shadow is not None and variant is route.shadow.variant):
                return answers.unknown_variant(
                    invocation.endpoint,
                    invocation.target_variant,
                    [v.name for v in route.variants],
                )
        else:
            chosen = choose_variant(route, self.rng.random())
            if chosen is None:
                return answers.no_replica(invocation.endpoint, None)
            variant = chosen
        result = await self._forward(route.name, variant, invocation)
        total_us = (time.perf_counter() - started) * 1e6
        self._record(route.name, variant.metrics_name, result, total_us)
        return result

    def _record(
        self, endpoint: str, variant: str, result: InvocationResult, total_us: float
    ) -> None:
        model_us = result.model_latency_us
        model_status = result.model_status
        self.metrics.record_invocation(
            endpoint,
            variant,
            result.status if model_status is None else model_status,
            model_error=model_status is not None and not 200 <= model_status < 300,
            model_latency_us=model_us,
            overhead_latency_us=None if model_us is None else max(0.0, total_us - model_us),
        )

    async def _forward(
        self, endpoint: str, variant: VariantRoute, invocation: Invocation
    ) -> InvocationResult:
        ejected = self._current_ejections() if self._ejected else ()
        replica = choose_replica(variant.replicas, self.outstanding, self.rng.randrange, ejected)
        if replica is None:
            return answers.no_replica(endpoint, variant.name)
        extra: list[tuple[bytes, bytes]] = []
        if invocation.custom_attributes is not None:
            extra.append((CUSTOM_ATTRIBUTES, invocation.custom_attributes))
        if invocation.inference_id is not None:
            extra.append((INFERENCE_ID, invocation.inference_id))
        data = build_request(
            invocation.body,
            invocation.content_type or DEFAULT_CONTENT_TYPE,
            invocation.accept,
            extra,
        )
        sent = time.perf_counter()
        try:
            response = await self._send(replica, data)
        except UpstreamTimeoutError:
            self._report(replica)
            return answers.model_timeout(variant.name, self.timeout_s)
        except UpstreamError as first:
            self._report(replica)
            others = [r for r in variant.replicas if r.replica_id != replica.replica_id]
            retry = choose_replica(others, self.outstanding, self.rng.randrange)
            if retry is None:
                # The only replica: a fresh connection to it may still work (it may have
                # closed an idle connection), but not when it refused to connect.
                if isinstance(first, ConnectFailedError):
                    return answers.replica_failed(endpoint, variant.name, str(first))
                retry = replica
            sent = time.perf_counter()
            try:
                response = await self._send(retry, data)
            except UpstreamTimeoutError:
                self._report(retry)
                return answers.model_timeout(variant.name, self.timeout_s)
            except UpstreamError as second:
                self._report(retry)
                return answers.replica_failed(endpoint, variant.name, str(second))
        model_us = (time.perf_counter() - sent) * 1e6
        return _mapped(variant.name, response, model_us)

    async def _send(self, replica: ReplicaTarget, data: bytes) -> UpstreamResponse:
        key = replica.replica_id
        outstanding = self.outstanding
        outstanding[key] = outstanding.get(key, 0) + 1
        try:
            return await self.pool.request(replica, data, self.timeout_s)
        finally:
            outstanding[key] -= 1

    # -- failures ----------------------------------------------------------------------

    def _report(self, replica: ReplicaTarget) -> None:
        self._ejected[replica.replica_id] = time.monotonic() + self.eject_s
        self.pool.forget(replica.host, replica.port)
        if self.on_replica_failure is not None:
            try:
                self.on_replica_failure(replica.replica_id)
            except Exception:
                log.exception("reporting the failure of replica %s failed", replica.replica_id)

    def _current_ejections(self) -> set[str]:
        now = time.monotonic()
        for key in [k for k, until in self._ejected.items() if until <= now]:
            del self._ejected[key]
        return set(self._ejected)

    # -- after the response ------------------------------------------------------------

    def after_response(
        self, invocation: Invocation, result: InvocationResult, latency_ms: float
    ) -> None:
        """Queue the shadow copy and the capture of an answered invocation; never raises."""
        route = self.table.get(invocation.endpoint)
        if route is None or result.variant is None:
            return
        try:
            if route.capture is not None and self.capture is not None and result.ok:
                self._capture(route, invocation, result, result.variant)
            shadow = route.shadow
            if shadow is not None and self.rng.random() < shadow.sampling_fraction:
                self._mirror(route, invocation, result, latency_ms)
        except Exception:
            log.exception("queueing the shadow copy or capture of %s failed", invocation.endpoint)

    def _capture(
        self, route: EndpointRoute, invocation: Invocation, result: InvocationResult, variant: str
    ) -> None:
        settings = route.capture
        assert settings is not None
        assert self.capture is not None
        if self.rng.random() >= settings.sampling_fraction:
            return
        self.capture.submit(
            CaptureEvent(
                settings=settings,
                endpoint=route.name,
                variant=variant,
                request_body=invocation.body,
                request_content_type=(invocation.content_type or DEFAULT_CONTENT_TYPE).decode(
                    "latin-1"
                ),
                response_body=result.body,
                response_content_type=result.content_type.decode("latin-1"),
                inference_time_s=time.time(),
                inference_id=invocation.inference_id.decode("latin-1")
                if invocation.inference_id
                else None,
            )
        )

    def _mirror(
        self,
        route: EndpointRoute,
        invocation: Invocation,
        result: InvocationResult,
        latency_ms: float,
    ) -> None:
        shadow = route.shadow
        assert shadow is not None
        production = result.variant or ""
        if self._shadows_in_flight >= MAX_SHADOWS_IN_FLIGHT:
            self.shadows.dropped(route.name, production, shadow.variant.name)
            return
        self._shadows_in_flight += 1
        task = asyncio.get_running_loop().create_task(
            self._shadow(route, shadow.variant, invocation, result, latency_ms)
        )
        task.add_done_callback(self._shadow_done)

    def _shadow_done(self, task: asyncio.Task[None]) -> None:
        self._shadows_in_flight -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("a shadow request failed in the router: %s", task.exception())

    async def _shadow(
        self,
        route: EndpointRoute,
        variant: VariantRoute,
        invocation: Invocation,
        production: InvocationResult,
        production_latency_ms: float,
    ) -> None:
        started = time.perf_counter()
        answer = await self._forward(route.name, variant, invocation)
        latency_ms = (time.perf_counter() - started) * 1e3
        answered = answer.model_latency_us is not None
        self._record(route.name, variant.metrics_name, answer, latency_ms * 1e3)
        agree = (
            production.ok
            and answer.ok
            and responses_agree(
                production.body, answer.body, production.content_type.decode("latin-1")
            )
        )
        self.shadows.record(
            route.name,
            production.variant or "",
            variant.name,
            production_ok=production.ok,
            production_latency_ms=production_latency_ms,
            shadow_ok=answer.ok,
            shadow_latency_ms=latency_ms if answered else None,
            agree=agree,
        )
        if route.capture is not None and self.capture is not None and answer.ok:
            self._capture(route, invocation, answer, variant.name)

    def close(self) -> None:
        self.pool.close()


def _mapped(variant: str, response: UpstreamResponse, model_us: float) -> InvocationResult:
    status = response.status
    if status < 400:
        return InvocationResult(
            status,
            response.body,
            response.header(b"content-type") or b"application/octet-stream",
            variant,
            response.header(b"x-amzn-sagemaker-custom-attributes"),
            model_us,
            status,
        )
    if status < 500:
        return InvocationResult(
            status,
            response.body,
            response.header(b"content-type") or answers.JSON,
            variant,
            None,
            model_us,
            status,
        )
    result = answers.model_error(variant, status, answers.replica_message(response.body))
    result.model_latency_us = model_us
    result.model_status = status
    return result
