"""Data capture: sampled request/response pairs in SageMaker's capture JSON Lines.

The router hands each sampled invocation to :meth:`CaptureWriter.submit`, which only
appends to a bounded deque (when it is full the event is dropped and counted: a
request never waits for capture). A writer thread turns events into lines,

    {"captureData": {"endpointInput": {"observedContentType": "text/csv",
                                       "mode": "INPUT", "data": "1,2", "encoding": "CSV"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "<uuid>", "inferenceTime": "2026-11-24T10:00:00Z"},
     "eventVersion": "0"}

buffers them per destination, endpoint, variant and hour, and writes a buffer as one
object ``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/<mm-ss-mmm>-<uuid>.jsonl``
once it holds ``flush_bytes`` or its oldest line is ``flush_interval_s`` old, and
everything on :meth:`CaptureWriter.close`. Bodies whose content type is in the
config's CSV / JSON lists are written as text (``CSV`` / ``JSON``), others base64.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from modelyard.hosting.routing import CaptureSettings
from modelyard.store.base import Store
from modelyard.store.uri import parse_s3_uri

log = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 100_000


@dataclass(frozen=True, slots=True)
class CaptureEvent:
    """One sampled invocation, as the router saw it."""

    settings: CaptureSettings
    endpoint: str
    variant: str
    request_body: bytes
    request_content_type: str
    response_body: bytes
    response_content_type: str
    inference_time_s: float
    inference_id: str | None = None
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _encoded(body: bytes, content_type: str, settings: CaptureSettings) -> tuple[str, str]:
    media = _media_type(content_type)
    if media in settings.csv_content_types or media in settings.json_content_types:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return text, "CSV" if media in settings.csv_content_types else "JSON"
    return base64.b64encode(body).decode("ascii"), "BASE64"


def capture_line(event: CaptureEvent) -> str:
    """The JSON line SageMaker's data capture writes for ``event``."""
    settings = event.settings
    data: dict[str, object] = {}
    if settings.capture_input:
        text, encoding = _encoded(event.request_body, event.request_content_type, settings)
        data["endpointInput"] = {
            "observedContentType": event.request_content_type,
            "mode": "INPUT",
            "data": text,
            "encoding": encoding,
        }
    if settings.capture_output:
        text, encoding = _encoded(event.response_body, event.response_content_type, settings)
        data["endpointOutput"] = {
            "observedContentType": event.response_content_type,
            "mode": "OUTPUT",
            "data": text,
            "encoding": encoding,
        }
    at = datetime.fromtimestamp(event.inference_time_s, UTC)
    metadata: dict[str, str] = {
        "eventId": event.event_id,
        "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if event.inference_id:
        metadata["inferenceId"] = event.inference_id
    line = {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}
    return json.dumps(line, separators=(",", ":"))


def object_key_prefix(event: CaptureEvent) -> tuple[str, str]:
    """``(bucket, "<prefix>/<endpoint>/<variant>/yyyy/mm/dd/hh")`` for the event's hour."""
    destination = parse_s3_uri(event.settings.destination, field="DestinationS3Uri")
    at = datetime.fromtimestamp(event.inference_time_s, UTC)
    parts = [destination.key.strip("/"), event.endpoint, event.variant, at.strftime("%Y/%m/%d/%H")]
    return destination.bucket, "/".join(p for p in parts if p)


@dataclass
class _Buffer:
    bucket: str
    prefix: str
    lines: list[str] = field(default_factory=list)
    size: int = 0
    first_at: float = 0.0


class CaptureWriter:
    """Buffers captured lines and writes them to the store from its own thread."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = 5.0,
        flush_bytes: int = 1_000_000,
        max_queued: int = DEFAULT_MAX_QUEUED,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.flush_bytes = flush_bytes
        self.max_queued = max_queued
        self.clock = clock
        self.wall_clock = wall_clock
        self.dropped = 0
        self.written_objects = 0
        self.failed_writes = 0
        self._queue: deque[CaptureEvent] = deque()
        self._buffers: dict[tuple[str, str], _Buffer] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- the hot path -------------------------------------------------------------

    def submit(self, event: CaptureEvent) -> None:
        """Queue an event; never blocks (a full queue drops it and counts the drop)."""
        if len(self._queue) >= self.max_queued:
            self.dropped += 1
            return
        self._queue.append(event)

    # -- the writer -----------------------------------------------------------------

    def start(self) -> CaptureWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="data-capture", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        tick_s = min(0.2, self.flush_interval_s / 2)
        while not self._stop.is_set():
            self._wake.wait(tick_s)
            self._wake.clear()
            try:
                self.drain()
            except Exception:
                log.exception("data capture: writing failed")

    def drain(self, *, everything: bool = False) -> None:
        """Move queued events into buffers and write the buffers that are due."""
        with self._flush_lock:
            while self._queue:
                event = self._queue.popleft()
                try:
                    self._add(event)
                except Exception:
                    log.exception("data capture: event of %s dropped", event.endpoint)
                    self.dropped += 1
            now = self.clock()
            for key in list(self._buffers):
                buffer = self._buffers[key]
                if (
                    everything
                    or buffer.size >= self.flush_bytes
                    or now - buffer.first_at >= self.flush_interval_s
                ):
                    del self._buffers[key]
                    self._write(buffer)

    def _add(self, event: CaptureEvent) -> None:
        line = capture_line(event) + "\n"
        bucket, prefix = object_key_prefix(event)
        buffer = self._buffers.get((bucket, prefix))
        if buffer is None:
            buffer = self._buffers[(bucket, prefix)] = _Buffer(
                bucket, prefix, first_at=self.clock()
            )
        buffer.lines.append(line)
        buffer.size += len(line)
        if buffer.size >= self.flush_bytes:
            del self._buffers[(bucket, prefix)]
            self._write(buffer)

    def _write(self, buffer: _Buffer) -> None:
        at = datetime.fromtimestamp(self.wall_clock(), UTC)
        name = f"{at:%M-%S}-{at.microsecond // 1000:03d}-{uuid.uuid4()}.jsonl"
        body = "".join(buffer.lines).encode("utf-8")
        try:
            self.store.put_object(
                buffer.bucket,
                f"{buffer.prefix}/{name}",
                body,
                content_type="application/jsonlines",
            )
            self.written_objects += 1
        except Exception:
            self.failed_writes += 1
            log.exception(
                "data capture: %d lines to s3://%s/%s lost",
                len(buffer.lines),
                buffer.bucket,
                buffer.prefix,
            )

    def close(self) -> None:
        """Stop the thread and write everything still queued or buffered."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.drain(everything=True)
