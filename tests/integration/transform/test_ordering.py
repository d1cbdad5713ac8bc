"""One instance's objects through a replica that answers out of order: the output keeps
the input's order, no more than MaxConcurrentTransforms requests are ever in flight, and
a failure leaves no partial output."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelyard.config import Settings
from modelyard.errors import NotFoundError
from modelyard.hosting.routing import ReplicaTarget
from modelyard.jobs.job import JobFailedError
from modelyard.jobs.transform_inputs import InputObject
from modelyard.jobs.transform_invoker import ReplicaClient
from modelyard.jobs.transform_objects import InstanceWorker, JobContext
from modelyard.jobs.transform_progress import Progress
from modelyard.jobs.transform_records import RecordPlan
from modelyard.store import get_store
from modelyard.store.base import Store
from modelyard.store.uri import S3Uri
from tests.fixtures.asgi_server import serve


class Replica:
    """Upper-cases each line after a random pause; refuses a body holding ``poison``."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    async def invocations(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(random.uniform(0.0, 0.02))
            if b"poison" in body:
                return JSONResponse({"error": {"message": "poison is not food"}}, status_code=400)
            return Response(body.upper(), media_type="text/plain")
        finally:
            with self.lock:
                self.in_flight -= 1

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/invocations", self.invocations, methods=["POST"])])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    found = get_store(Settings(home=tmp_path))
    found.create_bucket("data")
    return found


def run(store: Store, url: str, objects: dict[str, bytes], concurrency: int) -> InstanceWorker:
    for name, body in objects.items():
        store.put_object("data", f"in/{name}", body)
    items = [InputObject("data", f"in/{name}", len(body), name) for name, body in objects.items()]
    plan = RecordPlan(split_type="Line", batch_strategy="SingleRecord", assemble_with="Line")
    context = JobContext(
        store=store,
        spec={"TransformInput": {}},
        plan=plan,
        output=S3Uri("data", "out/"),
        metadata={},
        progress=Progress(len(items), sum(i.size for i in items)),
        abort=threading.Event(),
    )
    host, port = url.removeprefix("http://").split(":")
    client = ReplicaClient(ReplicaTarget("r", host, int(port)), timeout_s=10, retries=0)
    worker = InstanceWorker(context, client, concurrency)
    try:
        worker.run(items)
    finally:
        client.close()
    return worker


def test_answers_arriving_out_of_order_are_written_in_input_order(store: Store) -> None:
    replica = Replica()
    objects = {f"part-{i}.txt": b"".join(b"r%d-%d\n" % (i, n) for n in range(60)) for i in range(4)}
    with serve(replica.app()) as url:
        worker = run(store, url, objects, concurrency=4)

    assert worker.error is None
    for name, body in objects.items():
        assert store.get_object("data", f"out/{name}.out") == body.upper()
    assert 1 < replica.most_in_flight <= 4


def test_a_refused_record_fails_and_leaves_its_object_unwritten(store: Store) -> None:
    replica = Replica()
    lines: list[Any] = [b"line-%d\n" % n for n in range(40)]
    lines[25] = b"poison\n"
    with serve(replica.app()) as url:
        worker = run(store, url, {"bad.txt": b"".join(lines)}, concurrency=3)

    assert isinstance(worker.error, JobFailedError)
    assert worker.error.reason == "ClientError: bad.txt record 25: poison is not food"
    with pytest.raises(NotFoundError):
        store.head_object("data", "out/bad.txt.out")
