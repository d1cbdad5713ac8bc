"""The replica's routes and the handler chain behind ``POST /invocations``.

===============================  ===========================================================
``GET /ping``                    200, empty body, once the model is loaded; 503 with the
                                 ``ModelError`` body when loading it failed
``POST /invocations``            ``input_fn`` -> ``predict_fn`` -> ``output_fn`` (or
                                 ``transform_fn``), answered 200 with the body they return
``GET /execution-parameters``    ``{"MaxConcurrentTransforms", "BatchStrategy",
                                 "MaxPayloadInMB"}`` for batch transform
===============================  ===========================================================

Errors follow :mod:`.serving_errors`. A request without ``Content-Type`` is read as
``application/json``; without ``Accept`` (or with ``*/*``) it gets
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (JSON). The chain runs under a timer
(``SAGEMAKER_MODEL_SERVER_TIMEOUT``): a ``SIGALRM`` raises :class:`ModelTimeout` inside
the handler, which is answered 504. Python code and sleeps are interrupted at once; a
long call into C code is interrupted when it returns, and one that never returns is
ended by the supervisor's watchdog (:mod:`.serving_watchdog`).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from modelyard.container.defaults import detect_framework, framework_handlers
from modelyard.container.handlers import (
    Context,
    Handler,
    HandlerSet,
    import_user_module,
    requirements_file,
    resolve_handlers,
    user_module_path,
)
from modelyard.container.http import Request, Response
from modelyard.container.serving_errors import (
    INVALID_INPUT,
    METHOD_NOT_ALLOWED,
    NOT_FOUND,
    ModelError,
    ModelTimeout,
    ServingError,
)
from modelyard.container.serving_settings import ServingSettings
from modelyard.container.serving_watchdog import BusySlot

logger = logging.getLogger("modelyard.container.serving")

JSON: Final = "application/json"
DEFAULT_CONTENT_TYPE: Final = JSON
UTF8_TYPES: Final = frozenset({"application/json", "text/csv"})
_EMPTY: Final = Response(200)


class ModelTimer:
    """Raises :class:`ModelTimeout` in the main thread ``timeout_s`` after :meth:`arm`."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._armed = False
        self.enabled = False
        self.busy: BusySlot | None = None
        """Where the supervisor's watchdog sees this worker's request start (optional)."""

    def install(self) -> None:
        """Take ``SIGALRM`` (main thread only; elsewhere requests run without a timer)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, self._fire)
            self.enabled = True

    def _fire(self, signum: int, frame: object) -> None:
        if self._armed:
            self._armed = False
            raise ModelTimeout(self.timeout_s)

    def arm(self) -> None:
        if self.busy is not None:
            self.busy.enter()
        if self.enabled:
            self._armed = True
            signal.setitimer(signal.ITIMER_REAL, self.timeout_s)

    def disarm(self) -> None:
        if self.enabled:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self.busy is not None:
            self.busy.leave()


class HandlerChain:
    """A loaded model and its handlers; :meth:`invoke` answers one request body."""

    def __init__(self, handlers: HandlerSet, model: Any, model_dir: str) -> None:
        self.handlers = handlers
        self.model = model
        self.model_dir = model_dir
        self._needs_context = handlers.needs_context
        self._steps: tuple[Handler, Handler, Handler] | None = None
        if handlers.input_fn and handlers.predict_fn and handlers.output_fn:
            self._steps = (handlers.input_fn, handlers.predict_fn, handlers.output_fn)
        elif handlers.transform_fn is None:
            raise ValueError("a handler set needs transform_fn or all of input/predict/output_fn")

    def invoke(
        self, body: bytes, content_type: str, accept: str, headers: dict[str, str]
    ) -> Response:
        context = (
            Context(self.model_dir, headers, content_type=content_type, accept=accept)
            if self._needs_context
            else None
        )
        input_data: str | bytes = body
        if content_type.split(";", 1)[0].strip().lower() in UTF8_TYPES:
            try:
                input_data = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ServingError(
                    400,
                    INVALID_INPUT,
                    f"the {content_type} body is not valid UTF-8 (byte offset {exc.start})",
                ) from exc
        transform_fn = self.handlers.transform_fn
        if transform_fn is not None:
            result = _call(transform_fn, context, self.model, input_data, content_type, accept)
        else:
            assert self._steps is not None
            input_fn, predict_fn, output_fn = self._steps
            data = _call(input_fn, context, input_data, content_type)
            prediction = _call(predict_fn, context, data, self.model)
            result = _call(output_fn, context, prediction, accept)
        return _response(result, accept, context)


def _call(handler: Handler, context: Context | None, *args: Any) -> Any:
    try:
        if handler.takes_context:
            return handler.fn(*args, context)
        return handler.fn(*args)
    except ServingError:
        raise
    except Exception as exc:
        logger.error(
            "%s (%s) raised %s", handler.name, handler.origin, type(exc).__name__, exc_info=True
        )
        raise ModelError.from_exception(handler.name, exc) from exc


def _response(result: Any, accept: str, context: Context | None) -> Response:
    content_type: str | None = accept
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str | None):
        result, content_type = result
    if context is not None and context.response_content_type:
        content_type = context.response_content_type
    if isinstance(result, bytes):
        body = result
    elif isinstance(result, str):
        body = result.encode("utf-8")
    elif isinstance(result, bytearray | memoryview):
        body = bytes(result)
    else:
        try:
            from modelyard.formats.jsonlines import write_json

            body, content_type = write_json(result), JSON
        except (TypeError, ValueError) as exc:
            raise ModelError(
                "output_fn",
                f"the handlers returned a {type(result).__name__}: return bytes, str, a "
                "(body, content_type) tuple or a JSON-able value",
                error_type="TypeError",
            ) from exc
    headers = context.response_headers if context is not None else []
    return Response(200, body, content_type, headers)


def load_chain(settings: ServingSettings) -> HandlerChain:
    """Import the handlers and load the model; raises ModelError saying what failed."""
    model_dir = str(settings.model_dir)
    path = user_module_path(settings.code_dir, settings.program)
    if requirements_file(settings.code_dir) is not None:
        logger.warning(
            "code/requirements.txt is not installed at serve time: the platform installs it "
            "into the model's image when deploying"
        )
    module = import_user_module(path) if path is not None else None
    framework = settings.framework or detect_framework(model_dir)
    defaults, defaults_name = framework_handlers(framework, settings.default_accept)
    handlers = resolve_handlers(module, defaults, defaults_name)
    logger.info("handlers: %s", handlers.describe())
    load_context = Context(model_dir)
    for hook in (handlers.pre_model_fn,):
        if hook is not None:
            _load_call(hook, load_context, model_dir)
    model = _load_call(handlers.model_fn, load_context, model_dir)
    if handlers.model_warmup_fn is not None:
        _load_call(handlers.model_warmup_fn, load_context, model_dir, model)
    return HandlerChain(handlers, model, model_dir)


def _load_call(handler: Handler, context: Context, *args: Any) -> Any:
    try:
        return handler.fn(*args, context) if handler.takes_context else handler.fn(*args)
    except Exception as exc:
        logger.error("%s (%s) failed", handler.name, handler.origin, exc_info=True)
        raise ModelError.from_exception(handler.name, exc) from exc


class InferenceApp:
    """Answers the replica's routes; never raises (see the module doc)."""

    def __init__(
        self,
        settings: ServingSettings,
        chain: HandlerChain | None,
        failure: ModelError | None = None,
    ) -> None:
        self.settings = settings
        self.chain = chain
        self.failure = failure
        self.timer = ModelTimer(settings.model_timeout_s)
        self._routes: dict[str, tuple[str, Callable[[Request], Response]]] = {
            "/invocations": ("POST", self._invocations),
            "/ping": ("GET", self._ping),
            "/execution-parameters": ("GET", self._execution_parameters),
        }
        self._execution_parameters_body = json.dumps(settings.execution_parameters()).encode()

    @classmethod
    def load(cls, settings: ServingSettings) -> InferenceApp:
        """Load the model now; a failure is kept and answered, not raised."""
        started = time.monotonic()
        try:
            chain = load_chain(settings)
        except ModelError as failure:
            logger.error(
                "the model failed to load, /ping answers 503: %s: %s (%s)",
                failure.handler,
                failure.message,
                failure.error_type,
            )
            return cls(settings, None, failure)
        logger.info("model loaded in %.2f s", time.monotonic() - started)
        return cls(settings, chain)

    @property
    def ready(self) -> bool:
        return self.chain is not None

    def handle(self, request: Request) -> Response:
        route = self._routes.get(request.path)
        if route is None:
            return _error(
                ServingError(
                    404, NOT_FOUND, f"no route {request.path!r}: use /ping or /invocations"
                )
            )
        method, respond = route
        if request.method != method:
            response = _error(
                ServingError(
                    405, METHOD_NOT_ALLOWED, f"{request.method} {request.path}: use {method}"
                )
            )
            response.headers.append(("Allow", method))
            return response
        return respond(request)

    def _ping(self, request: Request) -> Response:
        if self.failure is not None:
            return _error(self.failure.as_unready())
        return _EMPTY

    def _execution_parameters(self, request: Request) -> Response:
        return Response(200, self._execution_parameters_body, JSON)

    def _invocations(self, request: Request) -> Response:
        chain = self.chain
        if chain is None:
            assert self.failure is not None
            return _error(self.failure)
        headers = request.headers
        content_type = headers.get("content-type") or DEFAULT_CONTENT_TYPE
        accept = headers.get("accept")
        if not accept or accept.strip() == "*/*":
            accept = self.settings.default_accept
        timer = self.timer
        try:
            timer.arm()
            try:
                return chain.invoke(request.body, content_type, accept, headers)
            finally:
                timer.disarm()
        except ServingError as error:
            return _error(error)
        except ModelTimeout as timeout:
            logger.error("invocation abandoned: %s", timeout, exc_info=True)
            return _error(timeout.as_serving_error())


def _error(error: ServingError) -> Response:
    return Response(error.status, error.body(), JSON)
