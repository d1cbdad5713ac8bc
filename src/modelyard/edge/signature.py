"""Input signatures: the names, shapes and dtypes a compiled model takes.

SageMaker's ``InputConfig.DataInputConfig`` is a JSON text of input shapes,
``{"input0": [1, 3, 224, 224]}`` (or a list of shapes for unnamed inputs). We
accept that and a richer form, ``{"input": {"shape": [null, 4], "dtype":
"float32"}}``. The first dimension is always the batch: it is made dynamic in the
compiled model (``None``), whatever number the request gives. Standard library and
numpy only: this also runs inside compile images and its dict form is what the
edge package's manifest records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Dtypes a compiled model's inputs may have.
DTYPES = ("float32", "float64", "int64", "int32")
DEFAULT_INPUT_NAME = "input"


class SignatureError(ValueError):
    """``DataInputConfig`` or a sample does not describe the model's inputs."""


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, shape (``None`` = any size) and dtype."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "Shape": list(self.shape), "Dtype": self.dtype}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(
            name=str(data["Name"]),
            shape=tuple(None if d is None else int(d) for d in data["Shape"]),
            dtype=str(data.get("Dtype", "float32")),
        )

    def example_shape(self, batch: int) -> tuple[int, ...]:
        """A concrete shape with ``batch`` rows (other free dimensions become 1)."""
        return (batch, *(1 if d is None else d for d in self.shape[1:]))


def parse_data_input_config(config: str | dict[str, Any] | list[Any] | None) -> list[TensorSpec]:
    """The input signature of ``DataInputConfig`` (see the module doc); ``[]`` if none."""
    if config is None or config == "":
        return []
    data: Any = config
    if isinstance(config, str):
        try:
            data = json.loads(config)
        except json.JSONDecodeError as exc:
            raise SignatureError(f"DataInputConfig is not JSON: {exc}") from exc
    if isinstance(data, list):
        if data and all(isinstance(d, int) for d in data):
            data = [data]  # one unnamed shape
        names = [DEFAULT_INPUT_NAME] if len(data) == 1 else [f"input{i}" for i in range(len(data))]
        return [_spec(name, shape) for name, shape in zip(names, data, strict=True)]
    if not isinstance(data, dict) or not data:
        raise SignatureError(
            'DataInputConfig must map input names to shapes, e.g. {"input": [1, 4]}'
        )
    return [_spec(str(name), value) for name, value in data.items()]


def _spec(name: str, value: Any) -> TensorSpec:
    dtype = "float32"
    shape = value
    if isinstance(value, dict):
        shape = value.get("shape", value.get("Shape"))
        dtype = str(value.get("dtype", value.get("Dtype", "float32")))
    if dtype not in DTYPES:
        raise SignatureError(f"input {name!r}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not isinstance(shape, list) or not shape:
        raise SignatureError(f"input {name!r}: the shape must be a non-empty list, got {shape!r}")
    dims: list[int | None] = [None]
    for dim in shape[1:]:
        if dim is None or (isinstance(dim, int) and dim < 0):
            dims.append(None)
        elif isinstance(dim, int) and dim > 0:
            dims.append(dim)
        else:
            raise SignatureError(f"input {name!r}: {dim!r} is not a dimension")
    return TensorSpec(name=name, shape=tuple(dims), dtype=dtype)


def check_sample(signature: list[TensorSpec], sample: dict[str, np.ndarray]) -> None:
    """Raise unless ``sample`` has every input with a compatible shape."""
    for spec in signature:
        if spec.name not in sample:
            raise SignatureError(
                f"the sample has no input {spec.name!r} (it has {', '.join(sorted(sample))})"
            )
        array = sample[spec.name]
        if array.ndim != len(spec.shape):
            raise SignatureError(
                f"sample input {spec.name!r} has {array.ndim} dimensions, the signature "
                f"{len(spec.shape)} ({list(spec.shape)})"
            )
        for axis, (got, want) in enumerate(zip(array.shape, spec.shape, strict=True)):
            if want is not None and got != want:
                raise SignatureError(
                    f"sample input {spec.name!r}: dimension {axis} is {got}, the signature "
                    f"says {want}"
                )


def generated_sample(signature: list[TensorSpec], rows: int = 64, seed: int = 0) -> dict[str, Any]:
    """A standard-normal sample for ``signature`` (when a request gives none)."""
    rng = np.random.default_rng(seed)
    sample: dict[str, Any] = {}
    for spec in signature:
        values = rng.standard_normal(spec.example_shape(rows))
        sample[spec.name] = values.astype(spec.dtype)
    return sample
