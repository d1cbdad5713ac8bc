"""``/frameworks``: which image runs a framework version (sagemaker's ``image_uris.retrieve``).

Framework estimators (``SKLearn(framework_version="1.5")``) ask the server for their
image: the answer is the ``name:tag`` of the framework image, registered on first
request and built on first use.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.get("/frameworks/{framework}/versions/{version}/image")
def framework_image(
    framework: str, version: str, services: ServicesDep, py_version: str | None = None
) -> dict[str, Any]:
    """``{"TrainingImage": "sklearn:1.5", ...}``; an unknown version is 400 naming those that exist.

    ``py_version`` (``py3``) is accepted as sagemaker does and ignored: images use the
    server's Python.
    """
    name_tag = services.images.framework_image(framework, version)
    described = services.images.describe(name_tag)
    return {
        "TrainingImage": name_tag,
        "ImageStatus": described["ImageStatus"],
        "Framework": described["Framework"],
        "FrameworkVersion": described["FrameworkVersion"],
    }
