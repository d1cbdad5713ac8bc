"""CheckpointConfig: synced up while training and at a stop; a new job resumes from it."""

from __future__ import annotations

import time

from .conftest import BUCKET, Plane, job_body

TRAIN = """
import os, time
checkpoints = os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "checkpoints")
done = sorted(int(name.split("-")[1]) for name in os.listdir(checkpoints))
start = done[-1] + 1 if done else 0
print(f"resuming at epoch {start}", flush=True)
for epoch in range(start, start + 100):
    with open(os.path.join(checkpoints, f"epoch-{epoch}"), "w") as f:
        f.write(str(epoch))
    print(f"saved epoch {epoch}", flush=True)
    if epoch >= int(os.environ.get("LAST_EPOCH", "1000")):
        break
    time.sleep(0.3)
"""

CHECKPOINTS = {"S3Uri": f"s3://{BUCKET}/checkpoints/run-1"}


def _stored(plane: Plane) -> list[str]:
    return sorted(
        info.key.rsplit("/", 1)[-1]
        for info in plane.services.store.iter_objects(BUCKET, "checkpoints/run-1/")
    )


def test_a_stopped_job_started_again_resumes_from_its_checkpoints(plane: Plane) -> None:
    plane.services.training.periodic_interval_s = 0.2
    bundle = plane.bundle("ckpt", {"train.py": TRAIN})
    plane.create(job_body("ckpt-1", bundle, CheckpointConfig=CHECKPOINTS))
    plane.wait_secondary("ckpt-1", "Training")
    deadline = time.monotonic() + 30
    while len(_stored(plane)) < 2:  # synced while the job runs
        assert time.monotonic() < deadline, plane.logs("ckpt-1")
        time.sleep(0.05)
    plane.client.post_json("/training-jobs/ckpt-1/stop")
    assert plane.wait("ckpt-1")["TrainingJobStatus"] == "Stopped"
    saved = [line for line in plane.logs("ckpt-1").splitlines() if line.startswith("saved")]
    last = int(saved[-1].rsplit(" ", 1)[1])
    assert _stored(plane) == sorted(f"epoch-{i}" for i in range(last + 1))  # synced at the stop

    body = job_body(
        "ckpt-2",
        bundle,
        CheckpointConfig={**CHECKPOINTS, "LocalPath": "/opt/ml/checkpoints"},
        Environment={"LAST_EPOCH": str(last + 2)},
    )
    plane.create(body)
    assert plane.wait("ckpt-2")["TrainingJobStatus"] == "Completed"
    assert f"resuming at epoch {last + 1}" in plane.logs("ckpt-2")
    assert f"epoch-{last + 2}" in _stored(plane)
