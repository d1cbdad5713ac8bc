"""The handler functions of ``inference.py``: found, checked once, and called.

SageMaker's inference contract, with one explicit signature per function (the names of
the documented parameters are free; ``request_body`` for ``input_data`` is as good):

==================  ===============================================  ==================
function            parameters                                       returns
==================  ===============================================  ==================
``model_fn``        ``(model_dir)``                                  the model
``input_fn``        ``(input_data, content_type)``                   the data to predict
``predict_fn``      ``(data, model)``                                the prediction
``output_fn``       ``(prediction, accept)``                         the response body
``transform_fn``    ``(model, input_data, content_type, accept)``    the response body
``pre_model_fn``    ``(model_dir)``                                  ignored
``model_warmup_fn`` ``(model_dir, model)``                           ignored
==================  ===============================================  ==================

Each may take one more, last parameter named ``context`` (a :class:`Context`). The choice
is made once, at load, from ``inspect.signature``: exactly the documented parameters, or
those plus ``context``. Anything else (``*args``, ``**kwargs``, keyword-only parameters,
extra parameters, a documented parameter named ``context``) is a
:class:`HandlerSignatureError` naming the function, what it has and what it should
have; the replica then never becomes ready. ``transform_fn`` replaces ``input_fn``,
``predict_fn`` and ``output_fn``: defining it beside any of them is refused too.

``input_data`` is a ``str`` for ``application/json`` and ``text/csv`` bodies (decoded
as UTF-8, as the inference toolkit does) and ``bytes`` otherwise. A response body may
be ``bytes``, ``str``, a ``(body, content_type)`` tuple, or a JSON-able value (written
as ``application/json``); without a tuple the response's type is the ``accept`` given.

Missing functions come from the framework's defaults (:mod:`.defaults`).
``code/requirements.txt`` is **not** installed at serve time: the platform installs it
into the model's image at deploy time (:func:`requirements_file` finds it).
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from modelyard.container.serving_errors import HandlerSignatureError, ModelError

logger = logging.getLogger("modelyard.container.serving")

CONTEXT_PARAMETER: Final = "context"
SIGNATURES: Final[Mapping[str, tuple[str, ...]]] = {
    "model_fn": ("model_dir",),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
    "pre_model_fn": ("model_dir",),
    "model_warmup_fn": ("model_dir", "model"),
}
DEFAULT_MODULE: Final = "inference"
CUSTOM_ATTRIBUTES_HEADER: Final = "x-amzn-sagemaker-custom-attributes"
_POSITIONAL: Final = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@dataclass(frozen=True)
class Handler:
    """One resolved handler: the function, whether it takes ``context``, whose it is."""

    name: str
    fn: Callable[..., Any]
    takes_context: bool = False
    origin: str = "default"  # "inference.py" for the user's, else the defaults' name

    @property
    def user(self) -> bool:
        return self.origin != "default" and not self.origin.startswith("default ")


def documented(name: str) -> str:
    """``input_fn(input_data, content_type)``."""
    return f"{name}({', '.join(SIGNATURES[name])})"


def check_signature(name: str, fn: object, origin: str) -> bool:
    """Whether ``fn`` takes a trailing ``context``; raises HandlerSignatureError otherwise."""
    expected = (
        f"expected {documented(name)} or "
        f"{name}({', '.join((*SIGNATURES[name], CONTEXT_PARAMETER))})"
    )
    if not callable(fn):
        raise HandlerSignatureError(
            name, f"{name} in {origin} is a {type(fn).__name__}, not a function; {expected}"
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise HandlerSignatureError(
            name, f"the signature of {name} in {origin} cannot be read ({exc}); {expected}"
        ) from exc
    got = f"{name}{signature}"
    params = list(signature.parameters.values())
    problem = _signature_problem(params, len(SIGNATURES[name]))
    if problem is not None:
        raise HandlerSignatureError(name, f"{origin} defines {got}: {problem}; {expected}")
    return len(params) == len(SIGNATURES[name]) + 1


def _signature_problem(params: list[inspect.Parameter], count: int) -> str | None:
    for param in params:
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return f"*{param.name} is not allowed: name each parameter"
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            return f"**{param.name} is not allowed: name each parameter"
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            return f"keyword-only parameter {param.name!r} is not part of the contract"
    if len(params) == count + 1:
        if params[-1].name != CONTEXT_PARAMETER:
            return (
                f"{len(params)} parameters, and the last one is {params[-1].name!r}: an "
                f"extra parameter must be named {CONTEXT_PARAMETER!r}"
            )
    elif len(params) != count:
        return f"{len(params)} parameter(s) where {count} (or {count} + context) are expected"
    for position, param in enumerate(params[:count], start=1):
        if param.name == CONTEXT_PARAMETER:
            return (
                f"parameter {position} is named {CONTEXT_PARAMETER!r}, where the contract "
                "has a required argument"
            )
    return None


# ----------------------------------------------------------------------- user module


def user_module_path(code_dir: Path, program: str | None) -> Path | None:
    """``code/<SAGEMAKER_PROGRAM>``, else ``code/inference.py`` if it exists, else None.

    Raises :class:`ModelError` when ``SAGEMAKER_PROGRAM`` names a file that is absent.
    """
    if program:
        name = program if program.endswith(".py") else f"{program}.py"
        path = code_dir / name
        if not path.is_file():
            raise ModelError(
                name,
                f"SAGEMAKER_PROGRAM={program!r} but {path} does not exist "
                "(the model archive's code/ directory holds the handlers)",
                error_type="FileNotFoundError",
            )
        return path
    path = code_dir / f"{DEFAULT_MODULE}.py"
    return path if path.is_file() else None


def requirements_file(code_dir: Path) -> Path | None:
    """``code/requirements.txt`` if any: for the platform to install at deploy time."""
    path = code_dir / "requirements.txt"
    return path if path.is_file() else None


def import_user_module(path: Path) -> ModuleType:
    """Import the handler module from its file, its directory first on ``sys.path``.

    Its own imports of modules beside it work as in SageMaker. Any exception while
    importing is a :class:`ModelError` naming the file (traceback in the log).
    """
    name = path.stem
    code_dir = str(path.parent)
    if code_dir not in sys.path:
        sys.path.insert(0, code_dir)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(path.name, f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(name, None)
        logger.error("importing %s failed", path, exc_info=True)
        message = f"importing code/{path.name} failed: {type(exc).__name__}: {exc}"
        if isinstance(exc, ImportError) and requirements_file(path.parent) is not None:
            message += (
                " (code/requirements.txt is not installed when a replica starts: "
                "the platform installs it into the model's image at deploy time)"
            )
        raise ModelError(path.name, message, error_type=type(exc).__name__) from exc
    return module


# ----------------------------------------------------------------------- the handler set


@dataclass(frozen=True)
class HandlerSet:
    """The handlers a replica calls: the user's where defined, else the defaults."""

    model_fn: Handler
    input_fn: Handler | None
    predict_fn: Handler | None
    output_fn: Handler | None
    transform_fn: Handler | None = None
    pre_model_fn: Handler | None = None
    model_warmup_fn: Handler | None = None
    extras: dict[str, Handler] = field(default_factory=dict)

    @property
    def needs_context(self) -> bool:
        return any(h.takes_context for h in self.request_handlers())

    def request_handlers(self) -> list[Handler]:
        if self.transform_fn is not None:
            return [self.transform_fn]
        return [h for h in (self.input_fn, self.predict_fn, self.output_fn) if h is not None]

    def describe(self) -> str:
        """``model_fn from inference.py, input_fn from default sklearn, ...`` for the log."""
        handlers = [self.model_fn, *self.request_handlers()]
        return ", ".join(
            f"{h.name}{' (with context)' if h.takes_context else ''} from {h.origin}"
            for h in handlers
        )


def resolve_handlers(
    module: ModuleType | None, defaults: Mapping[str, Callable[..., Any]], defaults_name: str
) -> HandlerSet:
    """The user's handlers checked, the missing ones taken from ``defaults``."""
    origin = f"code/{Path(module.__file__ or 'inference.py').name}" if module else ""
    found: dict[str, Handler] = {}
    if module is not None:
        for name in SIGNATURES:
            fn = getattr(module, name, None)
            if fn is not None:
                found[name] = Handler(name, fn, check_signature(name, fn, origin), origin)
    if "transform_fn" in found:
        clash = [n for n in ("input_fn", "predict_fn", "output_fn") if n in found]
        if clash:
            raise HandlerSignatureError(
                "transform_fn",
                f"{origin} defines transform_fn and {', '.join(clash)}: transform_fn replaces "
                "input_fn, predict_fn and output_fn; define either transform_fn or those",
            )

    def pick(name: str) -> Handler:
        if name in found:
            return found[name]
        return Handler(name, defaults[name], False, f"default {defaults_name}")

    transform = found.get("transform_fn")
    return HandlerSet(
        model_fn=pick("model_fn"),
        input_fn=None if transform else pick("input_fn"),
        predict_fn=None if transform else pick("predict_fn"),
        output_fn=None if transform else pick("output_fn"),
        transform_fn=transform,
        pre_model_fn=found.get("pre_model_fn"),
        model_warmup_fn=found.get("model_warmup_fn"),
    )


# ----------------------------------------------------------------------- context


class _RequestProcessor:
    """``context.request_processor[0]`` of the multi-model server, for old handlers."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self._headers = headers

    def get_request_properties(self) -> dict[str, str]:
        return dict(self._headers)


class Context:
    """What a handler's trailing ``context`` argument is.

    ``custom_attributes`` is the request's ``X-Amzn-SageMaker-Custom-Attributes`` (None
    when absent); ``request_headers`` has every header (lower-case names);
    :meth:`set_response_header` adds a response header (e.g. custom attributes back).
    The multi-model server's accessors used by SageMaker handlers are kept:
    ``system_properties``, ``get_request_header(0, name)``,
    ``request_processor[0].get_request_properties()``, ``set_response_content_type``.
    """

    def __init__(
        self,
        model_dir: str,
        headers: Mapping[str, str] | None = None,
        *,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.request_headers: Mapping[str, str] = headers or {}
        self.content_type = content_type
        self.accept = accept
        self.response_headers: list[tuple[str, str]] = []
        self.response_content_type: str | None = None
        self.system_properties: dict[str, Any] = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "modelyard",
        }

    @property
    def custom_attributes(self) -> str | None:
        return self.request_headers.get(CUSTOM_ATTRIBUTES_HEADER)

    @property
    def request_processor(self) -> list[_RequestProcessor]:
        return [_RequestProcessor(self.request_headers)]

    def get_request_header(self, idx: int, key: str) -> str | None:
        return self.request_headers.get(key.lower())

    def get_all_request_header(self, idx: int) -> dict[str, str]:
        return dict(self.request_headers)

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        text = f"{key}{value}"
        if "\r" in text or "\n" in text or ":" in key:
            raise ValueError(f"invalid response header {key!r}: {value!r}")
        self.response_headers.append((key, str(value)))

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.response_content_type = value
