"""Request validation driven by botocore's SageMaker API model.

A Create* request is checked against its input shape before anything runs:
unknown fields, required fields, types (a hyperparameter value must be a string),
string lengths, enums, patterns, list and map sizes, number ranges. Every error is a
``ValidationError`` (400) whose ``field`` is the offending path in dotted
notation the data layer uses too (``InputDataConfig.0.ChannelName``, ``HyperParameters.epochs``).

Some of SageMaker's rules do not fit a local platform (an IAM role pattern, EFS file
system ids, the list of AWS instance types); a caller relaxes them by path with
:class:`Relaxed`. The model is loaded once, lazily (botocore ships it; it is a
dependency of the S3 backend).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelyard.errors import ValidationError

_INDEX = re.compile(r"\.\d+(?=\.|$)")


@functools.cache
def sagemaker_shapes() -> dict[str, Any]:
    """The ``shapes`` of botocore's SageMaker service model."""
    return service_shapes("sagemaker")


@functools.cache
def service_shapes(service: str) -> dict[str, Any]:
    """The ``shapes`` of one botocore service model (``application-autoscaling``...)."""
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    shapes: dict[str, Any] = model["shapes"]
    return shapes


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """botocore's (Java-flavoured) pattern, or None when Python's ``re`` cannot read it."""
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


@dataclass(frozen=True)
class Relaxed:
    """Rules not enforced, by path (list indices written ``[]``: ``InputDataConfig[].X``).

    ``ignore``: the field is accepted as it is, unchecked. ``no_enum`` / ``no_pattern``:
    only that rule is skipped (the caller checks the value its own way). ``optional``:
    a required field that may be left out.
    """

    ignore: frozenset[str] = field(default_factory=frozenset)
    no_enum: frozenset[str] = field(default_factory=frozenset)
    no_pattern: frozenset[str] = field(default_factory=frozenset)
    optional: frozenset[str] = field(default_factory=frozenset)


def validate_request(
    shape_name: str, body: object, relaxed: Relaxed | None = None, *, service: str = "sagemaker"
) -> None:
    """Raise ``ValidationError`` naming the first field of ``body`` that breaks the shape."""
    _Checker(service_shapes(service), relaxed or Relaxed()).check(shape_name, body, "")


class _Checker:
    def __init__(self, shapes: Mapping[str, Any], relaxed: Relaxed) -> None:
        self.shapes = shapes
        self.relaxed = relaxed

    def check(self, shape_name: str, value: object, path: str) -> None:
        generic = _INDEX.sub("[]", path)
        if generic in self.relaxed.ignore:
            return
        shape = self.shapes[shape_name]
        kind = shape["type"]
        checker = getattr(self, f"_check_{kind}", None)
        if checker is None:
            return
        checker(shape, value, path, generic)

    def _fail(self, path: str, message: str) -> None:
        raise ValidationError(f"{path or 'request'}: {message}", field=path or None)

    def _check_structure(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if not isinstance(value, dict):
            self._fail(path, f"must be a JSON object, not {_type_name(value)}")
            return
        members: Mapping[str, Any] = shape.get("members", {})
        for key in value:
            if key not in members:
                known = ", ".join(members)
                self._fail(_join(path, key), f"unknown field; {_where(path)} accepts {known}")
        for required in shape.get("required", []):
            if value.get(required) is None and _join(g, required) not in self.relaxed.optional:
                self._fail(_join(path, required), "is required")
        for key, item in value.items():
            if item is not None:
                self.check(members[key]["shape"], item, _join(path, key))

    def _check_list(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if not isinstance(value, list):
            self._fail(path, f"must be a list, not {_type_name(value)}")
            return
        self._check_size(shape, len(value), path, "items")
        for index, item in enumerate(value):
            self.check(shape["member"]["shape"], item, f"{path}.{index}")

    def _check_map(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if not isinstance(value, dict):
            self._fail(path, f"must be a JSON object, not {_type_name(value)}")
            return
        self._check_size(shape, len(value), path, "entries")
        key_shape = shape["key"]["shape"]
        for key, item in value.items():
            self.check(key_shape, key, _join(path, str(key)))
            self.check(shape["value"]["shape"], item, _join(path, str(key)))

    def _check_string(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if not isinstance(value, str):
            self._fail(path, f"must be a string, not {_type_name(value)} ({value!r})")
            return
        self._check_size(shape, len(value), path, "characters")
        enum = shape.get("enum")
        if enum and g not in self.relaxed.no_enum and value not in enum:
            self._fail(path, f"{value!r} is not one of {', '.join(enum)}")
        pattern = shape.get("pattern")
        if pattern and g not in self.relaxed.no_pattern:
            compiled = _compiled(pattern)
            if compiled is not None and not compiled.fullmatch(value):
                self._fail(path, f"{value!r} does not match the pattern {pattern}")

    def _check_integer(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(path, f"must be an integer, not {_type_name(value)} ({value!r})")
            return
        self._check_range(shape, value, path)

    _check_long = _check_integer

    def _check_double(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(float(value))
        ):
            self._fail(path, f"must be a finite number, not {_type_name(value)} ({value!r})")
            return
        self._check_range(shape, float(value), path)

    _check_float = _check_double

    def _check_boolean(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if not isinstance(value, bool):
            self._fail(path, f"must be true or false, not {_type_name(value)} ({value!r})")

    def _check_timestamp(self, shape: Mapping[str, Any], value: object, path: str, g: str) -> None:
        if isinstance(value, datetime) or (
            isinstance(value, int | float) and not isinstance(value, bool)
        ):
            return
        if isinstance(value, str):
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return
            except ValueError:
                pass
        self._fail(path, f"must be an ISO 8601 time or epoch seconds, not {value!r}")

    def _check_size(self, shape: Mapping[str, Any], size: int, path: str, unit: str) -> None:
        low, high = shape.get("min"), shape.get("max")
        if low is not None and size < low:
            self._fail(path, f"has {size} {unit}; at least {low} needed")
        if high is not None and size > high:
            self._fail(path, f"has {size} {unit}; at most {high} allowed")

    def _check_range(self, shape: Mapping[str, Any], value: float, path: str) -> None:
        low, high = shape.get("min"), shape.get("max")
        if low is not None and value < low:
            self._fail(path, f"{value} is below the minimum {low}")
        if high is not None and value > high:
            self._fail(path, f"{value} is above the maximum {high}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _where(path: str) -> str:
    return path or "the request"


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__
