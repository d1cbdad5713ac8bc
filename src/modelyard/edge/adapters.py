"""One adapter per framework: load the artifact, predict with it, convert it to ONNX.

Every adapter returns outputs as ``{name: array}`` with the names its ONNX
conversion gives (classifiers: ``label`` and ``probabilities``; regressors:
``variable``; networks: ``output`` or ``output0``, ``output1``...), so the
verification can match them by name. Frameworks are imported lazily: a compile
image has only its own framework installed.

Where a model is found in an extracted ``model.tar.gz``:

=========  ==========================================================================
sklearn    ``model.joblib`` / ``*.joblib`` / ``*.pkl`` / ``*.pickle`` (joblib or pickle)
xgboost    ``xgboost-model`` / ``*.json`` / ``*.ubj`` / ``*.model`` / ``*.bst`` (a Booster),
           or a pickled / joblib ``XGBModel`` or ``Booster``
pytorch    ``*.pt`` / ``*.pth``: TorchScript (``torch.jit.save``), or a whole module
           (``torch.save(model)``; its class importable from the artifact's ``code/``)
onnx       ``*.onnx``
=========  ==========================================================================
"""

from __future__ import annotations

import abc
import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.edge.signature import TensorSpec
from modelyard.edge.targets import Target


class ArtifactError(ValueError):
    """The model artifact cannot be found, loaded or converted (the user's to fix)."""


class Adapter(abc.ABC):
    framework: str
    patterns: tuple[str, ...]

    def find(self, model_dir: Path) -> Path:
        """The model file in ``model_dir`` (first pattern that matches, searched recursively)."""
        for pattern in self.patterns:
            found = sorted(p for p in model_dir.rglob(pattern) if p.is_file())
            found = [p for p in found if "code" not in p.relative_to(model_dir).parts[:-1]]
            if found:
                return found[0]
        raise ArtifactError(
            f"no {self.framework} model in the artifact: looked for "
            f"{', '.join(self.patterns)} (found: {_listing(model_dir)})"
        )

    @abc.abstractmethod
    def load(self, path: Path) -> Any: ...

    def infer_signature(self, model: Any) -> list[TensorSpec]:
        raise ArtifactError(
            f"give the {self.framework} model's input shapes in InputConfig.DataInputConfig, "
            'e.g. {"input": [1, 4]}'
        )

    @abc.abstractmethod
    def predict(self, model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    @abc.abstractmethod
    def to_onnx(self, model: Any, signature: list[TensorSpec], target: Target) -> Any:
        """An ``onnx.ModelProto`` for ``target``."""


def _listing(model_dir: Path) -> str:
    names = [
        p.relative_to(model_dir).as_posix() for p in sorted(model_dir.rglob("*")) if p.is_file()
    ]
    return ", ".join(names[:20]) or "nothing"


def _single_input(signature: list[TensorSpec], framework: str) -> TensorSpec:
    if len(signature) != 1:
        raise ArtifactError(f"a {framework} model takes one input matrix, not {len(signature)}")
    return signature[0]


def dedupe_opsets(model: Any) -> Any:
    """Keep one opset entry per domain (the highest version).

    skl2onnx can write the default domain twice, which onnxruntime's quantizer
    refuses ("Failed to find proper ai.onnx domain").
    """
    import onnx

    best: dict[str, int] = {}
    for entry in model.opset_import:
        best[entry.domain] = max(best.get(entry.domain, 0), entry.version)
    del model.opset_import[:]
    for domain, version in best.items():
        model.opset_import.append(onnx.helper.make_opsetid(domain, version))
    return model


def _load_pickled(path: Path) -> Any:
    try:
        import joblib

        return joblib.load(path)
    except ImportError:
        with path.open("rb") as handle:
            return pickle.load(handle)


class SklearnAdapter(Adapter):
    framework = "sklearn"
    patterns = ("model.joblib", "*.joblib", "*.pkl", "*.pickle")

    def load(self, path: Path) -> Any:
        return _load_pickled(path)

    def infer_signature(self, model: Any) -> list[TensorSpec]:
        count = getattr(model, "n_features_in_", None)
        if count is None:
            return super().infer_signature(model)
        return [TensorSpec("input", (None, int(count)), "float32")]

    def predict(self, model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from sklearn.base import is_classifier

        x = next(iter(sample.values()))
        if is_classifier(model) and hasattr(model, "predict_proba"):
            return {"label": model.predict(x), "probabilities": model.predict_proba(x)}
        return {"variable": np.asarray(model.predict(x)).reshape(len(x), -1)}

    def to_onnx(self, model: Any, signature: list[TensorSpec], target: Target) -> Any:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
        from sklearn.base import is_classifier

        spec = _single_input(signature, self.framework)
        tensor_type = DoubleTensorType if spec.dtype == "float64" else FloatTensorType
        options = {"zipmap": False} if is_classifier(model) else None
        converted = to_onnx(
            model,
            initial_types=[(spec.name, tensor_type(list(spec.shape)))],
            options=options,
            target_opset={"": target.opset, "ai.onnx.ml": target.ml_opset},
        )
        return dedupe_opsets(converted)


class XGBoostAdapter(Adapter):
    framework = "xgboost"
    patterns = ("xgboost-model", "*.json", "*.ubj", "*.model", "*.bst", "*.joblib", "*.pkl")

    def load(self, path: Path) -> Any:
        import xgboost

        if path.suffix not in (".joblib", ".pkl"):
            booster = xgboost.Booster()
            try:
                booster.load_model(str(path))
                return booster
            except xgboost.core.XGBoostError:
                pass  # SageMaker's xgboost container pickles the booster
        return _load_pickled(path)

    @staticmethod
    def _booster(model: Any) -> Any:
        return model if type(model).__name__ == "Booster" else model.get_booster()

    def infer_signature(self, model: Any) -> list[TensorSpec]:
        return [TensorSpec("input", (None, int(self._booster(model).num_features())), "float32")]

    def predict(self, model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import xgboost

        x = next(iter(sample.values()))
        if type(model).__name__ != "Booster":
            if hasattr(model, "predict_proba"):
                return {"label": model.predict(x), "probabilities": model.predict_proba(x)}
            return {"variable": np.asarray(model.predict(x)).reshape(len(x), -1)}
        objective = json.loads(model.save_config())["learner"]["objective"]["name"]
        raw = np.asarray(model.predict(xgboost.DMatrix(x)))
        if objective.startswith("binary:logistic"):
            probabilities = np.stack([1.0 - raw, raw], axis=1)
            return {"label": (raw > 0.5).astype(np.int64), "probabilities": probabilities}
        if objective == "multi:softprob":
            probabilities = raw.reshape(len(x), -1)
            return {"label": probabilities.argmax(axis=1), "probabilities": probabilities}
        if objective.startswith(("reg:", "count:", "survival:")):
            return {"variable": raw.reshape(len(x), -1)}
        raise ArtifactError(f"xgboost objective {objective!r} cannot be compiled to ONNX here")

    def to_onnx(self, model: Any, signature: list[TensorSpec], target: Target) -> Any:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        spec = _single_input(signature, self.framework)
        # onnxmltools supports opsets <= 15 for xgboost: its own default is used.
        return convert_xgboost(
            model, initial_types=[(spec.name, FloatTensorType(list(spec.shape)))]
        )


class PyTorchAdapter(Adapter):
    framework = "pytorch"
    patterns = ("*.pt", "*.pth", "*.torchscript")

    def load(self, path: Path) -> Any:
        import torch

        try:
            model = torch.jit.load(str(path), map_location="cpu")  # type: ignore[no-untyped-call]
        except RuntimeError:
            code_dir = path.parent / "code"
            if code_dir.is_dir() and str(code_dir) not in sys.path:
                sys.path.insert(0, str(code_dir))
            model = torch.load(str(path), map_location="cpu", weights_only=False)
        if isinstance(model, dict):
            raise ArtifactError(
                f"{path.name} holds a state_dict, which needs the model's class to be built: "
                "save the model with torch.jit.save(torch.jit.script(model), ...) or "
                "torch.save(model, ...)"
            )
        model.eval()
        return model

    def predict(self, model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        with torch.no_grad():
            result = model(*(torch.from_numpy(np.ascontiguousarray(v)) for v in sample.values()))
        if isinstance(result, (tuple, list)):
            return {f"output{i}": t.detach().numpy() for i, t in enumerate(result)}
        return {"output": result.detach().numpy()}

    def to_onnx(self, model: Any, signature: list[TensorSpec], target: Target) -> Any:
        import io

        import onnx
        import torch

        examples = tuple(
            torch.zeros(spec.example_shape(2), dtype=getattr(torch, spec.dtype))
            for spec in signature
        )
        with torch.no_grad():
            result = model(*examples)
        count = len(result) if isinstance(result, (tuple, list)) else 1
        outputs = ["output"] if count == 1 else [f"output{i}" for i in range(count)]
        dynamic = {spec.name: {0: "batch"} for spec in signature}
        dynamic.update({name: {0: "batch"} for name in outputs})
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                examples,
                buffer,  # type: ignore[arg-type]
                input_names=[spec.name for spec in signature],
                output_names=outputs,
                dynamic_axes=dynamic,
                opset_version=target.opset,
                dynamo=False,
            )
        return onnx.load_from_string(buffer.getvalue())


class OnnxAdapter(Adapter):
    """An ONNX model compiled again: optimised / quantised, verified against itself."""

    framework = "onnx"
    patterns = ("*.onnx",)

    def load(self, path: Path) -> Any:
        import onnx

        return onnx.load(str(path))

    def infer_signature(self, model: Any) -> list[TensorSpec]:
        specs = []
        for value in model.graph.input:
            tensor = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
            dtype = _ONNX_DTYPES.get(tensor.elem_type, "float32")
            specs.append(TensorSpec(value.name, (None, *dims[1:]), dtype))
        return specs

    def predict(self, model: Any, sample: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from modelyard.edge.optimize import run_onnx

        return run_onnx(model.SerializeToString(), sample)

    def to_onnx(self, model: Any, signature: list[TensorSpec], target: Target) -> Any:
        return model


_ONNX_DTYPES = {1: "float32", 11: "float64", 7: "int64", 6: "int32"}

ADAPTERS: dict[str, Adapter] = {
    adapter.framework: adapter
    for adapter in (SklearnAdapter(), XGBoostAdapter(), PyTorchAdapter(), OnnxAdapter())
}
#: SageMaker's ``InputConfig.Framework`` values (and aliases) -> adapter names.
FRAMEWORK_NAMES = {
    "SKLEARN": "sklearn",
    "SCIKIT-LEARN": "sklearn",
    "XGBOOST": "xgboost",
    "PYTORCH": "pytorch",
    "TORCH": "pytorch",
    "ONNX": "onnx",
}


def get_adapter(framework: str) -> Adapter:
    name = FRAMEWORK_NAMES.get(framework.upper())
    if name is None:
        raise ArtifactError(
            f"framework {framework!r} cannot be compiled: use one of "
            f"{', '.join(sorted(set(FRAMEWORK_NAMES) - {'SCIKIT-LEARN', 'TORCH'}))}"
        )
    return ADAPTERS[name]
