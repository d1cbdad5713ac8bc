"""Endpoint autoscaling as a notebook drives it: real replicas, boto3's calls, real load.

A scikit-learn model whose ``predict_fn`` takes 50 ms (and names the replica that
answered in the custom-attributes header) is deployed with one replica through the
SDK; ``session.autoscaling_client()`` registers the variant for 1..3 replicas with a
target-tracking policy on ``SageMakerVariantInvocationsPerInstance``. Windows and
cooldowns are seconds here, not minutes. Load from a thread pool makes it add replicas
that then serve; once the load drops to a trickle, it scales back in to one replica
while the trickle goes on, and not one request fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modelyard.config import Settings
from modelyard.deserializers import JSONDeserializer
from modelyard.errors import NotFoundError
from modelyard.model import Model
from modelyard.predictor import Predictor
from modelyard.serializers import CSVSerializer
from modelyard.session import Session
from tests.e2e.conftest import Cli
from tests.fixtures.e2e_plane import served_plane
from tests.integration.hosting.conftest import TRAIN, _image_python

ENDPOINT = "scaling"
RESOURCE = f"endpoint/{ENDPOINT}/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
ROW = [[5.1, 3.5, 1.4, 0.2]]

INFERENCE = """
import os, time, joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model, context):
    time.sleep(0.05)
    context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", f"pid={os.getpid()}")
    return model.predict(data)
"""


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    settings = Settings(
        home=tmp_path / "home",
        endpoint_health_check_period_s=0.5,
        endpoint_reconcile_interval_s=0.1,
        endpoint_stop_grace_s=5.0,
        autoscaling_interval_s=0.5,
        autoscaling_evaluation_window_s=4.0,
        autoscaling_scale_in_window_s=6.0,
    )
    with served_plane(settings) as url, Session(server_url=url, settings=settings) as found:
        yield found


def _model_data(session: Session, scratch: Path) -> str:
    model_dir = scratch / "model"
    (model_dir / "code").mkdir(parents=True)
    subprocess.run(
        [str(_image_python()), "-c", TRAIN, "logistic", str(model_dir / "model.joblib")],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent(INFERENCE))
    tarball = scratch / "model.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(model_dir / "model.joblib", arcname="model.joblib")
        archive.add(model_dir / "code" / "inference.py", arcname="code/inference.py")
    return session.upload_data(str(tarball), key_prefix="autoscaling")


class Load:
    """Threads predicting until stopped; what answered, and every failure."""

    def __init__(self, session: Session, threads: int, pause_s: float = 0.0) -> None:
        self.session = session
        self.pause_s = pause_s
        self.replicas: set[str] = set()
        self.answered = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        with Session(server_url=self.session.url, settings=self.session.settings) as own:
            predictor = Predictor(ENDPOINT, own, CSVSerializer(), JSONDeserializer())
            while not self._stop.is_set():
                try:
                    assert predictor.predict(ROW) == [0]
                    with self._lock:
                        self.answered += 1
                        self.replicas.add(str(predictor.last_custom_attributes))
                except Exception as exc:
                    self.failures.append(repr(exc))
                self._stop.wait(self.pause_s)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def wait_for(what: Callable[[], Any], timeout_s: float, message: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s: {message}")


def test_load_adds_replicas_that_serve_and_quiet_scales_back_in_without_a_failed_request(
    session: Session, tmp_path: Path
) -> None:
    model = Model(
        image_uri="sklearn:1.5",
        model_data=_model_data(session, tmp_path),
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        sagemaker_session=session,
    )
    model.deploy(initial_instance_count=1, instance_type="ml.t2.medium", endpoint_name=ENDPOINT)
    autoscaling = session.autoscaling_client()
    try:
        autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            MinCapacity=1,
            MaxCapacity=3,
        )
        autoscaling.put_scaling_policy(
            PolicyName="invocations",
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE,
            ScalableDimension=DIMENSION,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 300.0,  # invocations per replica per minute
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                },
                "ScaleOutCooldown": 5,
                "ScaleInCooldown": 3,
            },
        )

        def variant() -> dict[str, Any]:
            described = session.describe_endpoint(ENDPOINT)
            assert described["EndpointStatus"] == "InService"
            found: dict[str, Any] = described["ProductionVariants"][0]
            return found

        heavy = Load(session, threads=6)  # ~20/s on one replica: far above 300 a minute
        try:
            wait_for(lambda: variant()["CurrentInstanceCount"] >= 2, 60, "no replica was added")
            start = heavy.answered
            wait_for(lambda: heavy.answered > start + 100, 30, "the load stalled")
            heavy.replicas.clear()
            wait_for(lambda: len(heavy.replicas) >= 2, 30, "the new replica takes no traffic")
        finally:
            heavy.stop()
        assert variant()["DesiredInstanceCount"] >= 2

        trickle = Load(session, threads=1, pause_s=0.3)  # ~150 a minute: one replica is enough
        try:
            wait_for(
                lambda: (
                    (variant()["DesiredInstanceCount"], variant()["CurrentInstanceCount"]) == (1, 1)
                    and len(session.endpoint_replicas(ENDPOINT)) == 1
                ),
                60,
                "it did not scale back in to one replica",
            )
            answered = trickle.answered
            wait_for(lambda: trickle.answered > answered + 3, 10, "the trickle stalled")
        finally:
            trickle.stop()
        assert heavy.failures == []
        assert trickle.failures == []
        assert trickle.answered > 10

        activities = autoscaling.describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=RESOURCE
        )["ScalingActivities"]
        assert activities[0]["Description"] == "Setting desired instance count to 1."
        assert "below the target 300" in activities[0]["Cause"]
        assert any("above the target 300" in a["Cause"] for a in activities)
        assert all(a["StartTime"].tzinfo is not None for a in activities)
        wait_for(
            lambda: (
                autoscaling.describe_scaling_activities(
                    ServiceNamespace="sagemaker", ResourceId=RESOURCE
                )["ScalingActivities"][0]["StatusCode"]
                == "Successful"
            ),
            10,
            "the scale-in activity did not complete",
        )
        _the_same_from_the_command_line(session, tmp_path, variant)
    finally:
        session.delete_endpoint(ENDPOINT)
    wait_for(lambda: _gone(session), 60, "the endpoint was not deleted")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")
    assert targets["ScalableTargets"] == []


def _gone(session: Session) -> bool:
    try:
        session.describe_endpoint(ENDPOINT)
    except NotFoundError:
        return True
    return False


def _the_same_from_the_command_line(
    session: Session, tmp_path: Path, variant: Callable[[], dict[str, Any]]
) -> None:
    """``modelyard autoscaling ...`` against the same server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(
        MODELYARD_HOME=str(session.settings.home), MODELYARD_SERVER_URL=session.url, COLUMNS="200"
    )
    cli = Cli(env=env, cwd=tmp_path)
    listed = json.loads(cli.run("autoscaling", "activities", ENDPOINT, "--json").stdout)
    assert listed[0]["Description"] == "Setting desired instance count to 1."
    enabled = cli.run(
        "autoscaling", "enable", ENDPOINT, "--min", "2", "--max", "2", "--target-invocations", "300"
    )
    assert f"{RESOURCE} scales between 2 and 2 replicas (invocations)" in enabled.stdout
    wait_for(lambda: variant()["CurrentInstanceCount"] == 2, 60, "the minimum of 2 did not hold")
    targets = json.loads(cli.run("autoscaling", "targets", "--json").stdout)
    assert [(t["ResourceId"], t["MinCapacity"], t["MaxCapacity"]) for t in targets] == [
        (RESOURCE, 2, 2)
    ]
    policies = json.loads(cli.run("autoscaling", "policies", "--json").stdout)
    assert [p["PolicyName"] for p in policies] == ["invocations"]
    cli.run("autoscaling", "disable", ENDPOINT)
    assert json.loads(cli.run("autoscaling", "targets", "--json").stdout) == []
    wrong = cli.run("autoscaling", "enable", "nope", "--min", "1", "--max", "2", check=False)
    assert wrong.returncode == 1
    assert "endpoint 'nope' does not exist" in wrong.stderr
