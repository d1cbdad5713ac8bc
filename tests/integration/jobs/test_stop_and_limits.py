"""Stopping a job, MaxRuntimeInSeconds, and following a running job's log."""

from __future__ import annotations

import time

import pytest

from modelyard.errors import ConflictError

from .conftest import Plane, job_body

SLOW = """
import os, sys, time
open(os.path.join(os.environ["SM_MODEL_DIR"], "partial.txt"), "w").write("epoch 0")
print("ready", flush=True)
for second in range(120):
    time.sleep(0.5)
"""

CHATTY = """
import time
for i in range(5):
    print(f"line {i}", flush=True)
    time.sleep(0.2)
"""


def test_a_stopped_job_ends_stopped_with_its_model_kept(plane: Plane) -> None:
    plane.create(job_body("halt", plane.bundle("halt", {"train.py": SLOW})))
    plane.wait_secondary("halt", "Training")
    while "ready" not in plane.logs("halt"):
        time.sleep(0.05)

    assert plane.client.post_json("/training-jobs/halt/stop") == {}
    assert plane.describe("halt")["TrainingJobStatus"] in ("Stopping", "Stopped")
    described = plane.wait("halt", timeout_s=30)

    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SecondaryStatus"] == "Stopped"
    assert "FailureReason" not in described
    statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert statuses[-3:] == ["Stopping", "Uploading", "Stopped"]
    assert plane.artifact("output/halt/output/model.tar.gz") == {"partial.txt": b"epoch 0"}
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith("halt/output/model.tar.gz")
    assert all(not handle.is_running() for handle in plane.services.runtime.list())


def test_stopping_an_ended_job_is_a_conflict(plane: Plane) -> None:
    plane.create(job_body("done", plane.bundle("done", {"train.py": "print('x')\n"})))
    plane.wait("done")
    with pytest.raises(ConflictError, match="Completed"):
        plane.client.post_json("/training-jobs/done/stop")


def test_a_job_past_its_max_runtime_is_stopped(plane: Plane) -> None:
    body = job_body(
        "overtime",
        plane.bundle("overtime", {"train.py": SLOW}),
        StoppingCondition={"MaxRuntimeInSeconds": 1},
    )
    plane.create(body)
    described = plane.wait("overtime", timeout_s=30)
    assert described["TrainingJobStatus"] == "Stopped"
    assert described["SecondaryStatus"] == "MaxRuntimeExceeded"
    assert "MaxRuntimeInSeconds" in described["FailureReason"]
    statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert "MaxRuntimeExceeded" in statuses
    assert described["TrainingTimeInSeconds"] >= 1


def test_following_the_log_streams_until_the_job_ends(plane: Plane) -> None:
    plane.create(job_body("chatty", plane.bundle("chatty", {"train.py": CHATTY})))
    lines = []
    with plane.client.stream(
        "GET", "/training-jobs/chatty/logs", params={"follow": "true"}
    ) as response:
        for line in response.iter_lines():
            lines.append(line)
    assert [line for line in lines if line.startswith("line ")] == [f"line {i}" for i in range(5)]
    assert plane.wait("chatty")["TrainingJobStatus"] == "Completed"
    again = plane.client.request(
        "GET", "/training-jobs/chatty/logs", params={"since_line": len(lines) - 2}
    ).text
    assert again.splitlines() == lines[-2:]
