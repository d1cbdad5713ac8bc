"""``/images``: the container registry (register, build, describe, logs, remove).

Images are addressed as ``name:tag`` in the path (``/images/sklearn:1.5``); a
missing tag means ``latest``. Responses are the describe shape of
:meth:`modelyard.images.ImageRegistry.describe_record` (PascalCase).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Body
from fastapi.responses import StreamingResponse

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.get("/images")
def list_images(services: ServicesDep) -> dict[str, Any]:
    """Every image with its status (``ImageStatus``: Pending, Building, Ready, Failed)."""
    registry = services.images
    return {"Images": [registry.describe_record(r) for r in registry.list()]}


@router.post("/images", status_code=201)
def register_image(
    services: ServicesDep, body: dict[str, Any] = Body(..., examples=[{"Name": "my-image"}])
) -> dict[str, Any]:
    """Register an image: ``Name``, ``Tag``, ``Packages``, ``Requirements`` (the content
    of a requirements file), ``EntryPoint``, ``CodeDir`` (a directory on the server's
    machine, copied into the image), ``IncludeToolkit``, ``PythonVersion``. Nothing is
    built until the first build or use."""
    registry = services.images
    return registry.describe_record(registry.register_request(body))


@router.get("/images/{name_tag}")
def describe_image(name_tag: str, services: ServicesDep) -> dict[str, Any]:
    return services.images.describe(name_tag)


@router.post("/images/{name_tag}/build", status_code=202)
def build_image(name_tag: str, services: ServicesDep, wait: bool = False) -> dict[str, Any]:
    """Start building (a ready image returns at once); ``?wait=true`` answers when it ended."""
    registry = services.images
    return registry.describe_record(registry.build(name_tag, wait=wait))


@router.delete("/images/{name_tag}")
def delete_image(name_tag: str, services: ServicesDep) -> dict[str, Any]:
    """Remove an image (409 while it builds); its environment stays in the machine's cache."""
    services.images.remove(name_tag)
    return {}


@router.get("/images/{name_tag}/logs")
def image_logs(
    name_tag: str, services: ServicesDep, follow: bool = False, since_line: int = 0
) -> StreamingResponse:
    """The build log as text lines; ``?follow=true`` streams until the build ends."""
    lines = services.images.logs(name_tag, follow=follow, since_line=since_line)

    def body() -> Iterator[str]:
        for line in lines:
            yield f"{line}\n"

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")
