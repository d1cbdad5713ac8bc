"""Getting a deployment ready to launch: each variant's image built and model files fetched.

Runs in the controller's worker pool (an image may need building, a model archive
downloading); the loop launches replicas once it has the :class:`VariantLaunch` of
every variant, and fails the deployment with the error otherwise. An inference
pipeline's containers are each prepared the same way (images built, model data in
``<model>-<version>/<index>/``).
"""

from __future__ import annotations

from typing import Any

from modelyard.errors import ValidationError
from modelyard.hosting.deployments import Deployment, VariantLaunch
from modelyard.hosting.model_data import ModelData
from modelyard.hosting.models import containers_of
from modelyard.hosting.replicas import ContainerLaunch
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
    """What replicas of one model are launched with: its images built, its files in place.

    ``model`` is the model as a deployment snapshots it (``{"Spec", "Version"}``); batch
    transform launches its replicas from the same preparation. Every container of an
    inference pipeline is prepared (its own image, model directory and environment);
    the launch's single-container fields then describe the first one.
    """
    containers = containers_of(model["Spec"])
    if not containers:
        raise ValidationError(
            f"model {model_name!r} has no container: give PrimaryContainer or Containers",
            field="Containers",
        )
    prepared = tuple(
        ContainerLaunch(
            image_root=images.ensure_ready(str(container["Image"])),
            base_dir=model_data.prepare(model_name, model["Version"], index, container),
            environment={str(k): str(v) for k, v in (container.get("Environment") or {}).items()},
            image=str(container["Image"]),
            label=container_label(index, container),
        )
        for index, container in enumerate(containers)
    )
    first = prepared[0]
    return VariantLaunch(
        image_root=first.image_root,
        base_dir=first.base_dir,
        environment=first.environment,
        profile=instance_profile(instance_type),
        image=first.image,
        containers=prepared if len(prepared) > 1 else (),
    )


def container_label(index: int, container: dict[str, Any]) -> str:
    """How errors name a pipeline's container: its index and hostname (else its image)."""
    name = container.get("ContainerHostname") or container.get("Image")
    return f"container {index} ({name})"
