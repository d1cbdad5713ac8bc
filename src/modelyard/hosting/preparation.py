"""Getting a deployment ready to launch: each variant's image built and model files fetched.

Runs in the controller's worker pool (an image may need building, a model archive
downloading); the loop launches replicas once it has the :class:`VariantLaunch` of
every variant, and fails the deployment with the error otherwise.
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ValidationError
from modelyard.hosting.deployments import Deployment, VariantLaunch
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.models import containers_of
from modelyard.images.registry import ImageRegistry
from modelyard.jobs.instance_types import instance_profile


def prepare_launches(
    deployment: Deployment, images: ImageRegistry, model_data: ModelData
) -> dict[str, VariantLaunch]:
    """What each variant of ``deployment`` is launched with."""
    return {
        variant["VariantName"]: prepare_model_launch(
            variant["ModelName"],
            deployment.models[variant["ModelName"]],
            variant.get("InstanceType", "local"),
            images,
            model_data,
        )
        for variant in deployment.variant_specs()
    }


def prepare_model_launch(
    model_name: str,
    model: dict[str, Any],
    instance_type: str,
    images: ImageRegistry,
    model_data: ModelData,
) -> VariantLaunch:
    """What replicas of one model are launched with: its image built, its files in place.

    ``model`` is the model as a deployment snapshots it (``{"Spec", "Version"}``); batch
    transform launches its replicas from the same preparation. An inference pipeline of
    several containers is refused for now.
    """
    containers = containers_of(model["Spec"])
    if len(containers) != 1:
        raise ValidationError(
            f"model {model_name!r} is an inference pipeline of {len(containers)} "
            "containers: deploying pipelines is not supported yet"
        )
    container = containers[0]
    image = str(container["Image"])
    return VariantLaunch(
        image_root=images.ensure_ready(image),
        base_dir=model_data.prepare(model_name, model["Version"], 0, container),
        environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
        profile=instance_profile(instance_type),
        image=image,
    )
