"""A server SIGKILLed while jobs run: the next server re-adopts them and they complete."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from modelyard.api.server import read_state, start_background, stop_background
from modelyard.api.services import build_services
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.ids import ResourceKind
from modelyard.sdk import objects
from modelyard.sdk.client import ApiClient

from .conftest import BUCKET, TERMINAL, TOOLKIT_IMAGE, job_body, make_tarball, read_tarball

WAITER = """
import os, time
go = os.environ["GO_FILE"]
print("loss=0.9", flush=True)
print("started", flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
print("loss=0.1", flush=True)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write(os.environ["TRAINING_JOB_NAME"])
"""


@pytest.fixture
def server_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("MODELYARD_SERVER_PORT", "0")
    reset_settings()
    settings = get_settings()
    yield settings
    stop_background(settings)
    services = build_services(settings)
    try:
        for handle in services.runtime.list():
            if handle.is_running():
                handle.stop(grace_s=0)
    finally:
        services.close()


def _client(settings: Settings) -> ApiClient:
    return ApiClient(start_background(settings))


def _describe(client: ApiClient, name: str) -> dict:
    return client.get_json(f"/training-jobs/{name}")


def _wait(client: ApiClient, name: str, predicate, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        described = _describe(client, name)
        if predicate(described):
            return described
        assert described["TrainingJobStatus"] not in TERMINAL, described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)


def test_jobs_survive_a_server_sigkill_and_complete(
    server_settings: Settings, tmp_path: Path
) -> None:
    client = _client(server_settings)
    objects.create_bucket(client, BUCKET)
    objects.put_bytes(client, BUCKET, "data/train/data.csv", b"1,2\n")
    objects.put_bytes(client, BUCKET, "src/sourcedir.tar.gz", make_tarball({"train.py": WAITER}))
    client.post_json("/images", {"Name": "toolkit", "Tag": "test"})
    client.request("POST", f"/images/{TOOLKIT_IMAGE}/build", params={"wait": True})
    metrics = {"MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}]}
    go = {name: tmp_path / f"go-{name}" for name in ("early", "late")}
    for name in go:
        client.post_json(
            "/training-jobs",
            job_body(
                name,
                f"s3://{BUCKET}/src/sourcedir.tar.gz",
                Environment={"GO_FILE": str(go[name])},
                AlgorithmSpecification=metrics,
            ),
        )
    for name in go:
        _wait(client, name, lambda d: d.get("SecondaryStatus") == "Training")
        while "started" not in client.request("GET", f"/training-jobs/{name}/logs").text:
            time.sleep(0.05)
    time.sleep(0.6)  # let the metric follower flush the first point

    state = read_state(server_settings)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    psutil.Process(state.pid).wait(10)
    client.close()
    go["early"].touch()  # finishes while no server runs
    time.sleep(0.5)

    client = _client(server_settings)
    early = _wait(client, "early", lambda d: d["TrainingJobStatus"] in TERMINAL)
    late = _describe(client, "late")
    assert late["TrainingJobStatus"] == "InProgress"
    assert late["SecondaryStatus"] == "Training"
    go["late"].touch()
    late = _wait(client, "late", lambda d: d["TrainingJobStatus"] in TERMINAL)

    for described in (early, late):
        name = described["TrainingJobName"]
        assert described["TrainingJobStatus"] == "Completed", described
        key = described["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
        assert read_tarball(objects.get_bytes(client, BUCKET, key)) == {"model.txt": name.encode()}
        series = client.get_json(f"/training-jobs/{name}/metrics")["Metrics"]
        assert [p["Value"] for p in series] == [0.9, 0.1], name
    client.close()


def test_a_job_caught_before_launch_fails_with_the_step_it_was_in(settings: Settings) -> None:
    services = build_services(settings)
    try:
        body = job_body("caught", f"s3://{BUCKET}/src/sourcedir.tar.gz")
        services.catalog.create(
            ResourceKind.TRAINING_JOB, "caught", spec=body, state={"HostCount": 1}
        )
        services.catalog.transition(
            ResourceKind.TRAINING_JOB, "caught", "InProgress", secondary_status="Downloading"
        )
        services.training.reconcile()
        described = services.training.describe("caught")
    finally:
        services.close()
    assert described["TrainingJobStatus"] == "Failed"
    assert (
        "the server restarted while the training job was Downloading" in described["FailureReason"]
    )
