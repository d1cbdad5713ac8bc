"""``image_uris.retrieve``: the image that runs a framework version, as sagemaker's does.

sagemaker returns an ECR URI (``...dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1``);
modelyard returns its framework image's ``name:tag`` (``xgboost:1.7-1``), which
``Estimator(image_uri=...)``, ``Model(image_uri=...)`` and ``TrainingImage`` take. So a
notebook that does ``image_uris.retrieve("xgboost", region, "1.7-1")`` and trains the
built-in algorithm runs unchanged. Offline, like sagemaker's: the answer comes from the
framework table shipped with modelyard (aliases resolved: ``1.7`` -> ``1.7-1``); the
server registers the image and builds it on first use. Arguments that choose among
AWS's variants (region, instance type, py_version, image scope...) are accepted and
ignored: there is one image per framework version here.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ValidationError
from modelyard.images import frameworks


def retrieve(
    framework: str,
    region: str | None = None,
    version: str | None = None,
    py_version: str | None = None,
    instance_type: str | None = None,
    accelerator_type: str | None = None,
    image_scope: str | None = None,
    container_version: str | None = None,
    distribution: dict[str, Any] | None = None,
    base_framework_version: str | None = None,
    training_compiler_config: Any = None,
    model_id: str | None = None,
    model_version: str | None = None,
    hub_arn: str | None = None,
    tolerate_vulnerable_model: bool = False,
    tolerate_deprecated_model: bool = False,
    sdk_version: str | None = None,
    inference_tool: str | None = None,
    serverless_inference_config: Any = None,
    sagemaker_session: Any = None,
    config_name: str | None = None,
    model_type: Any = None,
) -> str:
    """``<framework>:<version>`` of modelyard's framework image; ValueError for an unknown one."""
    try:
        found = frameworks.get_framework(framework)
    except ValidationError as exc:
        raise ValueError(exc.message) from exc
    known = list(found.versions)
    if version is None or version == "latest":
        if version is None and len(known) > 1:
            raise ValueError(
                f"give the {found.name} version to retrieve: one of {', '.join(known)}"
            )
        return f"{found.name}:{known[-1]}"
    canonical = found.version_aliases.get(version, version)
    if canonical not in found.versions:
        raise ValueError(
            f"Unsupported {found.name} version: {version}. Supported {found.name} "
            f"version(s): {', '.join(known)}."
        )
    return f"{found.name}:{canonical}"
