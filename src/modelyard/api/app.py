"""The control plane's HTTP API: one FastAPI app, thin routes over the controllers.

Every error leaves as ``{"error": {"code", "message", "field"}}`` with a 4xx/5xx
status and never a stack trace; request validation errors name the offending
field. When an API token is configured, every request must carry it.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelyard import __version__
from modelyard.api.routes import (
    alarms,
    autoscaling,
    compilation_jobs,
    edge,
    edge_packaging_jobs,
    endpoint_configs,
    endpoints,
    frameworks,
    images,
    models,
    objects,
    processing_jobs,
    training_jobs,
    transform_jobs,
)
from modelyard.api.services import Services
from modelyard.errors import AuthenticationError, ModelyardError
from modelyard.hosting.router_asgi import InvocationsMiddleware

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    """The app over ``services``; the caller owns their lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.images.reconcile()
        services.training.reconcile()
        services.processing.reconcile()
        services.edge.reconcile()
        services.transform.reconcile()
        services.endpoints.start()
        yield
        services.endpoints.shutdown()
        services.endpoints.router.close()
        services.training.shutdown()
        services.processing.shutdown()
        services.transform.shutdown()
        services.edge.shutdown()

    app = FastAPI(
        title="modelyard",
        version=__version__,
        description="Control plane of modelyard: SageMaker's resources on your own machines.",
        lifespan=lifespan,
    )
    app.state.services = services
    _install_error_handlers(app)
    _install_auth(app, services)

    @app.get("/health", tags=["server"])
    def health() -> dict[str, Any]:
        return {"Status": "ok", "Version": __version__, "Home": str(services.settings.home)}

    app.include_router(objects.router, tags=["objects"])
    app.include_router(images.router, tags=["images"])
    app.include_router(frameworks.router, tags=["images"])
    app.include_router(training_jobs.router, tags=["training jobs"])
    app.include_router(processing_jobs.router, tags=["processing jobs"])
    app.include_router(transform_jobs.router, tags=["transform jobs"])
    app.include_router(compilation_jobs.router, tags=["edge"])
    app.include_router(edge_packaging_jobs.router, tags=["edge"])
    app.include_router(edge.router, tags=["edge"])
    app.include_router(models.router, tags=["models"])
    app.include_router(endpoint_configs.router, tags=["endpoint configs"])
    app.include_router(endpoints.router, tags=["endpoints"])
    app.include_router(autoscaling.router, tags=["autoscaling"])
    app.include_router(alarms.router, tags=["alarms"])
    # Outermost: invocations are answered before FastAPI's routing (see router_asgi).
    token = services.settings.api_token
    app.add_middleware(
        InvocationsMiddleware,
        router=lambda: services.endpoints.router,
        token=token.get_secret_value() if token is not None else None,
    )
    return app


def error_response(error: ModelyardError) -> JSONResponse:
    return JSONResponse(status_code=error.http_status, content=error.to_dict())


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelyardError)
    async def modelyard_error(request: Request, exc: ModelyardError) -> JSONResponse:
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        location = [str(part) for part in first.get("loc", ()) if part not in ("body",)]
        field = ".".join(location[1:] if location[:1] in (["query"], ["path"]) else location)
        message = f"{field or 'request'}: {first.get('msg', 'invalid value')}"
        return JSONResponse(
            status_code=400,
            content={"error": {"code": "ValidationError", "message": message, "field": field}},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "UnknownOperation", 405: "MethodNotAllowed"}.get(exc.status_code, "HttpError")
        message = (
            f"no such route: {request.method} {request.url.path}"
            if exc.status_code in (404, 405)
            else str(exc.detail)
        )
        return JSONResponse(
            status_code=exc.status_code, content={"error": {"code": code, "message": message}}
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed unexpectedly", request.method, request.url.path)
        return JSONResponse(
            status_code=500,
            content={
                "error": {
                    "code": "InternalFailure",
                    "message": f"internal error ({type(exc).__name__}); the server log has details",
                }
            },
        )


def _install_auth(app: FastAPI, services: Services) -> None:
    token = services.settings.api_token
    if token is None:
        return
    expected = f"Bearer {token.get_secret_value()}".encode()

    @app.middleware("http")
    async def require_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            reason = "a wrong" if given else "no"
            return error_response(
                AuthenticationError(
                    f"the request carries {reason} API token: send "
                    "'Authorization: Bearer <MODELYARD_API_TOKEN>'",
                    field="Authorization",
                )
            )
        return await call_next(request)
