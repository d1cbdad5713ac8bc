"""Data capture: SageMaker's JSON Lines, the object layout, flushing by size, time and close."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from modelyard.config import Settings
from modelyard.hosting.capture import CaptureEvent, CaptureWriter, capture_line
from modelyard.hosting.routing import CaptureSettings
from modelyard.store import get_store

SETTINGS = CaptureSettings(destination="s3://capture/data", sampling_fraction=1.0)
AT = datetime(2026, 11, 24, 10, 5, 6, tzinfo=UTC).timestamp()


def event(**changes: object) -> CaptureEvent:
    fields: dict[str, object] = {
        "settings": SETTINGS,
        "endpoint": "iris",
        "variant": "AllTraffic",
        "request_body": b"5.1,3.5,1.4,0.2",
        "request_content_type": "text/csv",
        "response_body": b"[0]",
        "response_content_type": "application/json",
        "inference_time_s": AT,
        "event_id": "e-1",
    }
    fields.update(changes)
    return CaptureEvent(**fields)  # type: ignore[arg-type]


def test_a_line_is_sagemakers_capture_record() -> None:
    line = json.loads(capture_line(event(inference_id="req-7")))
    assert line == {
        "captureData": {
            "endpointInput": {
                "observedContentType": "text/csv",
                "mode": "INPUT",
                "data": "5.1,3.5,1.4,0.2",
                "encoding": "CSV",
            },
            "endpointOutput": {
                "observedContentType": "application/json",
                "mode": "OUTPUT",
                "data": "[0]",
                "encoding": "JSON",
            },
        },
        "eventMetadata": {
            "eventId": "e-1",
            "inferenceTime": "2026-11-24T10:05:06Z",
            "inferenceId": "req-7",
        },
        "eventVersion": "0",
    }


def test_other_content_types_are_base64_and_capture_options_are_honoured() -> None:
    npy = b"\x93NUMPY\x01\x00"
    only_input = CaptureSettings(
        destination="s3://capture/data", sampling_fraction=1.0, capture_output=False
    )
    line = json.loads(
        capture_line(
            event(settings=only_input, request_body=npy, request_content_type="application/x-npy")
        )
    )
    assert set(line["captureData"]) == {"endpointInput"}
    captured = line["captureData"]["endpointInput"]
    assert captured["encoding"] == "BASE64"
    assert base64.b64decode(captured["data"]) == npy
    # A content type with parameters is matched on its media type.
    line = json.loads(capture_line(event(response_content_type="application/json; charset=utf-8")))
    assert line["captureData"]["endpointOutput"]["encoding"] == "JSON"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _objects(settings: Settings) -> dict[str, bytes]:
    store = get_store(settings)
    return {
        info.key: store.get_object("capture", info.key) for info in store.iter_objects("capture")
    }


def test_lines_are_flushed_by_time_into_the_hour_folder(settings: Settings) -> None:
    store = get_store(settings)
    store.create_bucket("capture")
    clock = Clock()
    writer = CaptureWriter(
        store, flush_interval_s=5.0, flush_bytes=10**9, clock=clock, wall_clock=lambda: AT
    )
    for number in range(3):
        writer.submit(event(event_id=f"e-{number}"))
    writer.drain()
    assert _objects(settings) == {}  # not due yet
    clock.now = 5.0
    writer.drain()
    (key, body), *rest = _objects(settings).items()
    assert rest == []
    assert key.startswith("data/iris/AllTraffic/2026/11/24/10/05-06-000-")
    assert key.endswith(".jsonl")
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["eventMetadata"]["eventId"] for line in lines] == ["e-0", "e-1", "e-2"]


def test_a_full_buffer_is_flushed_at_once_and_close_writes_the_rest(settings: Settings) -> None:
    store = get_store(settings)
    store.create_bucket("capture")
    size = len(capture_line(event())) + 1
    writer = CaptureWriter(store, flush_interval_s=3600, flush_bytes=2 * size, clock=Clock())
    for number in range(5):
        writer.submit(event(event_id=f"e-{number}"))
    writer.drain()
    assert len(_objects(settings)) == 2  # two full buffers of two lines
    writer.submit(event(variant="Shadow"))
    writer.close()
    objects = _objects(settings)
    assert len(objects) == 4
    assert sum(body.count(b"\n") for body in objects.values()) == 6
    assert any(key.startswith("data/iris/Shadow/") for key in objects)


def test_submit_never_blocks_a_full_queue_drops_and_counts(settings: Settings) -> None:
    writer = CaptureWriter(get_store(settings), max_queued=2)
    for _ in range(5):
        writer.submit(event())
    assert writer.dropped == 3
