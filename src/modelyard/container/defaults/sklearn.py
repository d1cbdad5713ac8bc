"""scikit-learn defaults, as SageMaker's scikit-learn container serves a model.

``model_fn`` loads ``model.joblib`` (else ``model.pkl``, else the one ``*.joblib`` /
``*.pkl`` / ``*.pickle`` file) with joblib; ``predict_fn`` is ``model.predict``; any
content type of the registry in and out. CSV cells may be strings (a pipeline can
encode them); libsvm bodies become a SciPy CSR matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelyard.container.defaults.common import decode_input, encode_output, single_file

MODEL_NAMES = ("model.joblib", "model.pkl")
MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")


def model_fn(model_dir: str) -> Any:
    import joblib

    return joblib.load(single_file(model_dir, MODEL_NAMES, MODEL_SUFFIXES))


def input_fn(input_data: str | bytes, content_type: str) -> Any:
    data = decode_input(input_data, content_type, numeric=False)
    return data.to_csr() if hasattr(data, "to_csr") else data


def predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def handlers(default_accept: str) -> dict[str, Callable[..., Any]]:
    def output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
        return encode_output(prediction, accept, default_accept)

    return {
        "model_fn": model_fn,
        "input_fn": input_fn,
        "predict_fn": predict_fn,
        "output_fn": output_fn,
    }
