"""An inference pipeline as a notebook deploys it: a scikit-learn preprocessor, then XGBoost.

The scaler and the booster are fitted here, in the test's process, and packaged as
SageMaker's containers expect (``model.joblib`` beside ``preprocessor.py``; an XGBoost
model file). ``PipelineModel([preprocessor, xgb]).deploy(...)`` serves both behind one
replica; its predictions are compared with the same computation done in-process, in
CSV and JSON. Then one container of the replica is killed (the replica is replaced),
the replica's group is adopted as a restarted server would, and a pipeline whose second
container fails answers 424 naming that container.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard.config import Settings
from modelyard.deserializers import CSVDeserializer, JSONDeserializer
from modelyard.errors import ModelError
from modelyard.hosting.replica_process import PipelineReplicaProcess
from modelyard.hosting.replica_set import Health
from modelyard.hosting.replicas import ReplicaLauncher
from modelyard.pipeline import PipelineModel
from modelyard.runtime import get_runtime
from modelyard.serializers import CSVSerializer, JSONSerializer
from modelyard.session import Session
from modelyard.sklearn import SKLearnModel
from modelyard.xgboost import XGBoostModel
from tests.fixtures.e2e_plane import fit_diabetes_pipeline, served_plane, upload_archive

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_EXAMPLE = ROOT / "examples" / "inference_pipeline"
FAILING_SCRIPT = """
def model_fn(model_dir):
    return None


def predict_fn(data, model):
    raise ValueError("this model refuses every row")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    home = tmp_path_factory.mktemp("pipeline-home")
    settings = Settings(
        home=home,
        endpoint_health_check_period_s=0.5,
        endpoint_reconcile_interval_s=0.1,
    )
    with served_plane(settings) as url:
        yield url, settings


@pytest.fixture
def session(server: tuple[str, Settings]) -> Iterator[Session]:
    url, settings = server
    with Session(server_url=url, settings=settings) as found:
        yield found


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The preprocessor and the booster, fitted in-process on the diabetes data."""
    return fit_diabetes_pipeline(tmp_path_factory.mktemp("artifacts"), rows=4)


def _preprocessor(session: Session, model_data: str) -> SKLearnModel:
    return SKLearnModel(
        model_data=model_data,
        entry_point="preprocessor.py",
        source_dir=str(PIPELINE_EXAMPLE),
        framework_version="1.5",
        model_server_workers=1,
        env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        sagemaker_session=session,
    )


def _replica(session: Session, endpoint: str) -> dict[str, Any]:
    (replica,) = [r for r in session.endpoint_replicas(endpoint) if r["Status"] == "Running"]
    return replica


def test_a_preprocessor_and_xgboost_serve_as_one_pipeline(
    session: Session, server: tuple[str, Settings], fitted: dict[str, Any]
) -> None:
    import xgboost as xgb

    pre_data = upload_archive(session, fitted["root"] / "pre", "e2e/pipeline/pre")
    xgb_data = upload_archive(session, fitted["root"] / "xgb", "e2e/pipeline/xgb")
    booster = XGBoostModel(
        model_data=xgb_data,
        framework_version="2.1",
        model_server_workers=1,
        sagemaker_session=session,
    )
    pipeline = PipelineModel(
        models=[_preprocessor(session, pre_data), booster],
        name="diabetes-pipeline",
        sagemaker_session=session,
    )
    predictor = pipeline.deploy(
        initial_instance_count=1,
        instance_type="ml.t2.medium",
        serializer=CSVSerializer(),
        deserializer=CSVDeserializer(),
        endpoint_name="diabetes-pipeline",
    )
    rows = fitted["rows"]
    expected = fitted["booster"].predict(xgb.DMatrix(fitted["scaler"].transform(rows))).tolist()
    try:
        answer = predictor.predict(rows)
        assert [float(v) for row in answer for v in row] == pytest.approx(expected, rel=1e-6)
        predictor.serializer, predictor.deserializer = JSONSerializer(), JSONDeserializer()
        answer = predictor.predict(rows.tolist())
        assert np.asarray(answer, dtype=float).ravel().tolist() == pytest.approx(expected, rel=1e-6)
        model = session.describe_model("diabetes-pipeline")
        assert [c["Image"] for c in model["Containers"]] == ["sklearn:1.5", "xgboost:2.1"]
        (variant,) = session.describe_endpoint("diabetes-pipeline")["ProductionVariants"]
        images = variant["DeployedImages"]
        assert [i["SpecifiedImage"] for i in images] == ["sklearn:1.5", "xgboost:2.1"]
        assert len({i["ResolvedImage"] for i in images}) == 2  # each container its own

        # The replica is one group: a front and a process per container, re-adoptable.
        _, settings = server
        replica = _replica(session, "diabetes-pipeline")
        front_id, *container_ids = str(replica["HandleId"]).split(",")
        assert len(container_ids) == 2
        launcher = ReplicaLauncher(get_runtime(settings))
        for handle_id in (replica["HandleId"], front_id):  # recorded, or found by labels
            adopted = launcher.adopt(replica["ReplicaId"], handle_id)
            assert isinstance(adopted, PipelineReplicaProcess)
            assert [m.label for m in adopted.members] == [
                "container 0 (sklearn:1.5)",
                "container 1 (xgboost:2.1)",
            ]
            assert adopted.probe(2.0).health is Health.READY
            assert adopted.target.port == replica["Port"]
        found = launcher.find(replica["ReplicaId"])
        assert found is not None
        assert found.id == front_id

        # A dead container anywhere in the chain gets the whole replica replaced.
        victim = get_runtime(settings).adopt(container_ids[1])
        pid = victim.pid()
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            running = [
                r
                for r in session.endpoint_replicas("diabetes-pipeline")
                if r["Status"] == "Running"
            ]
            if running and all(r["ReplicaId"] != replica["ReplicaId"] for r in running):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the replica with a dead container was not replaced")
        assert not get_runtime(settings).adopt(front_id).is_running()
        answer = predictor.predict(rows.tolist())
        assert np.asarray(answer, dtype=float).ravel().tolist() == pytest.approx(expected, rel=1e-6)
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()


def test_a_failing_second_container_answers_424_naming_it(
    session: Session, fitted: dict[str, Any], tmp_path: Path
) -> None:
    pre_data = upload_archive(session, fitted["root"] / "pre", "e2e/pipeline/pre")
    code = tmp_path / "failing"
    code.mkdir()
    (code / "failing.py").write_text(FAILING_SCRIPT)
    failing = SKLearnModel(
        model_data=pre_data,
        entry_point="failing.py",
        source_dir=str(code),
        framework_version="1.5",
        model_server_workers=1,
        sagemaker_session=session,
    )
    pipeline = PipelineModel(
        models=[_preprocessor(session, pre_data), failing],
        name="failing-pipeline",
        sagemaker_session=session,
    )
    predictor = pipeline.deploy(
        initial_instance_count=1,
        instance_type="ml.t2.medium",
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
    )
    try:
        with pytest.raises(ModelError) as raised:
            predictor.predict(fitted["rows"])
        message = str(raised.value)
        assert "container 1 (sklearn:1.5)" in message
        assert "this model refuses every row" in message
        assert "(500)" in message
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()
