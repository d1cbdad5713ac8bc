"""Distributed PyTorch: two hosts of the pytorch:2.13 image really all-reduce over gloo.

The estimator is the SDK's ``PyTorch(instance_count=2, distribution={"torch_distributed":
{"enabled": True}})``: every host runs torchrun, the two meet at the rendezvous the
controller gives them, and each reports what it saw (in its log, and algo-1 also in
``output/data``, gathered from both ranks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelyard
from modelyard.errors import ValidationError
from modelyard.pytorch import PyTorch

from .conftest import BUCKET, Plane, job_body

ALL_REDUCE = """
import json, os, sys
import torch
import torch.distributed as dist

if os.environ["SM_CURRENT_HOST"] == os.environ.get("FAIL_ON_HOST"):
    sys.exit("this host gives up before the rendezvous")
dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
seen = {"host": os.environ["SM_CURRENT_HOST"], "hosts": json.loads(os.environ["SM_HOSTS"]),
        "rank": rank, "world": world, "sum": total.item()}
print("SEEN " + json.dumps(seen, sort_keys=True), flush=True)
everyone = [None] * world
dist.all_gather_object(everyone, seen)
if rank == 0:
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as f:
        json.dump(everyone, f)
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"), "wb") as f:
        torch.save({"sum": total}, f)
dist.destroy_process_group()
"""

PYTORCH = ("pytorch", "2.13")


@pytest.fixture
def pytorch_plane(plane: Plane) -> Plane:
    image = plane.services.images.framework_image(*PYTORCH)
    plane.services.images.build(image, wait=True)
    return plane


@pytest.fixture
def session(pytorch_plane: Plane) -> Iterator[modelyard.Session]:
    with modelyard.Session(
        server_url=pytorch_plane.client.base_url, settings=pytorch_plane.services.settings
    ) as found:
        yield found


def _seen(log: str) -> dict[str, object]:
    found = re.findall(r"SEEN (\{.*\})", log)
    assert len(found) == 1, log[-3000:]
    seen: dict[str, object] = json.loads(found[0])
    return seen


def test_two_hosts_all_reduce_through_torchrun(
    pytorch_plane: Plane, session: modelyard.Session, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text(ALL_REDUCE)
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="2.13",
        role="SageMakerRole",
        instance_count=2,
        instance_type="ml.m5.large",
        distribution={"torch_distributed": {"enabled": True}},
        output_path=f"s3://{BUCKET}/output",
        sagemaker_session=session,
    )
    estimator.fit(wait=True, logs="None")
    described = estimator.describe()
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    name = described["TrainingJobName"]

    gathered = json.loads(
        pytorch_plane.artifact(f"output/{name}/output/output.tar.gz")["seen.json"]
    )
    assert [(s["host"], s["rank"]) for s in gathered] == [("algo-1", 0), ("algo-2", 1)]
    for seen in gathered:
        assert seen["sum"] == 3.0  # 1 + 2: each host saw the other's contribution
        assert seen["world"] == 2
        assert seen["hosts"] == ["algo-1", "algo-2"]
    for rank, host in enumerate(["algo-1", "algo-2"]):
        log = pytorch_plane.client.request(
            "GET", f"/training-jobs/{name}/logs", params={"host": host}
        ).text
        assert _seen(log) == gathered[rank]
        # The toolkit's torchrun command line, with the controller's rendezvous.
        assert re.search(
            rf"torch\.distributed\.run --nnodes 2 --nproc_per_node 1 --master_addr 127\.0\.0\.1 "
            rf"--master_port \d+ --node_rank {rank} train\.py",
            log,
        ), log[-3000:]


def test_a_host_failing_before_the_rendezvous_stops_the_other(pytorch_plane: Plane) -> None:
    bundle = pytorch_plane.bundle("dist-fail", {"train.py": ALL_REDUCE})
    body = job_body(
        "dist-fail",
        bundle,
        AlgorithmSpecification={"TrainingImage": "pytorch:2.13"},
        HyperParameters={"sagemaker_torch_distributed_enabled": "true"},
        ResourceConfig={"InstanceType": "local", "InstanceCount": 2},
        Environment={"FAIL_ON_HOST": "algo-2"},
    )
    pytorch_plane.create(body)
    described = pytorch_plane.wait("dist-fail", timeout_s=120)
    assert described["TrainingJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError"), reason
    assert "this host gives up before the rendezvous" in reason  # the worker's, not torchrun's
    assert reason.endswith("(on algo-2)"), reason


@pytest.mark.parametrize(
    ("distribution", "hyperparameter"),
    [
        ({"mpi": {"enabled": True}}, "sagemaker_mpi_enabled"),
        ({"smdistributed": {"dataparallel": {"enabled": True}}}, "sagemaker_distributed_"),
        ({"pytorchxla": {"enabled": True}}, "sagemaker_pytorch_xla_multi_worker_enabled"),
    ],
)
def test_launchers_not_provided_are_refused_at_create(
    session: modelyard.Session, tmp_path: Path, distribution: dict, hyperparameter: str
) -> None:
    (tmp_path / "train.py").write_text("print('never runs')\n")
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(tmp_path),
        framework_version="2.13",
        role="SageMakerRole",
        instance_count=2,
        distribution=distribution,
        output_path=f"s3://{BUCKET}/output",
        sagemaker_session=session,
    )
    with pytest.raises(ValidationError, match=f"HyperParameters.{hyperparameter}") as caught:
        estimator.fit(wait=False)
    assert "distribution=" in str(caught.value)
