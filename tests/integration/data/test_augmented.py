"""AugmentedManifestFile: the named attributes of each JSON line, streamed through Pipe mode."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from modelyard.data import StagedChannel, stage_channel, validate_channel
from modelyard.data.selection import shuffled
from modelyard.errors import ValidationError
from modelyard.store import Store
from modelyard.store.local import LocalStore
from tests.integration.data.helpers import reader_result, s3_channel, start_reader

IMAGES = {f"img/{i}.jpg": bytes([i]) * (1000 + i) for i in range(4)}
LINES = [
    {"source-ref": f"s3://bucket/img/{i}.jpg", "class": i % 2, "note": f"n{i}", "x": {"a": i}}
    for i in range(4)
]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put_manifest(store: Store, lines: list[Any], key: str = "train.manifest") -> None:
    for image, body in IMAGES.items():
        store.put_object("bucket", image, body)
    text = "\n".join(json.dumps(line) for line in lines) + "\n\n"
    store.put_object("bucket", key, text.encode())


def augmented(names: list[str], **fields: Any) -> dict[str, Any]:
    return s3_channel(
        "s3://bucket/train.manifest",
        data_type="AugmentedManifestFile",
        AttributeNames=names,
        **fields,
    )


def stage(store: Store, dest: Path, channel: dict[str, Any], **hosts: int) -> StagedChannel:
    return stage_channel(
        store,
        channel,
        dest,
        host_index=hosts.get("host_index", 0),
        host_count=hosts.get("host_count", 1),
        input_mode="Pipe",
    )


def expected_records(lines: list[dict[str, Any]]) -> list[list[Any]]:
    records: list[list[Any]] = []
    for line in lines:
        image = IMAGES[line["source-ref"].removeprefix("s3://bucket/")]
        label = str(line["class"]).encode()
        records += [[len(image), sha(image)], [len(label), sha(label)]]
    return records


def test_attributes_become_records_line_by_line(store: Store, dest: Path) -> None:
    put_manifest(store, LINES)
    channel = augmented(["source-ref", "class"], RecordWrapperType="RecordIO", seed=5)
    with stage(store, dest, channel) as staged:
        assert staged.object_count == 4
        result = reader_result(start_reader(dest / "train_{epoch}", "--epochs", "2", "--recordio"))
    for epoch, got in enumerate(result["epochs"]):
        assert got["records"] == expected_records(shuffled(LINES, 5, epoch))


def test_without_recordio_the_values_follow_one_another(
    local_store: LocalStore, dest: Path
) -> None:
    put_manifest(local_store, LINES[:2])
    with stage(local_store, dest, augmented(["note", "x", "source-ref"])):
        result = reader_result(start_reader(dest / "train_{epoch}"))
    expected = b'n0{"a":0}' + IMAGES["img/0.jpg"] + b'n1{"a":1}' + IMAGES["img/1.jpg"]
    assert result["epochs"][0]["sha256"] == sha(expected)


def test_lines_are_sharded_round_robin(local_store: LocalStore, tmp_path: Path) -> None:
    put_manifest(local_store, LINES)
    channel = augmented(
        ["class"], RecordWrapperType="RecordIO", S3DataDistributionType="ShardedByS3Key"
    )
    for host in range(2):
        dest = tmp_path / f"host-{host}"
        with stage(local_store, dest, channel, host_index=host, host_count=2):
            result = reader_result(start_reader(dest / "train_{epoch}", "--recordio"))
        labels = [str(line["class"]).encode() for line in LINES[host::2]]
        assert result["epochs"][0]["records"] == [[len(x), sha(x)] for x in labels]


@pytest.mark.parametrize(
    ("lines", "names", "field", "words"),
    [
        ([{"class": 1}], ["source-ref"], "AttributeNames", "no attribute 'source-ref'"),
        ([{"source-ref": 3}], ["source-ref"], "AttributeNames", "s3:// URI"),
        ([{"source-ref": "http://x/y"}], ["source-ref"], "AttributeNames", "not an S3 URI"),
        ([], ["class"], "S3Uri", "has no line"),
        (["just a string"], ["class"], "S3Uri", "not a JSON object"),
    ],
)
def test_bad_manifests_are_refused_before_anything_runs(
    local_store: LocalStore, lines: list[Any], names: list[str], field: str, words: str
) -> None:
    put_manifest(local_store, lines)
    with pytest.raises(ValidationError) as caught:
        validate_channel(local_store, augmented(names), 0, input_mode="Pipe")
    assert caught.value.field == f"InputDataConfig.0.DataSource.S3DataSource.{field}"
    assert words in caught.value.message


def test_a_missing_referenced_object_fails_feeding(local_store: LocalStore, dest: Path) -> None:
    put_manifest(local_store, [*LINES[:1], {"source-ref": "s3://bucket/img/gone.jpg"}])
    with stage(local_store, dest, augmented(["source-ref"])) as staged:
        result = reader_result(start_reader(dest / "train_{epoch}"))
        assert result["epochs"][0]["sha256"] == sha(IMAGES["img/0.jpg"])
        deadline = time.monotonic() + 5
        while staged.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(staged.error, ValidationError)
        assert "s3://bucket/img/gone.jpg" in str(staged.error)
