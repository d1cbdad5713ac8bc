"""PyTorch defaults, as SageMaker's PyTorch container serves a model.

``model_fn`` loads ``model.pth`` (else ``model.pt``, else the one ``*.pth`` / ``*.pt``
file) as TorchScript with ``torch.jit.load``, else as a whole pickled ``nn.Module``
(``torch.load(weights_only=False)``: the user's own artifact); a bare ``state_dict``
needs the user's ``model_fn`` to build the module. The model is put in eval mode on
the CPU (or the first GPU when there is one). ``input_fn`` makes a tensor from the
body (float32 for JSON, CSV and float64 arrays; other NPY dtypes kept), ``predict_fn`` calls
the model under ``torch.no_grad()``, ``output_fn`` writes the tensor as an array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelyard.container.defaults.common import decode_input, encode_output, single_file

MODEL_NAMES = ("model.pth", "model.pt")
MODEL_SUFFIXES = (".pth", ".pt")
_UTF8_TYPES = ("application/json", "text/csv")


def _device() -> Any:
    import torch

    return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def model_fn(model_dir: str) -> Any:
    import torch

    path = single_file(model_dir, MODEL_NAMES, MODEL_SUFFIXES)
    device = _device()
    try:
        model = torch.jit.load(path, map_location=device)  # type: ignore[no-untyped-call]
    except Exception as script_error:
        loaded = torch.load(path, map_location=device, weights_only=False)
        if isinstance(loaded, dict):
            raise TypeError(
                f"{path} holds a state_dict, not a model: save it with torch.jit.save "
                "(TorchScript) or torch.save(model), or define model_fn in "
                "code/inference.py to build the module and load the weights"
            ) from script_error
        if not isinstance(loaded, torch.nn.Module):
            raise TypeError(
                f"{path} holds a {type(loaded).__name__}, not a torch.nn.Module"
            ) from script_error
        model = loaded
    model.eval()
    return model


def input_fn(input_data: str | bytes, content_type: str) -> Any:
    import numpy as np
    import torch

    data = decode_input(input_data, content_type, numeric=True)
    if hasattr(data, "to_dense"):
        data = data.to_dense()
    array = np.ascontiguousarray(data)
    if content_type.split(";", 1)[0].strip().lower() in _UTF8_TYPES or array.dtype == np.float64:
        array = array.astype(np.float32, copy=False)
    return torch.from_numpy(array).to(_device())


def predict_fn(data: Any, model: Any) -> Any:
    import torch

    if not torch.is_tensor(data):
        data = torch.as_tensor(data, device=_device())
    with torch.no_grad():
        return model(data)


def to_numpy(prediction: Any) -> Any:
    import torch

    if torch.is_tensor(prediction):
        return prediction.detach().cpu().numpy()
    if isinstance(prediction, tuple | list) and prediction and torch.is_tensor(prediction[0]):
        return [p.detach().cpu().numpy() for p in prediction]
    return prediction


def handlers(default_accept: str) -> dict[str, Callable[..., Any]]:
    def output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
        return encode_output(to_numpy(prediction), accept, default_accept)

    return {
        "model_fn": model_fn,
        "input_fn": input_fn,
        "predict_fn": predict_fn,
        "output_fn": output_fn,
    }
