"""Safe endpoint updates through the SDK, with real replicas: a canary that rolls back by itself
when its model fails, and a manual rollback (SDK and CLI) while the old fleet is warm.

The models are built in the sklearn image's own Python (no training job): a logistic
regression, a one-split tree (it answers 1 where the regression answers 2, so a client
can tell the fleets apart) and the regression behind an ``inference.py`` whose
``predict_fn`` raises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard.config import Settings
from modelyard.deserializers import JSONDeserializer
from modelyard.errors import ConflictError, ModelError, NotFoundError, ValidationError
from modelyard.predictor import Predictor
from modelyard.serializers import CSVSerializer
from modelyard.session import Session, production_variant
from tests.fixtures.e2e_plane import served_plane
from tests.integration.hosting.conftest import TRAIN, _image_python

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3]])
REGRESSION = [0, 2]  # what the logistic regression answers for ROWS
STUMP = [0, 1]  # what the one-split tree answers
BROKEN = """
import os, joblib

def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))

def predict_fn(data, model):
    raise RuntimeError("this model is broken")
"""


def _model(root: Path, kind: str, inference: str | None = None) -> Path:
    directory = root / f"{kind}-{'code' if inference else 'plain'}"
    directory.mkdir()
    completed = subprocess.run(
        [str(_image_python()), "-c", TRAIN, kind, str(directory / "model.joblib")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    if inference is not None:
        (directory / "code").mkdir()
        (directory / "code" / "inference.py").write_text(textwrap.dedent(inference))
    tarball = root / f"{directory.name}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for path in sorted(directory.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return tarball


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    home = tmp_path_factory.mktemp("deployments-home")
    settings = Settings(
        home=home, endpoint_health_check_period_s=0.5, endpoint_reconcile_interval_s=0.1
    )
    with served_plane(settings) as url:
        yield url, settings


@pytest.fixture(scope="module")
def session(
    server: tuple[str, Settings], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    """A session whose server has the models ``regression``, ``stump`` and ``broken``."""
    url, settings = server
    root = tmp_path_factory.mktemp("deployment-models")
    with Session(server_url=url, settings=settings) as found:
        for name, tarball in (
            ("regression", _model(root, "logistic")),
            ("stump", _model(root, "tree")),
            ("broken", _model(root, "logistic", BROKEN)),
        ):
            uri = found.upload_data(str(tarball), key_prefix=f"deployments/{name}")
            found.create_model(
                name,
                container_defs={
                    "Image": "sklearn:1.5",
                    "ModelDataUrl": uri,
                    "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
                },
            )
            found.create_endpoint_config(
                name, production_variants=[production_variant(name, "ml.t2.medium", 1)]
            )
        yield found


def until(what: Callable[[], Any], timeout_s: float = 60.0, message: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out: {message}")


def cli(server: tuple[str, Settings], *args: str) -> subprocess.CompletedProcess[str]:
    """``modelyard ...`` in a subprocess, against the test's server."""
    url, settings = server
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELYARD_")}
    env.update(MODELYARD_HOME=str(settings.home), MODELYARD_SERVER_URL=url, COLUMNS="200")
    completed = subprocess.run(
        [sys.executable, "-m", "modelyard.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def blue_green(
    kind: str, bake: int, alarms: tuple[str, ...] = (), **routing: Any
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": kind, **routing},
            "TerminationWaitInSeconds": bake,
        }
    }
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def test_a_canary_whose_model_fails_rolls_back_by_itself(session: Session) -> None:
    session.create_endpoint("canary", "regression")
    predictor = Predictor("canary", session, CSVSerializer(), JSONDeserializer())
    try:
        session.put_metric_alarm(
            AlarmName="canary-5xx",
            MetricName="Invocation5XXErrors",
            Namespace="AWS/SageMaker",
            Statistic="Average",  # errors per invocation: the 5xx rate
            Dimensions=[{"Name": "EndpointName", "Value": "canary"}],
            Period=10,
            EvaluationPeriods=1,
            Threshold=0.05,
            ComparisonOperator="GreaterThanThreshold",
        )
        session.update_endpoint_with_deployment_config(
            "canary",
            "broken",
            wait=False,
            deployment_config=blue_green(
                "CANARY",
                bake=30,
                alarms=("canary-5xx",),
                CanarySize={"Type": "CAPACITY_PERCENT", "Value": 25},
                WaitIntervalInSeconds=30,
            ),
        )
        assert session.describe_endpoint("canary")["EndpointStatus"] == "Updating"

        answers: list[object] = []
        errors: list[str] = []

        def rolled_back() -> bool:
            try:
                answers.append(predictor.predict(ROWS))
            except ModelError as exc:  # only the canary's model fails
                errors.append(str(exc))
            described = session.describe_endpoint("canary")
            return bool(described["EndpointStatus"] == "InService")

        until(rolled_back, timeout_s=90, message="the canary did not roll back")
        described = session.describe_endpoint("canary")
        assert described["EndpointConfigName"] == "regression"
        reason = described["FailureReason"]
        assert "UpdateEndpoint to broken rolled back: alarm canary-5xx is in ALARM" in reason
        assert "PendingDeploymentSummary" not in described
        assert described["DeploymentHistory"][-1]["Status"] == "RolledBack"
        assert errors, "the canary took no traffic"
        assert all("this model is broken" in e for e in errors), errors
        assert all(a == REGRESSION for a in answers), answers  # the old fleet never failed
        for _ in range(30):
            assert predictor.predict(ROWS) == REGRESSION
        until(
            lambda: len(session.endpoint_replicas("canary")) == 1,
            timeout_s=20,
            message="the canary's replica is still there",
        )
        assert session.describe_alarms(AlarmNames=["canary-5xx"])["MetricAlarms"][0][
            "StateValue"
        ] in ("OK", "INSUFFICIENT_DATA")  # it watches what serves now: the regression

        with pytest.raises(ConflictError, match="only ever served regression"):
            session.rollback_endpoint("canary")  # nothing was ever promoted
        with pytest.raises(NotFoundError):
            session.rollback_endpoint("no-such-endpoint")
        missing = {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "nope"}]}}
        with pytest.raises(ValidationError, match="no alarm 'nope'") as caught:
            session.update_endpoint_with_deployment_config("canary", "stump", missing)
        assert caught.value.field == "DeploymentConfig.AutoRollbackConfiguration.Alarms.0.AlarmName"
        with pytest.raises(ValidationError, match="percentiles") as caught:
            session.put_metric_alarm(
                AlarmName="p99",
                MetricName="ModelLatency",
                ExtendedStatistic="p99",
                Dimensions=[{"Name": "EndpointName", "Value": "canary"}],
                Period=10,
                EvaluationPeriods=1,
                Threshold=1.0,
                ComparisonOperator="GreaterThanThreshold",
            )
        assert caught.value.field == "ExtendedStatistic"
        with pytest.raises(ValidationError, match="differs from the alarm in the path"):
            session.client.request("PUT", "/alarms/one", json={"AlarmName": "other"})
        assert session.describe_endpoint("canary")["EndpointStatus"] == "InService"
    finally:
        session.delete_alarms(AlarmNames=["canary-5xx"])
        session.delete_endpoint("canary")


def test_an_update_is_rolled_back_by_hand_within_seconds(
    session: Session, server: tuple[str, Settings]
) -> None:
    session.create_endpoint("manual", "regression")
    predictor = Predictor("manual", session, CSVSerializer(), JSONDeserializer())
    try:
        session.update_endpoint_with_deployment_config(
            "manual",
            "stump",
            blue_green("ALL_AT_ONCE", bake=600, WaitIntervalInSeconds=0),
            wait=False,
        )

        def baking() -> bool:
            summary = session.describe_endpoint("manual").get("PendingDeploymentSummary") or {}
            variants = summary.get("ProductionVariants") or [{}]
            return bool((variants[0].get("VariantStatus") or [{}])[0].get("Status") == "Baking")

        until(baking, message="the update did not reach its bake")
        assert predictor.predict(ROWS) == STUMP  # all traffic on the new fleet

        started = time.monotonic()
        completed = cli(server, "endpoints", "rollback", "manual")
        assert predictor.predict(ROWS) == REGRESSION
        assert time.monotonic() - started < 10  # the process start is most of it
        assert "traffic is back on regression" in completed.stdout
        described = session.describe_endpoint("manual")
        assert described["EndpointStatus"] == "InService"
        assert "requested by a manual rollback" in described["FailureReason"]

        cli(
            server,
            "alarms",
            "put",
            "manual-slow",
            "--endpoint",
            "manual",
            "--metric",
            "ModelLatency",
            "--threshold",
            "5000000",  # µs: 5 s
            "--period",
            "30",
        )
        listed = json.loads(cli(server, "alarms", "list", "--json").stdout)
        assert [(a["AlarmName"], a["StateValue"]) for a in listed] == [("manual-slow", "OK")]
        cli(server, "alarms", "delete", "manual-slow")

        session.update_endpoint("manual", "stump")  # all at once, no bake: promoted
        assert predictor.predict(ROWS) == STUMP
        answer = predictor.rollback()  # after the update: the regression is launched again
        assert answer["RollbackType"] == "Redeploy"
        described = session.describe_endpoint("manual")
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
            "InService",
            "regression",
        )
        assert predictor.predict(ROWS) == REGRESSION
        history = [(h["EndpointConfigName"], h["Status"]) for h in described["DeploymentHistory"]]
        assert history == [
            ("regression", "Succeeded"),
            ("stump", "RolledBack"),
            ("stump", "Succeeded"),
            ("regression", "Succeeded"),
        ]
    finally:
        session.delete_endpoint("manual")
