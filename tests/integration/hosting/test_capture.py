"""Data capture on a real endpoint: sampled pairs land in the store in SageMaker's layout."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np

from modelyard.formats import write_npy

from .conftest import Hosting, csv_rows, variant

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3]]


def _captured(hosting: Hosting) -> dict[str, list[dict[str, Any]]]:
    listing = hosting.http.get("/buckets/capture/objects", params={"prefix": "monitor/"}).json()
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in listing.get("Contents", []):
        body = hosting.http.get(f"/buckets/capture/objects/{entry['Key']}").content
        found[entry["Key"]] = [json.loads(line) for line in body.decode().splitlines()]
    return found


def test_sampled_requests_and_responses_are_captured(hosting: Hosting) -> None:
    assert hosting.http.put("/buckets/capture").status_code < 300
    hosting.create_model(
        "iris-model", hosting.artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1"
    )
    hosting.create_config(
        "captured",
        [variant("AllTraffic", "iris-model")],
        DataCaptureConfig={
            "EnableCapture": True,
            "InitialSamplingPercentage": 100,
            "DestinationS3Uri": "s3://capture/monitor",
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        },
    )
    described = hosting.create_endpoint("iris", "captured")
    assert described["DataCaptureConfig"] == {
        "EnableCapture": True,
        "CaptureStatus": "Started",
        "CurrentSamplingPercentage": 100,
        "DestinationS3Uri": "s3://capture/monitor",
    }
    for _ in range(3):
        assert hosting.invoke("iris", csv_rows(ROWS), accept="application/json").status_code == 200
    npy = write_npy(np.array(ROWS))
    assert hosting.invoke("iris", npy, "application/x-npy", accept="text/csv").status_code == 200
    assert hosting.invoke("iris", b"1,2\n").status_code == 424  # failures are not captured

    captured = hosting.wait_until(
        lambda: (found := _captured(hosting)) and sum(map(len, found.values())) >= 4 and found,
        timeout_s=30,
        message="no capture files",
    )
    lines = [line for lines in captured.values() for line in lines]
    assert len(lines) == 4
    for key in captured:
        assert re.fullmatch(
            r"monitor/iris/AllTraffic/\d{4}/\d{2}/\d{2}/\d{2}/\d{2}-\d{2}-\d{3}-[0-9a-f-]{36}\.jsonl",
            key,
        ), key
    csv_line = next(x for x in lines if x["captureData"]["endpointInput"]["encoding"] == "CSV")
    assert csv_line["captureData"]["endpointInput"]["data"] == csv_rows(ROWS).decode()
    assert csv_line["captureData"]["endpointOutput"] == {
        "observedContentType": "application/json",
        "mode": "OUTPUT",
        "data": "[0,2]",
        "encoding": "JSON",
    }
    assert csv_line["eventVersion"] == "0"
    npy_line = next(x for x in lines if x["captureData"]["endpointInput"]["encoding"] == "BASE64")
    assert base64.b64decode(npy_line["captureData"]["endpointInput"]["data"]) == npy
    assert npy_line["captureData"]["endpointOutput"]["encoding"] == "CSV"
    assert len({line["eventMetadata"]["eventId"] for line in lines}) == 4
