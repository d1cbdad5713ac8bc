"""Compile images: a framework image plus the ONNX tool chain (``sklearn-onnx:1.5``).

A model must be loaded by its own framework to be converted, so a compilation runs
in the framework's environment with onnx, onnxruntime and the framework's
converter added. These images are derived programmatically from the framework
images of ``images/frameworks.json`` (their pins, plus :data:`ONNX_PACKAGES`), so
the framework table stays the training images' own. ONNX models compile in the
scikit-learn compile image (it has onnx and onnxruntime).
"""

from __future__ import annotations

import contextlib

from modelyard.images import frameworks
from modelyard.images.registry import ImageRegistry
from modelyard.images.spec import ImageSpec

#: Versions that install together with every framework image here (numpy 2.0-2.2).
ONNX_PACKAGES = ("onnx==1.23.2", "onnxruntime==1.32.0")
CONVERTERS = {
    "sklearn": ("skl2onnx==1.20.0",),
    "xgboost": ("onnxmltools==1.16.0", "skl2onnx==1.20.0"),
    "pytorch": (),
}
#: Framework versions compiled with when a request names none (the SDK's framework images).
DEFAULT_VERSIONS = {"sklearn": "1.5", "xgboost": "2.1", "pytorch": "2.13"}
#: The framework image a compilation of an ONNX model uses.
ONNX_BASE = "sklearn"


def compile_image_spec(framework: str, version: str | None = None) -> ImageSpec:
    """The compile image of ``framework`` (a default version if None)."""
    base_name = ONNX_BASE if framework == "onnx" else framework
    if version is None or framework == "onnx":
        version = DEFAULT_VERSIONS[base_name]
    base = frameworks.resolve(base_name, version)
    return ImageSpec(
        name=f"{base.framework}-onnx",
        tag=base.version,
        packages=(*base.packages, *ONNX_PACKAGES, *CONVERTERS[base.framework]),
        framework=base.framework,
        framework_version=base.version,
        include_toolkit=True,
    )


def ensure_registered(images: ImageRegistry, spec: ImageSpec) -> str:
    """Register the compile image if the registry does not know it yet; its ``name:tag``."""
    from modelyard.errors import AlreadyExistsError, NotFoundError

    try:
        images.get(spec.name_tag)
    except NotFoundError:
        with contextlib.suppress(AlreadyExistsError):  # registered concurrently
            images.register(spec)
    return spec.name_tag
