"""Batch transform as a notebook runs it: ``transformer()`` then ``transform()``, no endpoint left.

One control plane (a home of the module) serves every test. The scikit-learn example is
trained through the SDK and its estimator's ``transformer()`` runs over CSV and JSON Lines
(with SageMaker's documented join and filter shapes); an XGBoost model and a scikit-learn
+ XGBoost inference pipeline, fitted in-process, run over RecordIO-protobuf and CSV and
are compared with the same computation done here. Bad input is refused clearly, a job is
stopped, and a 1 GB CSV runs with the server's and the replica's memory flat.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from modelyard.config import Settings
from modelyard.errors import NotFoundError, ValidationError
from modelyard.formats import encode_dense
from modelyard.inputs import TrainingInput
from modelyard.pipeline import PipelineModel
from modelyard.runtime import get_runtime
from modelyard.session import Session
from modelyard.sklearn import SKLearn, SKLearnModel
from modelyard.store import get_store
from modelyard.transformer import Transformer
from modelyard.xgboost import XGBoostModel
from tests.fixtures.e2e_plane import fit_diabetes_pipeline, served_plane, upload_archive

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]]
IRIS_LABELS = [0, 2, 1]
COUNTING_MODEL = """
def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    return "1\\n" * input_data.count("\\n"), "text/csv"
"""
SLOW_MODEL = """
import time


def model_fn(model_dir):
    return None


def transform_fn(model, input_data, content_type, accept):
    time.sleep(0.3)
    return "1\\n", "text/csv"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    home = tmp_path_factory.mktemp("transform-home")
    settings = Settings(home=home, endpoint_stop_grace_s=5.0)
    with served_plane(settings) as url:
        yield url, settings


@pytest.fixture(scope="module")
def session(server: tuple[str, Settings]) -> Iterator[Session]:
    url, settings = server
    with Session(server_url=url, settings=settings) as found:
        yield found


def _transform_replicas(settings: Settings) -> list[psutil.Process]:
    found = []
    for handle in get_runtime(settings).list():
        spec = getattr(handle, "spec", None)
        pid = handle.pid()
        if spec is None or pid is None or not handle.is_running():
            continue
        if spec.labels.get("modelyard.kind") == "transform-replica":
            try:
                root = psutil.Process(pid)
                found += [root, *root.children(recursive=True)]
            except psutil.Error:  # it exited while being listed: nothing of it to count
                continue
    return found


def _upload_text(session: Session, text: str | bytes, key: str) -> str:
    bucket = session.default_bucket()
    data = text.encode() if isinstance(text, str) else text
    session.client.request("PUT", f"/buckets/{bucket}/objects/{key}", content=data)
    return f"s3://{bucket}/{key}"


def _read(session: Session, uri: str) -> bytes:
    return session.read_s3_file(*uri.removeprefix("s3://").split("/", 1)).encode()


def _script_model(session: Session, root: Path, script: str, workers: int) -> SKLearnModel:
    """A model that is only an ``inference.py`` (and an archive with nothing in it)."""
    code = root / "code"
    code.mkdir()
    (code / "inference.py").write_text(script)
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(code / "inference.py", arcname="unused.txt")
    return SKLearnModel(
        model_data=session.upload_data(str(archive), key_prefix=f"e2e/transform/{root.name}"),
        entry_point="inference.py",
        source_dir=str(code),
        framework_version="1.5",
        model_server_workers=workers,
        sagemaker_session=session,
    )


@pytest.fixture(scope="module")
def sklearn_estimator(session: Session) -> SKLearn:
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "train"
        directory.mkdir()
        frame.to_csv(directory / "train.csv", index=False)
        uri = session.upload_data(str(directory), key_prefix="e2e/transform/iris")
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        framework_version="1.5",
        instance_type="ml.m5.large",
        sagemaker_session=session,
        hyperparameters={"n_estimators": 10, "max_depth": 4},
    )
    estimator.fit({"train": TrainingInput(uri, content_type="text/csv")}, logs="None")
    return estimator


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A scaler and a booster fitted in-process on the diabetes data."""
    return fit_diabetes_pipeline(tmp_path_factory.mktemp("artifacts"), rows=40)


def test_the_sklearn_example_transforms_csv_in_input_order(
    session: Session, sklearn_estimator: SKLearn
) -> None:
    rows = IRIS_ROWS * 50
    data = _upload_text(
        session, "".join(",".join(map(str, r)) + "\n" for r in rows), "batch/iris/rows.csv"
    )
    transformer = sklearn_estimator.transformer(
        instance_count=1, instance_type="ml.m5.large", accept="text/csv", assemble_with="Line"
    )
    transformer.transform(
        str(data).rsplit("/", 1)[0], content_type="text/csv", split_type="Line", logs=False
    )

    described = transformer.describe()
    assert described["TransformJobStatus"] == "Completed"
    assert session.wait_for_transform_job(transformer.latest_transform_job) == described
    assert described["ModelName"] == sklearn_estimator.latest_training_job.job_name  # type: ignore[union-attr]
    assert described["TransformProgress"]["RecordsDone"] == len(rows)
    output = _read(session, f"{transformer.output_path}rows.csv.out").decode().split()
    assert [int(float(v)) for v in output] == IRIS_LABELS * 50
    # No endpoint, and no replica, is left running.
    assert session.client.get_json("/endpoints")["Endpoints"] == []


def test_join_and_filters_give_sagemakers_documented_shapes(
    session: Session, sklearn_estimator: SKLearn
) -> None:
    transformer = sklearn_estimator.transformer(
        instance_count=1, instance_type="ml.m5.large", accept="text/csv", assemble_with="Line"
    )
    csv_rows = "".join(f"{i}," + ",".join(map(str, r)) + "\n" for i, r in enumerate(IRIS_ROWS))
    data = _upload_text(session, csv_rows, "batch/csv-join/rows.csv")
    transformer.transform(
        data,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        logs=False,
    )
    joined = _read(session, f"{transformer.output_path}rows.csv.out").decode().split()
    assert [line.split(",") for line in joined] == [
        [str(i), str(label)] for i, label in enumerate(IRIS_LABELS)
    ]

    lines = "".join(
        json.dumps({"id": f"r{i}", "features": r}) + "\n" for i, r in enumerate(IRIS_ROWS)
    )
    data = _upload_text(session, lines, "batch/json-join/rows.jsonl")
    json_transformer = sklearn_estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        accept="application/jsonlines",
        assemble_with="Line",
    )
    json_transformer.transform(
        data,
        content_type="application/jsonlines",
        split_type="Line",
        input_filter="$.features",
        join_source="Input",
        output_filter="$['id','SageMakerOutput']",
        logs=False,
    )
    answers = _read(session, f"{json_transformer.output_path}rows.jsonl.out").decode().split("\n")
    parsed = [json.loads(line) for line in answers if line]
    assert [p["id"] for p in parsed] == ["r0", "r1", "r2"]
    assert [int(float(np.ravel(p["SageMakerOutput"])[0])) for p in parsed] == IRIS_LABELS
    assert all(set(p) == {"id", "SageMakerOutput"} for p in parsed)


def test_an_xgboost_model_transforms_recordio_protobuf(
    session: Session, fitted: dict[str, Any]
) -> None:
    import xgboost as xgb

    scaled = fitted["scaler"].transform(fitted["rows"]).astype(np.float32)
    model = XGBoostModel(
        model_data=upload_archive(session, fitted["root"] / "xgb", "e2e/transform/xgb"),
        framework_version="2.1",
        sagemaker_session=session,
    )
    data = _upload_text(session, encode_dense(scaled), "batch/protobuf/rows.pbr")
    transformer = model.transformer(1, "ml.m5.large", accept="text/csv", assemble_with="Line")
    transformer.transform(
        data,
        content_type="application/x-recordio-protobuf",
        split_type="RecordIO",
        logs=False,
    )

    output = _read(session, f"{transformer.output_path}rows.pbr.out").decode().split()
    expected = fitted["booster"].predict(xgb.DMatrix(scaled))
    np.testing.assert_allclose([float(v) for v in output], expected, rtol=1e-4)


def test_an_inference_pipeline_runs_in_batch(session: Session, fitted: dict[str, Any]) -> None:
    import xgboost as xgb

    preprocessor = SKLearnModel(
        model_data=upload_archive(session, fitted["root"] / "pre", "e2e/transform/pre"),
        entry_point="preprocessor.py",
        source_dir=str(EXAMPLES / "inference_pipeline"),
        framework_version="1.5",
        model_server_workers=1,
        env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"},
        sagemaker_session=session,
    )
    booster = XGBoostModel(
        model_data=upload_archive(session, fitted["root"] / "xgb", "e2e/transform/xgb-pipe"),
        framework_version="2.1",
        model_server_workers=1,
        sagemaker_session=session,
    )
    pipeline = PipelineModel(models=[preprocessor, booster], sagemaker_session=session)
    rows = fitted["rows"]
    data = _upload_text(
        session, "".join(",".join(map(str, r.tolist())) + "\n" for r in rows), "batch/pipe/rows.csv"
    )
    transformer = pipeline.transformer(1, "ml.m5.large", accept="text/csv", assemble_with="Line")
    transformer.transform(data, content_type="text/csv", split_type="Line", logs=False)

    output = _read(session, f"{transformer.output_path}rows.csv.out").decode().split()
    expected = fitted["booster"].predict(xgb.DMatrix(fitted["scaler"].transform(rows)))
    np.testing.assert_allclose([float(v) for v in output], expected, rtol=1e-4)


def test_bad_input_is_refused_clearly(session: Session, sklearn_estimator: SKLearn) -> None:
    data = _upload_text(session, "1,2,3,4\n", "batch/bad/rows.csv")
    missing = Transformer(
        "no-such-model", 1, "ml.m5.large", base_transform_job_name="bad", sagemaker_session=session
    )
    with pytest.raises(ValidationError, match="no-such-model") as caught:
        missing.transform(data, content_type="text/csv")
    assert caught.value.field == "ModelName"

    transformer = sklearn_estimator.transformer(1, "ml.m5.large")
    with pytest.raises(ValidationError, match="no objects") as caught:
        transformer.transform(f"s3://{session.default_bucket()}/batch/nothing-here/")
    assert caught.value.field == "TransformInput.DataSource.S3DataSource.S3Uri"

    big = _upload_text(session, "1.0," * (2**20 // 4 + 8) + "1.0\n", "batch/big/rows.csv")
    limited = sklearn_estimator.transformer(1, "ml.m5.large", max_payload=1)
    with pytest.raises(Exception, match=r"rows\.csv record 0.*MaxPayloadInMB=1"):
        limited.transform(big, content_type="text/csv", split_type="Line", logs=False)


def test_a_job_is_stopped_through_the_sdk(
    session: Session, server: tuple[str, Settings], tmp_path: Path
) -> None:
    model = _script_model(session, tmp_path, SLOW_MODEL, workers=1)
    data = _upload_text(session, "1\n" * 500, "batch/slow/rows.csv")
    transformer = model.transformer(1, "ml.m5.large", strategy="SingleRecord")
    transformer.transform(data, content_type="text/csv", split_type="Line", wait=False)
    deadline = time.monotonic() + 120
    while (transformer.describe().get("TransformProgress") or {}).get("RecordsDone", 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    transformer.stop_transform_job()

    assert transformer.describe()["TransformJobStatus"] == "Stopped"
    output = f"{transformer.output_path}rows.csv.out".removeprefix("s3://").split("/", 1)
    with pytest.raises(NotFoundError):
        get_store(server[1]).head_object(*output)


class PeakMemory:
    """Samples the resident memory of this process (the server) and of the replicas."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = 0
        self.replica = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.05):
            self.server = max(self.server, me.memory_info().rss)
            total = 0
            for process in _transform_replicas(self.settings):
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.replica = max(self.replica, total)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def test_a_1_gb_csv_runs_with_flat_memory(
    session: Session, server: tuple[str, Settings], tmp_path: Path
) -> None:
    settings = server[1]
    block = ("0.5,1.25,2.0,3.5,4.75,5.0,6.25,7.5\n" * 30_000).encode()
    lines_per_block = 30_000
    store = get_store(settings)
    bucket = session.default_bucket()

    def write(key: str, blocks: int) -> str:
        chunks = (block for _ in range(blocks))

        class Reader:
            def read(self, size: int = -1) -> bytes:
                return next(chunks, b"")

        store.put_object(bucket, key, Reader())  # type: ignore[arg-type]
        return f"s3://{bucket}/{key}"

    small = write("batch/memory/small/rows.csv", 16)
    large = write("batch/memory/large/rows.csv", 1024 * 2**20 // len(block) + 1)
    model = _script_model(session, tmp_path, COUNTING_MODEL, workers=2)
    transformer = model.transformer(1, "ml.m5.large", assemble_with="None")
    peaks = {}
    try:
        for name, data in (("small", small), ("large", large)):
            with PeakMemory(settings) as peak:
                transformer.transform(data, content_type="text/csv", split_type="Line", logs=False)
            peaks[name] = peak
            described = transformer.describe()
            assert described["TransformJobStatus"] == "Completed"
    finally:
        store.delete_object(bucket, large.removeprefix(f"s3://{bucket}/"))  # 1 GB of disk
    records = described["TransformProgress"]["RecordsDone"]
    assert records == (1024 * 2**20 // len(block) + 1) * lines_per_block
    output = f"{transformer.output_path}rows.csv.out".removeprefix(f"s3://{bucket}/")
    assert store.head_object(bucket, output).size == 2 * records

    grown_server = peaks["large"].server - peaks["small"].server
    grown_replica = peaks["large"].replica - peaks["small"].replica
    assert grown_server < 64 * 2**20, f"the server grew by {grown_server / 2**20:.0f} MB"
    assert grown_replica < 64 * 2**20, f"the replica grew by {grown_replica / 2**20:.0f} MB"
