"""XGBoost as a built-in algorithm: the xgboost:2.1 image with no script.

scikit-learn's diabetes data (regression), written in each content type the algorithm
takes, with a ``validation`` channel; the per-round evaluation lines become the
``train:rmse`` / ``validation:rmse`` metrics, and the model loads with xgboost and
predicts better than the mean does.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import xgboost as xgb
from numpy.typing import NDArray
from sklearn.datasets import load_diabetes

import modelyard
from modelyard import formats, image_uris
from modelyard.estimator import Estimator
from modelyard.inputs import TrainingInput

from .conftest import BUCKET, Plane

IMAGE = "xgboost:2.1"
HYPERPARAMETERS = {
    "num_round": "25",
    "objective": "reg:squarederror",
    "max_depth": "3",
    "eta": "0.2",
    "subsample": "0.9",
    "eval_metric": "rmse,mae",
    "seed": "7",
}
Split = tuple[NDArray[np.float64], NDArray[np.float64]]


def _diabetes() -> tuple[Split, Split]:
    features, labels = load_diabetes(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(labels))
    train, validation = order[:340], order[340:]
    return (features[train], labels[train]), (features[validation], labels[validation])


def _csv(features: NDArray[Any], labels: NDArray[Any]) -> bytes:
    return formats.write_csv(np.column_stack([labels, features]))


WRITERS: dict[str, Callable[[NDArray[Any], NDArray[Any]], bytes]] = {
    "text/csv": _csv,
    "text/libsvm": lambda x, y: formats.write_libsvm(x, y),
    "application/x-parquet": lambda x, y: formats.write_parquet(np.column_stack([y, x])),
    "application/x-recordio-protobuf": lambda x, y: formats.encode_dense(
        x.astype(np.float32), y.astype(np.float32)
    ),
}


@pytest.fixture
def xgb_plane(plane: Plane) -> Plane:
    image = plane.services.images.framework_image("xgboost", "2.1")
    assert image == IMAGE
    plane.services.images.build(image, wait=True)
    return plane


def _upload(plane: Plane, prefix: str, content_type: str) -> dict[str, str]:
    write = WRITERS[content_type]
    uris = {}
    for channel, (features, labels) in zip(("train", "validation"), _diabetes(), strict=True):
        uris[channel] = plane.put(f"{prefix}/{channel}/part-0", write(features, labels))
    return uris


def _channel(name: str, uri: str, content_type: str, mode: str | None = None) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "ContentType": content_type,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
    }
    if mode:
        channel["InputMode"] = mode
    return channel


def _body(name: str, channels: list[dict[str, Any]], hyperparameters: dict[str, str]) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": hyperparameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _booster(plane: Plane, name: str) -> xgb.Booster:
    data = plane.services.store.get_object(BUCKET, f"output/{name}/output/model.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert archive.getnames() == ["xgboost-model"]
        member = archive.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    return booster


def _assert_trained(plane: Plane, described: dict[str, Any]) -> None:
    name = described["TrainingJobName"]
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert {"train:rmse", "train:mae", "validation:rmse", "validation:mae"} <= set(final)
    series = plane.client.get_json(f"/training-jobs/{name}/metrics")["Metrics"]
    rounds = [p for p in series if p["MetricName"] == "validation:rmse"]
    assert len(rounds) == 25
    assert rounds[-1]["Value"] < rounds[0]["Value"]
    _, (features, labels) = _diabetes()
    predictions = _booster(plane, name).predict(xgb.DMatrix(features))
    rmse = float(np.sqrt(np.mean((predictions - labels) ** 2)))
    assert rmse == pytest.approx(final["validation:rmse"], rel=1e-3)
    assert rmse < 0.9 * float(np.std(labels))  # better than predicting the mean


@pytest.mark.parametrize(
    "content_type", ["text/libsvm", "application/x-parquet", "application/x-recordio-protobuf"]
)
def test_the_builtin_algorithm_trains_on_each_content_type(
    xgb_plane: Plane, content_type: str
) -> None:
    slug = content_type.rsplit("/", 1)[-1].replace("x-", "")
    uris = _upload(xgb_plane, f"data/{slug}", content_type)
    channels = [_channel(name, uri, content_type) for name, uri in uris.items()]
    xgb_plane.create(_body(f"xgb-{slug}", channels, HYPERPARAMETERS))
    _assert_trained(xgb_plane, xgb_plane.wait(f"xgb-{slug}", timeout_s=120))


@pytest.fixture
def session(xgb_plane: Plane) -> Iterator[modelyard.Session]:
    with modelyard.Session(
        server_url=xgb_plane.client.base_url, settings=xgb_plane.services.settings
    ) as found:
        yield found


def test_a_sagemaker_notebook_trains_the_builtin_algorithm_on_csv(
    xgb_plane: Plane, session: modelyard.Session
) -> None:
    uris = _upload(xgb_plane, "data/csv", "text/csv")
    image = image_uris.retrieve("xgboost", "us-east-1", "2.1")
    estimator = Estimator(
        image_uri=image,
        role="SageMakerRole",
        instance_count=1,
        instance_type="ml.m5.large",
        output_path=f"s3://{BUCKET}/output",
        hyperparameters=HYPERPARAMETERS,
        sagemaker_session=session,
    )
    estimator.fit(
        {name: TrainingInput(uri, content_type="text/csv") for name, uri in uris.items()},
        logs="None",
    )
    described = estimator.describe()
    _assert_trained(xgb_plane, described)
    log = xgb_plane.logs(described["TrainingJobName"])
    assert "[24]\ttrain-rmse:" in log  # XGBoost's own line; CloudWatch would show #011


def test_csv_in_pipe_mode(xgb_plane: Plane) -> None:
    uris = _upload(xgb_plane, "data/pipe-csv", "text/csv")
    channels = [_channel(name, uri, "text/csv", "Pipe") for name, uri in uris.items()]
    xgb_plane.create(_body("xgb-pipe", channels, HYPERPARAMETERS))
    _assert_trained(xgb_plane, xgb_plane.wait("xgb-pipe", timeout_s=120))


@pytest.mark.parametrize(
    ("name", "hyperparameters", "content_type", "mode", "reason"),
    [
        (
            "xgb-unknown-hp",
            {"num_round": "5", "colour": "blue"},
            "text/csv",
            None,
            "ClientError: Hyperparameter colour: not a hyperparameter of the XGBoost algorithm",
        ),
        (
            "xgb-no-rounds",
            {"eta": "0.1"},
            "text/csv",
            None,
            "ClientError: Hyperparameter num_round is required",
        ),
        (
            "xgb-bad-range",
            {"num_round": "5", "subsample": "1.5"},
            "text/csv",
            None,
            "ClientError: Hyperparameter subsample: 1.5 is out of range (0, 1]",
        ),
        (
            "xgb-libsvm-pipe",
            {"num_round": "5"},
            "text/libsvm",
            "Pipe",
            "ClientError: channel 'train': text/libsvm is not supported in Pipe mode",
        ),
    ],
)
def test_bad_requests_fail_with_a_clear_reason(
    xgb_plane: Plane,
    name: str,
    hyperparameters: dict[str, str],
    content_type: str,
    mode: str | None,
    reason: str,
) -> None:
    uri = xgb_plane.put(f"data/{name}/train.txt", b"1,2,3\n4,5,6\n")
    xgb_plane.create(_body(name, [_channel("train", uri, content_type, mode)], hyperparameters))
    described = xgb_plane.wait(name, timeout_s=120)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(f"AlgorithmError: {reason}"), described
    assert described["FailureReason"].endswith(", exit code: 1")


def test_image_uris_retrieve_names_modelyards_framework_images() -> None:
    assert image_uris.retrieve("xgboost", "us-west-2", "1.7-1") == "xgboost:1.7-1"
    assert image_uris.retrieve("xgboost", version="1.7") == "xgboost:1.7-1"
    with pytest.raises(ValueError, match=r"Unsupported xgboost version: 9\.9"):
        image_uris.retrieve("xgboost", "us-west-2", "9.9")
