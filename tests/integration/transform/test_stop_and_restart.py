"""A transform job stopped, or caught by a server restart, on a slow real replica."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest

from modelyard.config import get_settings, reset_settings
from modelyard.runtime import get_runtime
from tests.fixtures.asgi_server import serve_modelyard
from tests.integration.hosting.conftest import Artifacts, stop_leftover_replicas

from .conftest import Transform

ROW = b"5.1,3.5,1.4,0.2\n"


def running_replicas() -> list[str]:
    runtime = get_runtime(get_settings())
    return [
        handle.id
        for handle in runtime.list()
        if handle.is_running()
        and getattr(handle, "spec", None) is not None
        and handle.spec.labels.get("modelyard.kind") == "transform-replica"  # type: ignore[attr-defined]
    ]


def wait_for(what: object, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(what) and what():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def done(transform: Transform, name: str, what: str) -> int:
    progress = transform.describe(name).get("TransformProgress") or {}
    return int(progress.get(what, 0))


def test_a_stopped_job_keeps_finished_objects_and_leaves_no_partial_output(
    transform: Transform,
) -> None:
    transform.create_model("slow", transform.artifacts.sleepy)
    transform.put("s3://data/slow/a.csv", ROW * 2)
    transform.put("s3://data/slow/b.csv", ROW * 200)
    created = transform.create(
        "slow-batch",
        "slow",
        "s3://data/slow/",
        ContentType="text/csv",
        SplitType="Line",
        BatchStrategy="SingleRecord",
        MaxConcurrentTransforms=1,
        Environment={"PREDICT_SLEEP_S": "0.2"},  # the job's environment reaches the model
    )
    assert created.status_code == 201, created.text
    wait_for(lambda: done(transform, "slow-batch", "RecordsDone") >= 4)

    assert transform.http.post("/transform-jobs/slow-batch/stop").status_code == 200
    described = transform.wait("slow-batch")

    assert described["TransformJobStatus"] == "Stopped"
    assert transform.exists("s3://out/slow-batch/a.csv.out")
    assert not transform.exists("s3://out/slow-batch/b.csv.out")
    assert running_replicas() == []
    again = transform.http.post("/transform-jobs/slow-batch/stop")
    assert again.status_code == 409


def test_gzip_objects_listed_by_a_manifest_are_decompressed(transform: Transform) -> None:
    transform.create_model("iris", transform.artifacts.logistic)
    transform.put("s3://data/zipped/one.csv.gz", gzip.compress(ROW * 3))
    transform.put("s3://data/zipped/two.csv.gz", gzip.compress(ROW))
    transform.put("s3://data/zipped/ignored.csv.gz", gzip.compress(ROW))
    manifest = [{"prefix": "s3://data/zipped/"}, "two.csv.gz", "one.csv.gz"]
    transform.put("s3://data/manifest.json", json.dumps(manifest).encode())

    described = transform.run(
        "zipped",
        "iris",
        "s3://data/manifest.json",
        S3DataType="ManifestFile",
        CompressionType="Gzip",
        ContentType="text/csv",
        SplitType="Line",
        Accept="text/csv",
        AssembleWith="Line",
    )

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert transform.get("s3://out/zipped/one.csv.gz.out").split() == [b"0", b"0", b"0"]
    assert transform.get("s3://out/zipped/two.csv.gz.out").split() == [b"0"]
    assert not transform.exists("s3://out/zipped/ignored.csv.gz.out")
    assert described["TransformProgress"]["ObjectsTotal"] == 2


def test_a_server_restart_resumes_the_job_keeping_what_was_written(
    artifacts: Artifacts, modelyard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELYARD_ENDPOINT_STOP_GRACE_S", "5")
    reset_settings()
    settings = get_settings()
    try:
        with serve_modelyard(settings) as url, Transform(url, artifacts) as first:
            first.create_model("slow", artifacts.sleepy, PREDICT_SLEEP_S="0.3")
            for index in range(10):
                first.put(f"s3://data/parts/part-{index}.csv", ROW * 2)
            first.put("s3://out/.keep", b"")
            created = first.create(
                "resumed",
                "slow",
                "s3://data/parts/",
                ContentType="text/csv",
                SplitType="Line",
                Accept="text/csv",
                AssembleWith="Line",
                BatchStrategy="SingleRecord",
                MaxConcurrentTransforms=1,
            )
            assert created.status_code == 201, created.text
            wait_for(lambda: done(first, "resumed", "ObjectsDone") >= 2)
        # The first server is gone, its job InProgress and its replicas stopped.
        assert running_replicas() == []

        with serve_modelyard(settings) as url, Transform(url, artifacts) as second:
            described = second.wait("resumed")
            assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
            for index in range(10):
                assert second.get(f"s3://out/resumed/part-{index}.csv.out").split() == [b"0", b"0"]
            logs = second.logs("resumed")
            assert "the server restarted: resuming" in logs
            kept = [line for line in logs.splitlines() if "already written: kept" in line]
            assert kept
            assert not kept[0].split()[1].startswith("0 ")
        assert running_replicas() == []
    finally:
        stop_leftover_replicas(settings)
