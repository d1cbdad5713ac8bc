"""What a replica answers when a request fails: the error contract the router relies on.

Every error response of a replica has ``Content-Type: application/json`` and the body

    {"error": {"code": "<Code>", "message": "<one line or a few>"}}

``ModelError`` bodies also carry ``"type"`` (the exception's class name) and
``"handler"`` (``model_fn``, ``input_fn``, ``predict_fn``, ``output_fn``,
``transform_fn``, or the user's module when importing it failed). Tracebacks go to the
replica's log, never into a body. The codes are stable; the router maps ``ModelError``
to SageMaker's 424 and passes the message on.

    ======  ========================  ==========================================================
    status  code                      when
    ======  ========================  ==========================================================
    400     BadRequest                the HTTP request itself is malformed (framing, headers)
    400     InvalidInput              a default ``input_fn`` cannot parse the body (the message
                                      names the line, field or byte offset when known)
    404     NotFound                  no such path
    405     MethodNotAllowed          e.g. ``GET /invocations``
    406     UnsupportedAccept         a default ``output_fn`` cannot write the ``Accept`` type
    413     PayloadTooLarge           body over ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` (default 6 MiB)
    415     UnsupportedContentType    a default ``input_fn`` cannot read the ``Content-Type``;
                                      the message lists the supported types
    431     HeadersTooLarge           request line + headers over the header limit
    500     ModelError                the user's handler or the model raised (also when
                                      ``model_fn`` failed or a handler has a wrong signature:
                                      every invocation then answers with that error)
    500     InternalError             a bug of modelyard's serving toolkit
    503     ModelError                ``GET /ping`` of a replica whose model failed to load
    504     ModelTimeout              the handlers ran over ``SAGEMAKER_MODEL_SERVER_TIMEOUT``
    505     HTTPVersionNotSupported   anything but HTTP/1.0 and HTTP/1.1
    ======  ========================  ==========================================================

    ServingError                  an HTTP status, a code and a message
    ├── HttpProtocolError         400/413/431/505 raised by the request parser
    ├── ModelError                the user's code or model failed (handler, type)
    │   └── HandlerSignatureError a handler's parameters are not the documented ones
    └── ModelTimeout              BaseException too: user code cannot swallow it

:class:`ModelTimeout` is raised *into* the running handler by a timer signal, so it
derives from ``BaseException`` as ``KeyboardInterrupt`` does: an ``except Exception``
in a user's handler does not hide the timeout.
"""

from __future__ import annotations

import json
from typing import Final

BAD_REQUEST: Final = "BadRequest"
INVALID_INPUT: Final = "InvalidInput"
NOT_FOUND: Final = "NotFound"
METHOD_NOT_ALLOWED: Final = "MethodNotAllowed"
UNSUPPORTED_ACCEPT: Final = "UnsupportedAccept"
PAYLOAD_TOO_LARGE: Final = "PayloadTooLarge"
UNSUPPORTED_CONTENT_TYPE: Final = "UnsupportedContentType"
HEADERS_TOO_LARGE: Final = "HeadersTooLarge"
MODEL_ERROR: Final = "ModelError"
INTERNAL_ERROR: Final = "InternalError"
MODEL_TIMEOUT: Final = "ModelTimeout"
HTTP_VERSION_NOT_SUPPORTED: Final = "HTTPVersionNotSupported"


class ServingError(Exception):
    """An error a replica answers with: HTTP ``status``, stable ``code``, ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def details(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def body(self) -> bytes:
        return error_body(self.details())


class HttpProtocolError(ServingError):
    """The request cannot be read as HTTP/1.x; the connection is closed after answering."""


class ModelError(ServingError):
    """The user's code or the model failed; ``handler`` names the function at fault."""

    def __init__(
        self, handler: str, message: str, *, error_type: str = "Exception", status: int = 500
    ) -> None:
        super().__init__(status, MODEL_ERROR, message)
        self.handler = handler
        self.error_type = error_type

    @classmethod
    def from_exception(cls, handler: str, exc: BaseException) -> ModelError:
        """``predict_fn`` raised ``ValueError("bad")`` -> ``ModelError`` with that message."""
        text = str(exc) or type(exc).__name__
        return cls(handler, text, error_type=type(exc).__name__)

    def details(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "type": self.error_type,
            "handler": self.handler,
        }

    def as_unready(self) -> ModelError:
        """The same error as ``GET /ping`` reports it (503: the replica is not ready)."""
        return ModelError(self.handler, self.message, error_type=self.error_type, status=503)


class HandlerSignatureError(ModelError):
    """A handler of ``inference.py`` does not have one of its documented signatures."""

    def __init__(self, handler: str, message: str) -> None:
        super().__init__(handler, message, error_type="HandlerSignatureError")


class ModelTimeout(BaseException):
    """The handlers ran past ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` (raised by a timer signal)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the model did not answer within {timeout_s:g} s")
        self.timeout_s = timeout_s

    def as_serving_error(self) -> ServingError:
        return ServingError(
            504,
            MODEL_TIMEOUT,
            f"the model did not answer within {self.timeout_s:g} s "
            "(SAGEMAKER_MODEL_SERVER_TIMEOUT); the request was abandoned",
        )


def error_body(details: dict[str, str]) -> bytes:
    """``{"error": {...}}`` as compact JSON."""
    return json.dumps({"error": details}, separators=(",", ":")).encode()
