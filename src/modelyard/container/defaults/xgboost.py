"""XGBoost defaults, as SageMaker's XGBoost container serves a model.

``model_fn`` loads ``xgboost-model`` (else the one ``*.json`` / ``*.ubj`` / ``*.bst`` /
``*.model`` / ``*.pkl`` / ``*.joblib`` / ``*.pickle`` file): XGBoost's own formats
first, then a pickle of a ``Booster`` or of a scikit-learn-API model (whose booster is
served, so predictions are the booster's: probabilities for ``binary:logistic``, as
the container answers). ``input_fn`` returns a ``DMatrix`` (dense from CSV, JSON, JSON
Lines, NPY, RecordIO-protobuf; sparse from libsvm); ``predict_fn`` is
``booster.predict``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

from modelyard.container.defaults.common import decode_input, encode_output, single_file

MODEL_NAMES = ("xgboost-model",)
MODEL_SUFFIXES = (".json", ".ubj", ".bst", ".model", ".pkl", ".joblib", ".pickle")


def load_booster(path: str) -> Any:
    """A ``Booster`` from XGBoost's file formats or a pickle (see the module doc)."""
    import xgboost as xgb

    booster = xgb.Booster()
    try:
        booster.load_model(path)
        return booster
    except xgb.core.XGBoostError as native_error:
        try:
            with open(path, "rb") as handle:
                loaded = pickle.load(handle)  # the user's own model artifact
        except Exception as pickle_error:
            raise ValueError(
                f"{path} is neither an XGBoost model file ({native_error}) nor a pickle "
                f"({type(pickle_error).__name__}: {pickle_error})"
            ) from pickle_error
    if isinstance(loaded, xgb.Booster):
        return loaded
    if hasattr(loaded, "get_booster"):
        return loaded.get_booster()
    raise TypeError(f"{path} holds a {type(loaded).__name__}, not an XGBoost model")


def model_fn(model_dir: str) -> Any:
    return load_booster(single_file(model_dir, MODEL_NAMES, MODEL_SUFFIXES))


def input_fn(input_data: str | bytes, content_type: str) -> Any:
    import xgboost as xgb

    data = decode_input(input_data, content_type, numeric=True)
    if hasattr(data, "to_csr"):
        return xgb.DMatrix(data.to_csr())
    if getattr(data, "ndim", 2) == 1:
        data = data.reshape(1, -1)
    return xgb.DMatrix(data)


def predict_fn(data: Any, model: Any) -> Any:
    import xgboost as xgb

    if not isinstance(model, xgb.Booster):
        return model.predict(data)
    if not isinstance(data, xgb.DMatrix):
        data = xgb.DMatrix(data)
    return model.predict(data, validate_features=False)


def handlers(default_accept: str) -> dict[str, Callable[..., Any]]:
    def output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
        return encode_output(prediction, accept, default_accept)

    return {
        "model_fn": model_fn,
        "input_fn": input_fn,
        "predict_fn": predict_fn,
        "output_fn": output_fn,
    }
