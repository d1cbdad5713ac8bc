"""Transforming objects on one instance: batches to the replica, answers to ``<name>.out``.

Each instance sends at most ``MaxConcurrentTransforms`` requests at once (from as many
threads) and holds at most twice as many batches (sent, or answered and waiting for an
earlier one): a request slot frees as soon as its answer arrives, so a slow batch does
not idle the replica's other workers, while answers are written back strictly in input
order. Up to ``MaxConcurrentTransforms`` objects are read at once (one thread each).
Memory is bounded by that window of batches and answers per instance, whatever the
input size.

An object's output is streamed into :meth:`Store.put_object` as it is assembled, and
the store makes it appear whole or not at all: a job stopped or failed mid-object
leaves no partial ``.out``. A thread holding answers it could write never blocks on a
slot (it writes its oldest answer first), so objects cannot starve each other.
"""

from __future__ import annotations

import io
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from modelyard.jobs.job import JobFailedError
from modelyard.jobs.transform_inputs import InputObject, open_input
from modelyard.jobs.transform_invoker import Answer, InvocationError, ReplicaClient
from modelyard.jobs.transform_progress import Progress
from modelyard.jobs.transform_records import (
    Batch,
    OutputAssembler,
    RecordPlan,
    TransformRecordError,
    batches,
)
from modelyard.store.base import Store
from modelyard.store.uri import S3Uri

_WAIT_S = 0.2
#: Batches an instance holds per request slot: one in flight, one answered early (or
#: read ahead) while an earlier batch of the same object is still being answered.
WINDOW_PER_REQUEST = 2
#: A refused batch of at most this many records is retried record by record to name
#: the record at fault.
MAX_RECORDS_RETRIED = 10_000


class AbortedError(Exception):
    """The job is stopping (a stop, or a failure elsewhere): leave this object unwritten."""


class IteratorReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (what ``put_object`` reads).

    ``read`` hands out each chunk as it is (cut only when asked for fewer bytes): the
    store's own reads would otherwise copy every answer into a fresh buffer first.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def _next(self) -> int:
        """Bytes left of the current chunk, moving on to the next non-empty one; 0 at the end."""
        while self._offset >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk, self._offset = chunk, 0
        return len(self._chunk) - self._offset

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(sys.maxsize), b""))
        left = self._next() if size else 0
        if not left:
            return b""
        if self._offset == 0 and size >= left:
            self._offset = left
            return self._chunk
        part = self._chunk[self._offset : self._offset + min(size, left)]
        self._offset += len(part)
        return part

    def readinto(self, buffer: Any) -> int:
        left = self._next()
        size = min(len(buffer), left)
        buffer[:size] = memoryview(self._chunk)[self._offset : self._offset + size]
        self._offset += size
        return size


@dataclass(frozen=True)
class JobContext:
    """What every object of a job is transformed with."""

    store: Store
    spec: dict[str, Any]
    plan: RecordPlan
    output: S3Uri
    metadata: dict[str, str]
    progress: Progress
    abort: threading.Event


def output_key(output: S3Uri, item: InputObject) -> str:
    return output.child(f"{item.name}.out").key


class InstanceWorker:
    """Transforms one instance's share of the objects through its replica."""

    def __init__(self, context: JobContext, client: ReplicaClient, concurrency: int) -> None:
        self.context = context
        self.client = client
        self.concurrency = max(1, concurrency)
        self._requests = threading.Semaphore(self.concurrency)
        self._window = threading.Semaphore(WINDOW_PER_REQUEST * self.concurrency)
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="transform-call")
        self.error: BaseException | None = None

    def run(self, objects: list[InputObject]) -> None:
        """Transform ``objects``; the first error stops the others and is kept in ``error``."""
        queue = deque(objects)
        lock = threading.Lock()

        def lane() -> None:
            while not self.context.abort.is_set():
                with lock:
                    if not queue:
                        return
                    item = queue.popleft()
                try:
                    self.transform(item)
                except AbortedError:
                    return
                except BaseException as exc:
                    with lock:
                        if self.error is None:
                            self.error = exc
                    self.context.abort.set()
                    return

        lanes = [
            threading.Thread(target=lane, name="transform-object", daemon=True)
            for _ in range(min(self.concurrency, len(objects)))
        ]
        try:
            for thread in lanes:
                thread.start()
            for thread in lanes:
                thread.join()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def transform(self, item: InputObject) -> None:
        context = self.context
        stream = open_input(context.store, item, context.spec, context.progress.add_bytes)
        try:
            context.store.put_object(
                context.output.bucket,
                output_key(context.output, item),
                IteratorReader(self._answers(item, stream)),  # type: ignore[arg-type]
                content_type=context.plan.accept,
                metadata=context.metadata,
            )
        except (EOFError, OSError) as exc:  # a corrupt gzip stream, mostly
            raise JobFailedError(
                f"ClientError: {item.name}: the input cannot be read: {exc}"
            ) from exc
        finally:
            stream.close()
        context.progress.object_done()

    def _answers(self, item: InputObject, stream: Any) -> Iterator[bytes]:
        plan = self.context.plan
        assembler = OutputAssembler(plan, object_name=item.name)
        pending: deque[tuple[Batch, Future[Answer]]] = deque()
        try:
            try:
                for batch in batches(stream, plan, object_name=item.name):
                    while not self._hold(blocking=not pending):
                        yield self._settle(item, pending.popleft(), assembler)
                    self._wait_for_request_slot()
                    future = self._pool.submit(
                        self.client.invoke, batch.payload, plan.content_type, plan.accept
                    )
                    future.add_done_callback(lambda _: self._requests.release())
                    pending.append((batch, future))
                    while pending and pending[0][1].done():
                        yield self._settle(item, pending.popleft(), assembler)
                while pending:
                    yield self._settle(item, pending.popleft(), assembler)
                yield assembler.finish()
            except TransformRecordError as exc:
                raise JobFailedError(f"ClientError: {exc.message}") from exc
        finally:
            for _, future in pending:
                future.cancel()
                self._window.release()

    def _hold(self, *, blocking: bool) -> bool:
        """A place in the window of batches held (sent, or answered and not yet written)."""
        if not blocking:
            return self._window.acquire(blocking=False)
        while not self._window.acquire(timeout=_WAIT_S):
            if self.context.abort.is_set():
                raise AbortedError
        return True

    def _wait_for_request_slot(self) -> None:
        """At most ``MaxConcurrentTransforms`` requests in flight; a slot frees as soon as
        its answer arrives, even if an earlier batch's answer is still awaited."""
        while not self._requests.acquire(timeout=_WAIT_S):
            if self.context.abort.is_set():
                raise AbortedError

    def _settle(
        self, item: InputObject, entry: tuple[Batch, Future[Answer]], assembler: OutputAssembler
    ) -> bytes:
        batch, future = entry
        try:
            while True:
                if self.context.abort.is_set():
                    raise AbortedError
                try:
                    answer = future.result(timeout=_WAIT_S)
                    break
                except TimeoutError:
                    continue
                except InvocationError as exc:
                    raise JobFailedError(f"ClientError: {self._culprit(item, batch, exc)}") from exc
        finally:
            self._window.release()
        assembled = assembler.assemble(batch, answer.body, answer.content_type)
        self.context.progress.add_records(batch.count)
        return assembled

    def _culprit(self, item: InputObject, batch: Batch, error: InvocationError) -> str:
        """``<object> record <n>: <message>``. The model refused a batch of several records:
        they are sent again one by one (in this thread, the job is failing anyway) to name
        the first one it refuses; the whole range is named if none is refused alone."""
        if not error.answered or batch.count <= 1 or batch.count > MAX_RECORDS_RETRIED:
            return f"{_records(item, batch)}: {error.message}"
        plan = self.context.plan
        single = replace(
            plan,
            batch_strategy="SingleRecord",
            input_filter="$",
            output_filter="$",
            join_source="None",
        )
        records = batches(io.BytesIO(batch.payload), single, object_name=item.name)
        for offset, record in enumerate(records):
            if self.context.abort.is_set():
                break
            try:
                self.client.invoke(record.payload, plan.content_type, plan.accept)
            except InvocationError as alone:
                if alone.answered:
                    return f"{item.name} record {batch.first_record + offset}: {alone.message}"
        return f"{_records(item, batch)}: {error.message}"


def _records(item: InputObject, batch: Batch) -> str:
    """``data.csv record 17`` (0-based, as TransformRecordError names them) or a range."""
    if batch.count <= 1:
        return f"{item.name} record {batch.first_record}"
    return f"{item.name} records {batch.first_record}-{batch.first_record + batch.count - 1}"
