"""The router's hot path against tiny asyncio replicas on loopback: answers, retries, limits."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from modelyard.catalog import SqlCatalog
from modelyard.hosting.metrics import MetricsStore
from modelyard.hosting.router import Invocation, Router
from modelyard.hosting.routing import (
    EndpointRoute,
    ReplicaTarget,
    RoutingTable,
    ShadowRoute,
    VariantRoute,
)
from modelyard.hosting.shadow import ShadowRecorder
from modelyard.ids import ResourceKind

Handler = Callable[[bytes, dict[str, str]], Awaitable[tuple[int, bytes, dict[str, str]] | None]]


@asynccontextmanager
async def replica(handler: Handler) -> AsyncIterator[tuple[int, list[dict[str, str]]]]:
    """A keep-alive HTTP/1.1 server; ``handler`` returning None drops the connection."""
    seen: list[dict[str, str]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen.append(headers)
                answer = await handler(body, headers)
                if answer is None:
                    writer.transport.abort()
                    return
                status, payload, extra = answer
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}"]
                out += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + payload)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()


async def echo(body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    extra = {"Content-Type": headers.get("accept", "application/json")}
    if "x-amzn-sagemaker-custom-attributes" in headers:
        extra["X-Amzn-SageMaker-Custom-Attributes"] = "seen"
    return 200, body, extra


def make_router(
    *variants: VariantRoute, shadow: ShadowRoute | None = None, **options: Any
) -> tuple[Router, MetricsStore]:
    catalog = SqlCatalog("sqlite://")
    catalog.migrate()
    catalog.create(ResourceKind.ENDPOINT, "ep", spec={}, status="Creating")
    metrics = MetricsStore(catalog)
    table = RoutingTable()
    table.publish(EndpointRoute("ep", variants, shadow=shadow))
    router = Router(table, metrics, rng=random.Random(1), shadows=ShadowRecorder(), **options)
    return router, metrics


def target(name: str, port: int) -> ReplicaTarget:
    return ReplicaTarget(name, "127.0.0.1", port)


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_a_request_passes_headers_both_ways_and_names_its_variant() -> None:
    async def scenario() -> None:
        async with replica(echo) as (port, seen):
            router, metrics = make_router(VariantRoute("A", 1.0, (target("r1", port),)))
            result = await router.invoke(
                Invocation(
                    "ep",
                    b"1,2",
                    b"text/csv",
                    b"text/csv",
                    custom_attributes=b"trace=1",
                    inference_id=b"id-9",
                )
            )
            assert (result.status, result.body, result.variant) == (200, b"1,2", "A")
            assert result.content_type == b"text/csv"
            assert result.custom_attributes == b"seen"
            assert seen[0]["content-type"] == "text/csv"
            assert seen[0]["x-amzn-sagemaker-custom-attributes"] == "trace=1"
            assert seen[0]["x-amzn-sagemaker-inference-id"] == "id-9"
            # the connection is kept alive and reused
            await router.invoke(Invocation("ep", b"x"))
            assert router.pool.idle_count(target("r1", port)) == 1
            router.close()
            (point,) = metrics.points("ep", metric="Invocations")
            assert point["Value"] == 2

    run(scenario())


def test_unknown_endpoint_variant_too_large_and_no_replica() -> None:
    async def scenario() -> None:
        router, _ = make_router(VariantRoute("A", 1.0, ()), max_payload_bytes=10)
        assert (await router.invoke(Invocation("nope", b""))).status == 404
        assert (await router.invoke(Invocation("ep", b"x" * 11))).status == 413
        missing = await router.invoke(Invocation("ep", b"x", target_variant="Z"))
        assert missing.status == 404
        assert b"has no production variant 'Z'" in missing.body
        assert (await router.invoke(Invocation("ep", b"x"))).status == 503
        injected = await router.invoke(Invocation("ep", b"x", content_type=b"a\r\nX: y"))
        assert injected.status == 400

    run(scenario())


def test_the_models_5xx_becomes_424_and_its_4xx_passes_through() -> None:
    async def model(body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        if body == b"bad":
            error = {"error": {"code": "UnsupportedContentType", "message": "no"}}
            return 415, json.dumps(error).encode(), {"Content-Type": "application/json"}
        error = {"error": {"code": "ModelError", "message": "predict_fn: boom"}}
        return 500, json.dumps(error).encode(), {"Content-Type": "application/json"}

    async def scenario() -> None:
        async with replica(model) as (port, _):
            router, metrics = make_router(VariantRoute("A", 1.0, (target("r1", port),)))
            refused = await router.invoke(Invocation("ep", b"bad"))
            assert refused.status == 415
            failed = await router.invoke(Invocation("ep", b"x"))
            assert failed.status == 424
            error = json.loads(failed.body)["error"]
            assert error["code"] == "ModelError"
            assert (error["OriginalStatusCode"], error["OriginalMessage"]) == (
                500,
                "predict_fn: boom",
            )
            router.close()
            counts = {p["MetricName"]: p["Value"] for p in metrics.points("ep")}
            assert counts["Invocation4XXErrors"] == 1
            assert counts["Invocation5XXErrors"] == 1
            assert counts["InvocationModelErrors"] == 2

    run(scenario())


def test_a_request_to_a_dying_replica_is_retried_once_on_another() -> None:
    async def dying(body: bytes, headers: dict[str, str]) -> None:
        return None  # the connection drops mid-request

    async def scenario() -> None:
        async with replica(dying) as (bad, _), replica(echo) as (good, seen):
            reported: list[str] = []
            router, _ = make_router(
                VariantRoute("A", 1.0, (target("bad", bad), target("good", good))),
                on_replica_failure=reported.append,
            )
            results = [await router.invoke(Invocation("ep", b"x")) for _ in range(20)]
            assert {r.status for r in results} == {200}
            assert reported == ["bad"]  # then ejected: not chosen again for a while
            assert len(seen) == 20
            router.close()

    run(scenario())


def test_a_refused_connection_to_the_only_replica_is_503() -> None:
    async def scenario() -> None:
        async with replica(echo) as (port, _):
            pass  # closed: nothing listens there any more
        router, _ = make_router(VariantRoute("A", 1.0, (target("gone", port),)))
        result = await router.invoke(Invocation("ep", b"x"))
        assert result.status == 503
        assert b"failed to answer" in result.body

    run(scenario())


def test_a_replica_that_does_not_answer_in_time_is_a_424_timeout() -> None:
    async def slow(body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        await asyncio.sleep(5)
        return 200, b"late", {}

    async def scenario() -> None:
        async with replica(slow) as (port, _):
            router, _ = make_router(VariantRoute("A", 1.0, (target("r1", port),)), timeout_s=0.2)
            result = await router.invoke(Invocation("ep", b"x"))
            assert result.status == 424
            error = json.loads(result.body)["error"]
            assert error["OriginalStatusCode"] == 504
            assert "0.2 s" in error["OriginalMessage"]
            router.close()

    run(scenario())


def test_a_shadow_copy_is_sent_after_the_answer_and_compared() -> None:
    async def other(body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        return 200, b"different", {"Content-Type": "application/json"}

    async def scenario() -> None:
        async with replica(echo) as (prod, _), replica(other) as (shadow_port, shadow_seen):
            shadow = ShadowRoute(VariantRoute("S", 1.0, (target("s1", shadow_port),)), 1.0)
            router, _ = make_router(VariantRoute("P", 1.0, (target("p1", prod),)), shadow=shadow)
            invocation = Invocation("ep", b"[1]")
            result = await router.invoke(invocation)
            assert shadow_seen == []  # nothing before the answer is out
            router.after_response(invocation, result, 1.0)
            for _ in range(100):
                await asyncio.sleep(0.01)
                report = router.shadows.report("ep")
                if report and report["SampledRequests"]:
                    break
            assert report is not None
            assert (report["Compared"], report["Agreements"]) == (1, 0)
            router.close()

    run(scenario())
