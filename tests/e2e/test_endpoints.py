"""Real-time endpoints as a notebook uses them: train the examples, deploy, predict, update, delete.

One control plane (a home of the module) serves every test; each framework's example is
trained once through the SDK, then deployed with ``estimator.deploy`` / ``Model.deploy``
and invoked with sagemaker's serializers and deserializers in every content type.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard.config import Settings
from modelyard.deserializers import (
    CSVDeserializer,
    JSONDeserializer,
    JSONLinesDeserializer,
    NumpyDeserializer,
    RecordDeserializer,
)
from modelyard.errors import ModelError, NotFoundError, UnsupportedMediaTypeError
from modelyard.inputs import TrainingInput
from modelyard.model import Model
from modelyard.predictor import Predictor
from modelyard.serializers import (
    CSVSerializer,
    JSONLinesSerializer,
    JSONSerializer,
    NumpySerializer,
    RecordSerializer,
)
from modelyard.session import Session, production_variant
from modelyard.sklearn import SKLearn, SKLearnPredictor
from tests.fixtures.e2e_plane import served_plane

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
IRIS_ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]])
IRIS_LABELS = [0, 2, 1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    home = tmp_path_factory.mktemp("endpoints-home")
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


def _iris_channels(session: Session, prefix: str) -> dict[str, TrainingInput]:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    frame = load_iris(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=3, stratify=frame["target"])
    channels = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, part in (("train", train), ("test", test)):
            directory = Path(scratch) / name
            directory.mkdir()
            part.to_csv(directory / f"{name}.csv", index=False)
            uri = session.upload_data(str(directory), key_prefix=f"{prefix}/{name}")
            channels[name] = TrainingInput(uri, content_type="text/csv")
    return channels


@pytest.fixture(scope="module")
def module_session(server: tuple[str, Settings]) -> Iterator[Session]:
    url, settings = server
    with Session(server_url=url, settings=settings) as found:
        yield found


@pytest.fixture(scope="module")
def sklearn_estimator(module_session: Session) -> SKLearn:
    session = module_session
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        framework_version="1.5",
        instance_type="ml.m5.large",
        sagemaker_session=session,
        hyperparameters={"n_estimators": 20, "max_depth": 4},
    )
    estimator.fit(_iris_channels(session, "e2e/iris"), logs="None")
    return estimator


CONTENT_TYPES = [
    (NumpySerializer(), NumpyDeserializer(), lambda answer: answer.astype(int).tolist()),
    (CSVSerializer(), CSVDeserializer(), lambda answer: [int(float(r[0])) for r in answer]),
    (JSONSerializer(), JSONDeserializer(), lambda answer: answer),
    (JSONLinesSerializer(), JSONLinesDeserializer(), lambda answer: answer),
    (
        RecordSerializer(),
        RecordDeserializer(),
        lambda answer: [int(record.features["values"].content.values[0]) for record in answer],
    ),
]


def test_the_sklearn_example_deploys_and_predicts_in_every_content_type(
    sklearn_estimator: SKLearn, session: Session
) -> None:
    predictor = sklearn_estimator.deploy(
        initial_instance_count=1, instance_type="ml.t2.medium", model_server_workers=1
    )
    try:
        assert isinstance(predictor, SKLearnPredictor)
        assert predictor.predict(IRIS_ROWS).astype(int).tolist() == IRIS_LABELS
        assert predictor.last_invoked_variant == "AllTraffic"
        for serializer, deserializer, labels in CONTENT_TYPES:
            predictor.serializer = serializer
            predictor.deserializer = deserializer
            data = IRIS_ROWS.tolist() if isinstance(serializer, JSONLinesSerializer) else IRIS_ROWS
            answer = predictor.predict(data)
            assert labels(answer) == IRIS_LABELS, (serializer.CONTENT_TYPE, answer)

        described = session.describe_endpoint(predictor.endpoint_name)
        assert described["EndpointStatus"] == "InService"
        (variant,) = described["ProductionVariants"]
        assert variant["CurrentInstanceCount"] == 1

        predictor.update_endpoint(initial_instance_count=2, instance_type="ml.t2.medium")
        described = session.describe_endpoint(predictor.endpoint_name)
        assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
        predictor.serializer, predictor.deserializer = CSVSerializer(), JSONDeserializer()
        assert predictor.predict(IRIS_ROWS) == IRIS_LABELS

        predictor.serializer = JSONSerializer(content_type="image/png")
        with pytest.raises(UnsupportedMediaTypeError, match="image/png"):
            predictor.predict(IRIS_ROWS)
        predictor.serializer = CSVSerializer()
        with pytest.raises(ModelError) as failed:
            predictor.predict(np.array([[1.0, 2.0]]))
        assert failed.value.original_status_code == 500
        assert "features" in (failed.value.original_message or "")
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()
    wait_gone(session, predictor.endpoint_name)


def wait_gone(session: Session, endpoint: str, timeout_s: float = 60.0) -> None:
    """DeleteEndpoint returns at once (Deleting); the endpoint goes once its replicas stop."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            assert session.describe_endpoint(endpoint)["EndpointStatus"] == "Deleting"
        except NotFoundError:
            return
        time.sleep(0.1)
    raise AssertionError(f"endpoint {endpoint} is still there after {timeout_s} s")


def test_a_model_from_local_code_deploys_through_model_deploy(
    sklearn_estimator: SKLearn, session: Session
) -> None:
    model = Model(
        image_uri="sklearn:1.5",
        model_data=sklearn_estimator.model_data,
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        sagemaker_session=session,
    )
    predictor = model.deploy(
        initial_instance_count=1,
        instance_type="ml.t2.medium",
        serializer=JSONSerializer(),
        deserializer=JSONDeserializer(),
        endpoint_name="iris-from-model",
    )
    try:
        assert isinstance(predictor, Predictor)
        assert predictor.predict(IRIS_ROWS.tolist()) == IRIS_LABELS
        container = session.describe_model(str(model.name))["PrimaryContainer"]
        assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
        assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"].endswith(
            "/source/sourcedir.tar.gz"
        )
        again = Predictor("iris-from-model", session, CSVSerializer(), JSONDeserializer())
        assert json.loads(json.dumps(again.predict(IRIS_ROWS))) == IRIS_LABELS
    finally:
        predictor.delete_endpoint()
        model.delete_model()
    wait_gone(session, "iris-from-model")


def _frame_channels(
    session: Session, frame: Any, prefix: str, names: tuple[str, str]
) -> dict[str, str]:
    from sklearn.model_selection import train_test_split

    first, second = train_test_split(frame, test_size=0.25, random_state=7)
    uris = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, part in zip(names, (first, second), strict=True):
            directory = Path(scratch) / name
            directory.mkdir()
            part.to_csv(directory / f"{name}.csv", index=False)
            uris[name] = session.upload_data(str(directory), key_prefix=f"{prefix}/{name}")
    return uris


def test_the_xgboost_example_deploys_and_predicts_in_every_content_type(
    module_session: Session,
) -> None:
    from sklearn.datasets import load_diabetes

    from modelyard.xgboost import XGBoost, XGBoostPredictor

    frame = load_diabetes(as_frame=True, scaled=False).frame
    estimator = XGBoost(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "xgboost"),
        framework_version="2.1",
        instance_type="ml.m5.large",
        sagemaker_session=module_session,
        hyperparameters={"num_round": 20, "max_depth": 2, "eta": 0.2},
    )
    estimator.fit(
        _frame_channels(module_session, frame, "e2e/diabetes", ("train", "validation")),
        logs="None",
    )
    rows = frame.drop(columns="target").to_numpy()[:3]
    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.t2.medium", model_server_workers=1
    )
    try:
        assert isinstance(predictor, XGBoostPredictor)
        # sagemaker's XGBoost predictor: libsvm in, CSV out.
        expected = [float(v) for row in predictor.predict(rows) for v in row]
        assert len(expected) == 3
        assert all(25 < value < 346 for value in expected)  # the diabetes target's range
        for serializer, deserializer in (
            (CSVSerializer(), CSVDeserializer()),
            (JSONSerializer(), JSONDeserializer()),
            (NumpySerializer(), NumpyDeserializer()),
            (RecordSerializer(), CSVDeserializer()),
        ):
            predictor.serializer, predictor.deserializer = serializer, deserializer
            answer = predictor.predict(rows)
            values = (
                [float(v) for row in answer for v in row]
                if isinstance(deserializer, CSVDeserializer)
                else [float(v) for v in np.asarray(answer, dtype=float).ravel()]
            )
            assert values == pytest.approx(expected, rel=1e-5), serializer.CONTENT_TYPE
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()
    wait_gone(module_session, predictor.endpoint_name)


def test_the_pytorch_example_deploys_and_predicts_in_every_content_type(
    module_session: Session,
) -> None:
    from sklearn.datasets import load_iris

    from modelyard.pytorch import PyTorch, PyTorchPredictor

    frame = load_iris(as_frame=True).frame
    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "pytorch"),
        framework_version="2.13",
        instance_type="ml.m5.large",
        sagemaker_session=module_session,
        hyperparameters={"epochs": 150, "lr": 0.05, "hidden": 16},
    )
    estimator.fit(
        _frame_channels(module_session, frame, "e2e/torch-iris", ("train", "test")), logs="None"
    )
    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.t2.medium", model_server_workers=1
    )
    try:
        assert isinstance(predictor, PyTorchPredictor)
        logits = predictor.predict(IRIS_ROWS.astype(np.float32))  # NPY in, NPY out
        assert logits.shape == (3, 3)
        assert logits.argmax(axis=1).tolist() == IRIS_LABELS
        for serializer, deserializer, classes in (
            (CSVSerializer(), CSVDeserializer(), lambda a: np.asarray(a, dtype=float)),
            (JSONSerializer(), JSONDeserializer(), np.asarray),
            (JSONLinesSerializer(), JSONLinesDeserializer(), np.asarray),
            (
                RecordSerializer(),
                RecordDeserializer(),
                lambda a: np.asarray([r.features["values"].content.values for r in a]),
            ),
        ):
            predictor.serializer, predictor.deserializer = serializer, deserializer
            data = (
                IRIS_ROWS.tolist()
                if isinstance(serializer, JSONLinesSerializer)
                else IRIS_ROWS.astype(np.float32)
            )
            answer = classes(predictor.predict(data))
            assert answer.argmax(axis=1).tolist() == IRIS_LABELS, serializer.CONTENT_TYPE
            assert answer == pytest.approx(logits, rel=1e-4, abs=1e-4)
    finally:
        predictor.delete_endpoint()
        predictor.delete_model()
    wait_gone(module_session, predictor.endpoint_name)


@pytest.fixture(scope="module")
def two_models(sklearn_estimator: SKLearn, module_session: Session) -> tuple[str, str]:
    """The example's forest, and a much smaller one trained on the same data."""
    stump = SKLearn(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        framework_version="1.5",
        instance_type="ml.m5.large",
        sagemaker_session=module_session,
        hyperparameters={"n_estimators": 1, "max_depth": 1},
    )
    stump.fit(_iris_channels(module_session, "e2e/iris-stump"), logs="None")
    names = []
    for name, estimator in (("forest", sklearn_estimator), ("stump", stump)):
        model = estimator.create_model(model_server_workers=1)
        model.name = name
        model.create(instance_type="ml.t2.medium")
        names.append(name)
    return names[0], names[1]


def test_traffic_splits_70_30_and_a_killed_replica_fails_no_request(
    two_models: tuple[str, str], session: Session
) -> None:
    forest, stump = two_models
    session.endpoint_from_production_variants(
        "split",
        [
            production_variant(forest, "ml.t2.medium", 2, "Seventy", initial_weight=0.7),
            production_variant(stump, "ml.t2.medium", 1, "Thirty", initial_weight=0.3),
        ],
    )
    predictor = Predictor("split", session, CSVSerializer(), JSONDeserializer())
    try:
        served: Counter[str] = Counter()
        for _ in range(1000):
            predictor.predict(IRIS_ROWS[:1])
            served[str(predictor.last_invoked_variant)] += 1
        assert abs(served["Seventy"] / 1000 - 0.7) <= 0.05, served
        assert abs(served["Thirty"] / 1000 - 0.3) <= 0.05, served

        victim = next(
            r for r in session.endpoint_replicas("split") if r["VariantName"] == "Seventy"
        )
        failures: list[str] = []
        answered = [0]
        stop = threading.Event()

        def load() -> None:
            with Session(server_url=session.url, settings=session.settings) as own:
                mine = Predictor("split", own, CSVSerializer(), JSONDeserializer())
                while not stop.is_set():
                    try:
                        mine.predict(IRIS_ROWS[:1], target_variant="Seventy")
                        answered[0] += 1
                    except Exception as exc:
                        failures.append(repr(exc))

        threads = [threading.Thread(target=load) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            os.killpg(int(victim["Pid"]), signal.SIGKILL)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                running = {
                    r["ReplicaId"]
                    for r in session.endpoint_replicas("split")
                    if r["VariantName"] == "Seventy" and r["Status"] == "Running"
                }
                if len(running) == 2 and victim["ReplicaId"] not in running:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("the killed replica was not replaced")
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        assert failures == []
        assert answered[0] > 50
        assert session.describe_endpoint("split")["EndpointStatus"] == "InService"
        invocations = session.endpoint_metrics("split", "Invocations", "Thirty")
        assert sum(p["Value"] for p in invocations) == served["Thirty"]
    finally:
        predictor.delete_endpoint()
    wait_gone(session, "split")


def test_a_shadow_model_is_compared_in_the_report(
    two_models: tuple[str, str], session: Session
) -> None:
    forest, stump = two_models
    session.client.post_json(
        "/endpoint-configs",
        {
            "EndpointConfigName": "shadowed",
            "ProductionVariants": [production_variant(forest, "ml.t2.medium", 1, "Live")],
            "ShadowProductionVariants": [production_variant(stump, "ml.t2.medium", 1, "Candidate")],
        },
    )
    session.create_endpoint("shadowed", "shadowed")
    predictor = Predictor("shadowed", session, CSVSerializer(), JSONDeserializer())
    try:
        rows = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]] * 10)
        for row in rows:
            predictor.predict(row.reshape(1, -1))
            assert predictor.last_invoked_variant == "Live"
        deadline = time.monotonic() + 30
        while session.endpoint_shadow_report("shadowed")["SampledRequests"] < 30:
            assert time.monotonic() < deadline, "the shadow did not get its copies"
            time.sleep(0.1)
        report = session.endpoint_shadow_report("shadowed")
        assert (report["ProductionVariant"], report["ShadowVariant"]) == ("Live", "Candidate")
        assert report["Compared"] == 30
        assert 0 < report["AgreementRate"] < 1  # a one-split stump cannot tell all three apart
        assert report["Production"]["LatencyP50Ms"] > 0
        assert report["Shadow"]["LatencyP99Ms"] > 0
        assert report["Shadow"]["Errors"] == 0
    finally:
        predictor.delete_endpoint()
    wait_gone(session, "shadowed")
