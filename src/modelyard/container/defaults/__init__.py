"""Framework defaults for the handlers ``inference.py`` leaves out.

Which framework: ``SAGEMAKER_FRAMEWORK`` / ``MODELYARD_FRAMEWORK`` when set; else the
model directory's files (``xgboost-model``, ``*.bst``, ``*.ubj`` -> XGBoost;
``model.pth``, ``*.pt(h)`` -> PyTorch; ``*.joblib`` -> scikit-learn); else the one
framework installed in the image. With none, the generic defaults decode and encode
bodies the same way, predict with ``model.predict`` (or ``model(data)``), and have no
``model_fn``: the user's ``inference.py`` must load the model.

Each framework module is imported only when chosen, and imports its framework only
when a handler runs, so the toolkit imports without any of them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any, Final

from modelyard.container.defaults.common import decode_input, encode_output

__all__ = ["FRAMEWORKS", "detect_framework", "framework_handlers"]

FRAMEWORKS: Final = ("sklearn", "xgboost", "pytorch")
_MODULES: Final = {"sklearn": "sklearn", "xgboost": "xgboost", "pytorch": "torch"}
_FILE_HINTS: Final = (
    ("xgboost", ("xgboost-model",), (".bst", ".ubj")),
    ("pytorch", ("model.pth", "model.pt"), (".pth", ".pt")),
    ("sklearn", ("model.joblib",), (".joblib",)),
)


def detect_framework(model_dir: str) -> str | None:
    """The framework the model directory's files (else the image's packages) point to."""
    try:
        entries = [e for e in os.listdir(model_dir) if os.path.isfile(os.path.join(model_dir, e))]
    except OSError:
        entries = []
    hinted = {
        framework
        for framework, names, suffixes in _FILE_HINTS
        if any(e in names or e.endswith(suffixes) for e in entries)
    }
    if len(hinted) == 1:
        return hinted.pop()
    installed = [f for f in FRAMEWORKS if importlib.util.find_spec(_MODULES[f]) is not None]
    candidates = [f for f in installed if not hinted or f in hinted]
    return candidates[0] if len(candidates) == 1 else None


def _generic_model_fn(model_dir: str) -> Any:
    raise RuntimeError(
        "no model_fn in code/inference.py and no framework to load the model with: set "
        "SAGEMAKER_FRAMEWORK (sklearn, xgboost or pytorch) or define model_fn"
    )


def _generic_input_fn(input_data: str | bytes, content_type: str) -> Any:
    return decode_input(input_data, content_type, numeric=False)


def _generic_predict_fn(data: Any, model: Any) -> Any:
    predict = getattr(model, "predict", None)
    return predict(data) if callable(predict) else model(data)


def framework_handlers(
    framework: str | None, default_accept: str
) -> tuple[dict[str, Callable[..., Any]], str]:
    """``(handlers by name, a name for the log)`` of a framework (None: the generic ones)."""
    if framework is not None:
        module = importlib.import_module(f"modelyard.container.defaults.{framework}")
        made: dict[str, Callable[..., Any]] = module.handlers(default_accept)
        return made, framework

    def output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
        return encode_output(prediction, accept, default_accept)

    generic: dict[str, Callable[..., Any]] = {
        "model_fn": _generic_model_fn,
        "input_fn": _generic_input_fn,
        "predict_fn": _generic_predict_fn,
        "output_fn": output_fn,
    }
    return generic, "generic"
