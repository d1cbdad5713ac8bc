"""The one exception tree of modelyard.

Every error carries a ``code`` (SageMaker's error names where one exists), an
HTTP status and, when a request field is to blame, the ``field``. The API turns
any of them into ``{"error": {"code", "message", "field"}}`` with that status;
the SDK turns such a body back into the same class. Errors raised by libraries
are translated at the boundary with ``raise ... from exc``.

    ModelyardError (500)
    ├── ValidationError (400)            bad input: the message says how to fix it
    │   ├── InvalidNameError             a resource name outside SageMaker's pattern
    │   ├── InvalidKeyError              an object key that would escape its bucket
    │   ├── PayloadTooLargeError (413)   an invocation body over the endpoint's limit
    │   ├── NotAcceptableError (406)     a model cannot write the Accept type asked for
    │   └── UnsupportedMediaTypeError (415)  a model cannot read the body's Content-Type
    ├── AuthenticationError (401)        missing or wrong API token
    ├── NotFoundError (404)              ResourceNotFound
    │   ├── NoSuchBucketError
    │   └── NoSuchKeyError
    ├── ConflictError (409)              ResourceInUse
    │   ├── AlreadyExistsError           ResourceAlreadyExists: the name is taken
    │   ├── IllegalTransitionError       a state change the state machine forbids
    │   └── ConcurrentUpdateError        somebody else changed it first: retry
    ├── ModelError (424)                 the model (the user's code) failed an invocation
    ├── StoreError (502)                 the object store backend failed
    ├── CatalogError (500)               the catalog database failed
    ├── ImageBuildError (500)            an image environment could not be built
    ├── ContainerRuntimeError (500)      a process could not be launched or controlled
    └── ServerUnavailableError (503)     no control-plane server answers
"""

from __future__ import annotations

from typing import Any, ClassVar


class ModelyardError(Exception):
    """Root of every error modelyard raises on purpose."""

    code: ClassVar[str] = "InternalFailure"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        """The body of the API's error responses."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return {"error": body}

    def __str__(self) -> str:
        return f"{self.message} (field: {self.field})" if self.field else self.message


class ValidationError(ModelyardError):
    code = "ValidationError"
    http_status = 400


class InvalidNameError(ValidationError):
    pass


class InvalidKeyError(ValidationError):
    pass


class PayloadTooLargeError(ValidationError):
    code = "PayloadTooLarge"
    http_status = 413


class NotAcceptableError(ValidationError):
    code = "UnsupportedAccept"
    http_status = 406


class UnsupportedMediaTypeError(ValidationError):
    code = "UnsupportedContentType"
    http_status = 415


class AuthenticationError(ModelyardError):
    code = "UnauthorizedOperation"
    http_status = 401


class NotFoundError(ModelyardError):
    code = "ResourceNotFound"
    http_status = 404


class NoSuchBucketError(NotFoundError):
    code = "NoSuchBucket"


class NoSuchKeyError(NotFoundError):
    code = "NoSuchKey"


class ConflictError(ModelyardError):
    code = "ResourceInUse"
    http_status = 409


class AlreadyExistsError(ConflictError):
    code = "ResourceAlreadyExists"


class IllegalTransitionError(ConflictError):
    code = "IllegalStateTransition"


class ConcurrentUpdateError(ConflictError):
    code = "ConcurrentModification"


class ModelError(ModelyardError):
    """The model failed an invocation (SageMaker runtime's ``ModelError``, 424).

    ``original_status_code`` and ``original_message`` are what the model's container
    answered, as SageMaker's ``OriginalStatusCode`` / ``OriginalMessage``.
    """

    code = "ModelError"
    http_status = 424

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        original_status_code: int | None = None,
        original_message: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.original_status_code = original_status_code
        self.original_message = original_message

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.original_status_code is not None:
            body["error"]["OriginalStatusCode"] = self.original_status_code
        if self.original_message is not None:
            body["error"]["OriginalMessage"] = self.original_message
        return body


class StoreError(ModelyardError):
    code = "StoreFailure"
    http_status = 502


class CatalogError(ModelyardError):
    code = "CatalogFailure"


class ImageBuildError(ModelyardError):
    code = "ImageBuildFailure"


class ContainerRuntimeError(ModelyardError):
    code = "RuntimeFailure"


class ServerUnavailableError(ModelyardError):
    code = "ServiceUnavailable"
    http_status = 503


def _all_subclasses(cls: type[ModelyardError]) -> list[type[ModelyardError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_all_subclasses(sub))
    return found


def error_from_body(status: int, body: Any) -> ModelyardError:
    """Rebuild the most specific error class from an API error response.

    Used by the SDK so that code written against the library (``except
    NotFoundError``) works the same through HTTP.
    """
    error = body.get("error", {}) if isinstance(body, dict) else {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    field = error.get("field") if isinstance(error, dict) else None
    candidates = [c for c in _all_subclasses(ModelyardError) if c.http_status == status]
    chosen: type[ModelyardError] = ModelyardError
    for cls in candidates:
        if cls.code == code:
            chosen = cls
            break
    else:
        if candidates:
            chosen = candidates[0]
    text = message or f"HTTP {status}: {body!r}"
    if chosen is ModelError and isinstance(error, dict):
        original = error.get("OriginalStatusCode")
        return ModelError(
            text,
            field=field,
            original_status_code=original if isinstance(original, int) else None,
            original_message=error.get("OriginalMessage"),
        )
    return chosen(text, field=field)
