"""Small example models of each framework, saved as their artifacts are (shared by edge tests)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np


def iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return x.astype(np.float32), y


def sklearn_model(model_dir: Path, kind: str = "logistic") -> np.ndarray:
    """Fit on iris and save ``model.joblib``; returns the features (the sample)."""
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    x, y = iris()
    estimator = {
        "logistic": LogisticRegression(max_iter=500),
        "forest": RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0),
        "mlp": MLPClassifier(hidden_layer_sizes=(32,), max_iter=800, random_state=0),
    }[kind]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's deprecations seen through scikit-learn
        estimator.fit(x, y)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(estimator, model_dir / "model.joblib")
    return x


def xgboost_model(model_dir: Path) -> np.ndarray:
    """An XGBoost Booster on breast cancer, saved as SageMaker's ``xgboost-model`` (JSON)."""
    import xgboost
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype(np.float32)
    booster = xgboost.train(
        {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3},
        xgboost.DMatrix(x, label=y),
        num_boost_round=20,
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / "xgboost-model.json"))
    (model_dir / "xgboost-model.json").rename(model_dir / "xgboost-model")
    return np.asarray(x, dtype=np.float32)


def torch_model(model_dir: Path) -> np.ndarray:
    """A small MLP trained briefly on iris, saved whole (``torch.save``) as ``model.pth``."""
    import torch

    torch.manual_seed(0)
    x, y = iris()
    net = torch.nn.Sequential(
        torch.nn.Linear(4, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 3),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    features, labels = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(200):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(features), labels)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    net.eval()
    model_dir.mkdir(parents=True, exist_ok=True)
    torch.save(net, str(model_dir / "model.pth"))
    return x
