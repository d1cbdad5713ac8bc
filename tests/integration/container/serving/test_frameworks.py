"""XGBoost (xgboost:2.1) and PyTorch (pytorch:2.13) models served by their defaults."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from modelyard.formats import decode_to_numpy, encode_dense, write_libsvm, write_npy

from .conftest import Replica, StartReplica, run_in_image

# xgboost:2.1 has no scikit-learn: the data set is a scikit-learn one, written here.
XGB_TRAIN = """
import numpy as np, xgboost as xgb
data = np.load("data.npz")
booster = xgb.train(
    {"objective": "binary:logistic", "max_depth": 3},
    xgb.DMatrix(data["X"], label=data["y"]),
    num_boost_round=20,
)
open("model/xgboost-model", "wb").write(booster.save_raw("ubj"))
"""

TORCH_TRAIN = """
import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
X = torch.tensor([[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]] * 10)
y = torch.tensor([0, 2, 1] * 10)
optimiser = torch.optim.Adam(model.parameters(), lr=0.05)
for _ in range(300):
    optimiser.zero_grad()
    torch.nn.functional.cross_entropy(model(X), y).backward()
    optimiser.step()
model.eval()
torch.jit.save(torch.jit.script(model), "model/model.pth")
"""

IRIS = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]])


def _csv(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    features, labels = load_breast_cancer(return_X_y=True)
    return features, labels


@pytest.fixture(scope="module")
def xgb_replica(
    image_python: Callable[[str, str], Path],
    module_replica: StartReplica,
    tmp_path_factory: pytest.TempPathFactory,
    cancer: tuple[np.ndarray, np.ndarray],
) -> Replica:
    base = tmp_path_factory.mktemp("xgboost")
    (base / "model").mkdir()
    np.savez(base / "data.npz", X=cancer[0], y=cancer[1])
    python = image_python("xgboost", "2.1")
    run_in_image(python, XGB_TRAIN, base)
    return module_replica(python, base)


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv",
        "text/libsvm",
        "application/x-recordio-protobuf",
        "application/json",
        "application/jsonlines",
        "application/x-npy",
    ],
)
def test_xgboost_every_content_type_in(
    xgb_replica: Replica, cancer: tuple[np.ndarray, np.ndarray], content_type: str
) -> None:
    rows, labels = cancer[0][:20], cancer[1][:20]
    body = {
        "text/csv": _csv(rows),
        "text/libsvm": write_libsvm(rows),
        "application/x-recordio-protobuf": encode_dense(rows.astype(np.float32)),
        "application/json": json.dumps(rows.tolist()).encode(),
        "application/jsonlines": b"".join(json.dumps(r).encode() + b"\n" for r in rows.tolist()),
        "application/x-npy": write_npy(rows),
    }[content_type]
    reply = xgb_replica.invoke(body, content_type)
    assert reply.status == 200, reply.body
    scores = np.array(json.loads(reply.body))
    assert scores.shape == (20,)
    assert ((scores > 0.5) == labels).mean() >= 0.9


def test_xgboost_outputs(xgb_replica: Replica, cancer: tuple[np.ndarray, np.ndarray]) -> None:
    rows = cancer[0][:5]
    as_json = np.array(json.loads(xgb_replica.invoke(_csv(rows), "text/csv").body))
    as_csv = xgb_replica.invoke(_csv(rows), "text/csv", "text/csv")
    assert as_csv.headers["content-type"] == "text/csv"
    np.testing.assert_allclose([float(x) for x in as_csv.body.split()], as_json, rtol=1e-6)
    proto = xgb_replica.invoke(_csv(rows), "text/csv", "application/x-recordio-protobuf")
    np.testing.assert_allclose(decode_to_numpy(proto.body)[0].ravel(), as_json, rtol=1e-6)
    npy = xgb_replica.invoke(_csv(rows), "text/csv", "application/x-npy")
    np.testing.assert_allclose(np.load(io.BytesIO(npy.body)), as_json, rtol=1e-6)


def test_xgboost_non_numeric_csv_is_400(xgb_replica: Replica) -> None:
    reply = xgb_replica.invoke(b"1,abc,3\n", "text/csv")
    assert reply.status == 400
    assert json.loads(reply.body)["error"]["code"] == "InvalidInput"


@pytest.fixture(scope="module")
def torch_replica(
    image_python: Callable[[str, str], Path],
    module_replica: StartReplica,
    tmp_path_factory: pytest.TempPathFactory,
) -> Replica:
    base = tmp_path_factory.mktemp("pytorch")
    (base / "model").mkdir()
    python = image_python("pytorch", "2.13")
    run_in_image(python, TORCH_TRAIN, base)
    return module_replica(python, base)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (_csv(IRIS), "text/csv"),
        (json.dumps(IRIS.tolist()).encode(), "application/json"),
        (json.dumps({"inputs": IRIS.tolist()}).encode(), "application/json"),
        (b"".join(json.dumps(r).encode() + b"\n" for r in IRIS.tolist()), "application/jsonlines"),
        (write_npy(IRIS.astype(np.float32)), "application/x-npy"),
        (write_npy(IRIS), "application/x-npy"),
        (encode_dense(IRIS.astype(np.float32)), "application/x-recordio-protobuf"),
    ],
)
def test_pytorch_every_content_type_in(
    torch_replica: Replica, body: bytes, content_type: str
) -> None:
    reply = torch_replica.invoke(body, content_type)
    assert reply.status == 200, reply.body
    logits = np.array(json.loads(reply.body))
    assert logits.shape == (3, 3)
    assert logits.argmax(axis=1).tolist() == [0, 2, 1]


def test_pytorch_outputs(torch_replica: Replica) -> None:
    as_json = np.array(json.loads(torch_replica.invoke(_csv(IRIS), "text/csv").body))
    npy = torch_replica.invoke(_csv(IRIS), "text/csv", "application/x-npy")
    assert npy.headers["content-type"] == "application/x-npy"
    array = np.load(io.BytesIO(npy.body))
    assert array.dtype == np.float32
    np.testing.assert_allclose(array, as_json, rtol=1e-6)
    csv = torch_replica.invoke(_csv(IRIS), "text/csv", "text/csv")
    assert len(csv.body.decode().splitlines()) == 3
    lines = torch_replica.invoke(_csv(IRIS), "text/csv", "application/jsonlines")
    assert len(lines.body.splitlines()) == 3
