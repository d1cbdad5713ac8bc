"""A server SIGKILLed while Pipe-mode jobs run: the next one feeds them again, or fails them.

An epoch not yet opened is fed by the next server, byte for byte (here the script even
opens the FIFO while no server runs, and waits in open() until the next one comes). An
epoch being read when the server died was cut short, which the script cannot tell from
its end: that job fails saying so, instead of completing on truncated data.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from modelyard.api.server import read_state, start_background, stop_background
from modelyard.api.services import build_services
from modelyard.config import Settings, get_settings, reset_settings
from modelyard.sdk import objects
from modelyard.sdk.client import ApiClient

from .conftest import BUCKET, TERMINAL, TOOLKIT_IMAGE, job_body, make_tarball, read_tarball

DATA = bytes(range(256)) * (16 * 1024)  # 4 MiB: more than a pipe holds at once
READER = """
import hashlib, os, time
def wait(name):
    while not os.path.exists(os.environ[name]):
        time.sleep(0.05)
print("script-started", flush=True)
wait("OPEN_FILE")
with open(os.environ["SM_CHANNEL_TRAIN"] + "_0", "rb") as epoch:
    first = epoch.read(1000)
    print("epoch-0-half-read", flush=True)
    wait("REST_FILE")
    data = first + epoch.read()
with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.txt"), "w") as f:
    f.write(f"{len(data)} {hashlib.sha256(data).hexdigest()}")
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


def _kill_server(settings: Settings, client: ApiClient) -> None:
    state = read_state(settings)
    assert state is not None
    os.kill(state.pid, signal.SIGKILL)
    psutil.Process(state.pid).wait(10)
    client.close()


def _wait(
    client: ApiClient, name: str, predicate: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        described: dict[str, Any] = client.get_json(f"/training-jobs/{name}")
        if predicate(described):
            return described
        assert time.monotonic() < deadline, described
        time.sleep(0.05)


def _wait_for_log(client: ApiClient, name: str, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in client.request("GET", f"/training-jobs/{name}/logs").text:
        assert time.monotonic() < deadline, f"{name} never logged {text!r}"
        time.sleep(0.05)


def _wait_in_open(code_dir: Path) -> None:
    """Until the script running in ``code_dir`` waits in open() for its FIFO's writer."""
    deadline = time.monotonic() + 30
    while True:
        for process in psutil.process_iter(["cwd"]):
            if process.info["cwd"] == str(code_dir):
                wchan = Path(f"/proc/{process.pid}/wchan")
                if wchan.exists() and wchan.read_text() == "wait_for_partner":
                    return
        assert time.monotonic() < deadline, "the script never waited in open()"
        time.sleep(0.02)


def _start(settings: Settings, tmp_path: Path) -> tuple[ApiClient, dict[str, dict[str, Path]]]:
    client = ApiClient(start_background(settings))
    objects.create_bucket(client, BUCKET)
    objects.put_bytes(client, BUCKET, "data/train/data.bin", DATA)
    objects.put_bytes(client, BUCKET, "src/sourcedir.tar.gz", make_tarball({"train.py": READER}))
    client.post_json("/images", {"Name": "toolkit", "Tag": "test"})
    client.request("POST", f"/images/{TOOLKIT_IMAGE}/build", params={"wait": True})
    files = {
        name: {kind: tmp_path / f"{name}-{kind}" for kind in ("OPEN_FILE", "REST_FILE")}
        for name in ("waiting", "reading")
    }
    for name, paths in files.items():
        body = job_body(
            name,
            f"s3://{BUCKET}/src/sourcedir.tar.gz",
            Environment={kind: str(path) for kind, path in paths.items()},
        )
        body["AlgorithmSpecification"]["TrainingInputMode"] = "Pipe"
        client.post_json("/training-jobs", body)
    return client, files


def test_pipe_jobs_across_a_server_sigkill(server_settings: Settings, tmp_path: Path) -> None:
    client, files = _start(server_settings, tmp_path)
    for name in files:
        _wait_for_log(client, name, "script-started")
    files["reading"]["OPEN_FILE"].touch()
    _wait_for_log(client, "reading", "epoch-0-half-read")  # epoch 0 of "reading" is half read

    _kill_server(server_settings, client)
    files["waiting"]["OPEN_FILE"].touch()  # opens its FIFO while no server runs
    files["waiting"]["REST_FILE"].touch()
    _wait_in_open(server_settings.home / "jobs" / "training" / "waiting" / "algo-1" / "code")

    client = ApiClient(start_background(server_settings))
    waiting = _wait(client, "waiting", lambda d: d["TrainingJobStatus"] in TERMINAL)
    assert waiting["TrainingJobStatus"] == "Completed", waiting.get("FailureReason")
    key = waiting["ModelArtifacts"]["S3ModelArtifacts"].removeprefix(f"s3://{BUCKET}/")
    seen = read_tarball(objects.get_bytes(client, BUCKET, key))["seen.txt"].decode()
    assert seen == f"{len(DATA)} {hashlib.sha256(DATA).hexdigest()}"

    reading = _wait(client, "reading", lambda d: d["TrainingJobStatus"] in TERMINAL)
    assert reading["TrainingJobStatus"] == "Failed"
    assert reading["FailureReason"].startswith(
        "InternalServerError: the server restarted during a Pipe-mode epoch: epoch 0 of "
        "channel 'train' was being read"
    ), reading["FailureReason"]
    client.close()
