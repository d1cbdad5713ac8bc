"""TFRecord and RecordIO inputs through a real job: records cut at their frames, batched,
answered per record and assembled one line each, in input order."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest

from modelyard.formats import frame_tfrecords, write_recordio
from tests.integration.hosting.conftest import tar_bytes

from .conftest import IMAGE, Transform

# Answers each record of a framed batch with its length, one line each.
LENGTHS = """
from modelyard.formats import unframe_tfrecords, unframe


def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    records = unframe_tfrecords(input_data) if "tfrecord" in content_type else unframe(input_data)
    return "".join(f"{len(record)}\\n" for record in records), "text/csv"
"""


def recordio(payloads: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    for payload in payloads:
        write_recordio(buffer, payload)
    return buffer.getvalue()


@pytest.fixture
def lengths_model(transform: Transform, tmp_path: Path) -> str:
    archive = tmp_path / "lengths.tar.gz"
    archive.write_bytes(tar_bytes({"code/inference.py": LENGTHS.encode()}))
    uri = transform.put("s3://models/lengths/model.tar.gz", archive.read_bytes())
    body = {"ModelName": "lengths", "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": uri}}
    assert transform.http.post("/models", json=body).status_code == 201
    return "lengths"


@pytest.mark.parametrize(
    ("split_type", "content_type", "frame"),
    [
        ("TFRecord", "application/x-tfrecord", frame_tfrecords),
        ("RecordIO", "application/x-recordio", recordio),
    ],
)
def test_framed_records_are_answered_one_line_each(
    transform: Transform,
    lengths_model: str,
    split_type: str,
    content_type: str,
    frame: Callable[[list[bytes]], bytes],
) -> None:
    payloads = [b"x" * ((i * 7919) % 20_000 + 1) for i in range(300)]  # 3 MB: 3+ batches
    body = frame(payloads)
    transform.put(f"s3://data/{split_type}/records.bin", body)

    described = transform.run(
        f"framed-{split_type.lower()}",
        lengths_model,
        f"s3://data/{split_type}/",
        ContentType=content_type,
        SplitType=split_type,
        Accept="text/csv",
        AssembleWith="Line",
        MaxPayloadInMB=1,
    )

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    name = f"s3://out/framed-{split_type.lower()}/records.bin.out"
    assert transform.get(name).split() == [str(len(p)).encode() for p in payloads]
    assert described["TransformProgress"]["RecordsDone"] == 300
