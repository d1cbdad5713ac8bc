"""Models, endpoint configs and endpoints over HTTP, and ``Session``'s methods for them.

:class:`HostingSessionMixin` gives :class:`~modelyard.sdk.session.Session` the methods of
``sagemaker.Session`` that notebooks call (``create_model``, ``create_endpoint_config``,
``create_endpoint``, ``endpoint_from_production_variants``, ``update_endpoint``,
``wait_for_endpoint``, ``delete_endpoint``, ...), with the same arguments and return
values. :func:`production_variant` builds the same dictionary as sagemaker's.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from modelyard.errors import AlreadyExistsError
from modelyard.ids import unique_name_from_base
from modelyard.sdk.client import ApiClient
from modelyard.sdk.training_jobs import UnexpectedStatusException

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

log = logging.getLogger(__name__)

SETTLED = ("InService", "Failed", "OutOfService", "UpdateRollbackFailed")
_TIME_KEYS = ("CreationTime", "LastModifiedTime")


def production_variant(
    model_name: str | None = None,
    instance_type: str | None = None,
    initial_instance_count: int | None = None,
    variant_name: str = "AllTraffic",
    initial_weight: float = 1,
    accelerator_type: str | None = None,
    serverless_inference_config: dict[str, Any] | None = None,
    volume_size: int | None = None,
    model_data_download_timeout: int | None = None,
    container_startup_health_check_timeout: int | None = None,
    managed_instance_scaling: dict[str, Any] | None = None,
    routing_config: dict[str, Any] | None = None,
    inference_ami_version: str | None = None,
) -> dict[str, Any]:
    """A ``ProductionVariant`` dictionary, as ``sagemaker.production_variant`` makes it."""
    config: dict[str, Any] = {"VariantName": variant_name}
    if model_name:
        config["ModelName"] = model_name
        config["InitialVariantWeight"] = initial_weight
    if accelerator_type:
        config["AcceleratorType"] = accelerator_type
    if managed_instance_scaling:
        config["ManagedInstanceScaling"] = managed_instance_scaling
    if serverless_inference_config:
        config["ServerlessConfig"] = serverless_inference_config
    else:
        config["InitialInstanceCount"] = initial_instance_count or 1
        config["InstanceType"] = instance_type
        for key, value in (
            ("VolumeSizeInGB", volume_size),
            ("ModelDataDownloadTimeoutInSeconds", model_data_download_timeout),
            ("ContainerStartupHealthCheckTimeoutInSeconds", container_startup_health_check_timeout),
            ("RoutingConfig", routing_config),
        ):
            if value is not None:
                config[key] = value
    if inference_ami_version:
        config["InferenceAmiVersion"] = inference_ami_version
    return config


def describe_endpoint(client: ApiClient, name: str) -> dict[str, Any]:
    described: dict[str, Any] = client.get_json(f"/endpoints/{name}")
    return described


def wait_for_endpoint(client: ApiClient, name: str, *, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the endpoint settles; raise unless it is InService."""
    delay = 0.05
    while True:
        described = describe_endpoint(client, name)
        status = described["EndpointStatus"]
        if status in SETTLED:
            if status != "InService":
                reason = described.get("FailureReason", "(no reason given)")
                raise UnexpectedStatusException(
                    f"Error hosting endpoint {name}: {status}. Reason: {reason}.",
                    allowed_statuses=["InService"],
                    actual_status=status,
                )
            return described
        time.sleep(delay)
        delay = min(delay * 2, poll_s)


class HostingSessionMixin:
    """``sagemaker.Session``'s hosting methods (see the module doc)."""

    client: ApiClient

    def create_model(
        self,
        name: str,
        role: str | None = None,
        container_defs: list[dict[str, Any]] | dict[str, Any] | None = None,
        vpc_config: dict[str, Any] | None = None,
        enable_network_isolation: bool | None = None,
        primary_container: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> str:
        """CreateModel; ``container_defs`` as a list is an inference pipeline."""
        request: dict[str, Any] = {"ModelName": name}
        definition = container_defs if container_defs is not None else primary_container
        if isinstance(definition, list):
            request["Containers"] = definition
        elif definition is not None:
            request["PrimaryContainer"] = definition
        if role:
            request["ExecutionRoleArn"] = role
        if enable_network_isolation:
            request["EnableNetworkIsolation"] = True
        if tags:
            request["Tags"] = tags
        try:
            self.client.post_json("/models", request)
        except AlreadyExistsError:
            log.warning("Using already existing model: %s", name)
        return name

    def create_endpoint_config(
        self,
        name: str,
        model_name: str | None = None,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        accelerator_type: str | None = None,
        tags: list[dict[str, str]] | None = None,
        kms_key: str | None = None,
        data_capture_config_dict: dict[str, Any] | None = None,
        volume_size: int | None = None,
        model_data_download_timeout: int | None = None,
        container_startup_health_check_timeout: int | None = None,
        explainer_config_dict: dict[str, Any] | None = None,
        async_inference_config_dict: dict[str, Any] | None = None,
        serverless_inference_config_dict: dict[str, Any] | None = None,
        routing_config: dict[str, Any] | None = None,
        inference_ami_version: str | None = None,
        production_variants: list[dict[str, Any]] | None = None,
        role: str | None = None,
    ) -> str:
        """CreateEndpointConfig of one variant (or of ``production_variants``)."""
        variants = production_variants or [
            production_variant(
                model_name,
                instance_type,
                initial_instance_count,
                accelerator_type=accelerator_type,
                serverless_inference_config=serverless_inference_config_dict,
                volume_size=volume_size,
                model_data_download_timeout=model_data_download_timeout,
                container_startup_health_check_timeout=container_startup_health_check_timeout,
                routing_config=routing_config,
                inference_ami_version=inference_ami_version,
            )
        ]
        request: dict[str, Any] = {"EndpointConfigName": name, "ProductionVariants": variants}
        for key, value in (
            ("Tags", tags),
            ("KmsKeyId", kms_key),
            ("DataCaptureConfig", data_capture_config_dict),
            ("ExplainerConfig", explainer_config_dict),
            ("AsyncInferenceConfig", async_inference_config_dict),
            ("ExecutionRoleArn", role),
        ):
            if value:
                request[key] = value
        self.client.post_json("/endpoint-configs", request)
        return name

    def create_endpoint_config_from_existing(
        self,
        existing_config_name: str,
        new_config_name: str | None = None,
        new_tags: list[dict[str, str]] | None = None,
        new_kms_key: str | None = None,
        new_data_capture_config_dict: dict[str, Any] | None = None,
        new_production_variants: list[dict[str, Any]] | None = None,
        **_ignored: Any,
    ) -> str:
        """A copy of an endpoint config with some fields replaced."""
        existing = self.describe_endpoint_config(existing_config_name)
        name = new_config_name or unique_name_from_base(existing_config_name)
        request: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": new_production_variants or existing["ProductionVariants"],
        }
        for key in ("ShadowProductionVariants", "DataCaptureConfig", "KmsKeyId"):
            if existing.get(key):
                request[key] = existing[key]
        if new_data_capture_config_dict is not None:
            request["DataCaptureConfig"] = new_data_capture_config_dict
        if new_kms_key:
            request["KmsKeyId"] = new_kms_key
        if new_tags:
            request["Tags"] = new_tags
        self.client.post_json("/endpoint-configs", request)
        return name

    def create_endpoint(
        self,
        endpoint_name: str,
        config_name: str,
        tags: list[dict[str, str]] | None = None,
        wait: bool = True,
        live_logging: bool = False,
    ) -> str:
        """CreateEndpoint; with ``wait``, return once it is InService."""
        request: dict[str, Any] = {"EndpointName": endpoint_name, "EndpointConfigName": config_name}
        if tags:
            request["Tags"] = tags
        self.client.post_json("/endpoints", request)
        if wait:
            self.wait_for_endpoint(endpoint_name)
        return endpoint_name

    def endpoint_from_production_variants(
        self,
        name: str,
        production_variants: list[dict[str, Any]],
        tags: list[dict[str, str]] | None = None,
        kms_key: str | None = None,
        wait: bool = True,
        data_capture_config_dict: dict[str, Any] | None = None,
        async_inference_config_dict: dict[str, Any] | None = None,
        explainer_config_dict: dict[str, Any] | None = None,
        live_logging: bool = False,
        vpc_config: dict[str, Any] | None = None,
        enable_network_isolation: bool | None = None,
        role: str | None = None,
    ) -> str:
        """An endpoint config named ``name`` of these variants, and the endpoint."""
        self.create_endpoint_config(
            name,
            tags=tags,
            kms_key=kms_key,
            data_capture_config_dict=data_capture_config_dict,
            async_inference_config_dict=async_inference_config_dict,
            explainer_config_dict=explainer_config_dict,
            production_variants=production_variants,
            role=role,
        )
        return self.create_endpoint(name, name, tags=tags, wait=wait)

    def update_endpoint(
        self, endpoint_name: str, endpoint_config_name: str, wait: bool = True
    ) -> str:
        """UpdateEndpoint to another config; with ``wait``, return once it is InService."""
        self.client.post_json(
            f"/endpoints/{endpoint_name}/update", {"EndpointConfigName": endpoint_config_name}
        )
        if wait:
            self.wait_for_endpoint(endpoint_name)
        return endpoint_name

    def update_endpoint_weights_and_capacities(
        self, endpoint_name: str, desired_weights_and_capacities: list[dict[str, Any]]
    ) -> str:
        """UpdateEndpointWeightsAndCapacities (``VariantName``, ``DesiredWeight``,
        ``DesiredInstanceCount``)."""
        self.client.post_json(
            f"/endpoints/{endpoint_name}/weights-and-capacities",
            {"DesiredWeightsAndCapacities": desired_weights_and_capacities},
        )
        return endpoint_name

    def wait_for_endpoint(
        self, endpoint: str, poll: float = 30, live_logging: bool = False
    ) -> dict[str, Any]:
        """Until the endpoint settles (polled quickly: it is local); its description."""
        return wait_for_endpoint(self.client, endpoint, poll_s=min(poll, 1.0))

    def describe_endpoint(self, endpoint_name: str) -> dict[str, Any]:
        return describe_endpoint(self.client, endpoint_name)

    def describe_endpoint_config(self, endpoint_config_name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get_json(f"/endpoint-configs/{endpoint_config_name}")
        return found

    def describe_model(self, model_name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get_json(f"/models/{model_name}")
        return found

    def delete_endpoint(self, endpoint_name: str) -> None:
        log.info("Deleting endpoint with name: %s", endpoint_name)
        self.client.delete(f"/endpoints/{endpoint_name}")

    def delete_endpoint_config(self, endpoint_config_name: str) -> None:
        log.info("Deleting endpoint configuration with name: %s", endpoint_config_name)
        self.client.delete(f"/endpoint-configs/{endpoint_config_name}")

    def delete_model(self, model_name: str) -> None:
        log.info("Deleting model with name: %s", model_name)
        self.client.delete(f"/models/{model_name}")

    def endpoint_metrics(
        self,
        endpoint_name: str,
        metric_name: str | None = None,
        variant_name: str | None = None,
    ) -> list[dict[str, Any]]:
        """The endpoint's per-minute datapoints (modelyard's; CloudWatch's on AWS)."""
        found: list[dict[str, Any]] = self.client.get_json(
            f"/endpoints/{endpoint_name}/metrics", MetricName=metric_name, VariantName=variant_name
        )["Metrics"]
        return found

    def endpoint_shadow_report(self, endpoint_name: str) -> dict[str, Any]:
        """Production vs shadow variant: agreement, latency p50/p99, errors (modelyard's)."""
        found: dict[str, Any] = self.client.get_json(f"/endpoints/{endpoint_name}/shadow-report")
        return found

    def endpoint_replicas(self, endpoint_name: str) -> list[dict[str, Any]]:
        """The endpoint's replicas: variant, status, port, process id (modelyard's)."""
        found: list[dict[str, Any]] = self.client.get_json(f"/endpoints/{endpoint_name}/replicas")[
            "Replicas"
        ]
        return found

    def endpoint_in_service_or_not(self, endpoint_name: str) -> bool:
        return bool(describe_endpoint(self.client, endpoint_name)["EndpointStatus"] == "InService")


def session_of(session: Session | None) -> Session:
    """``session``, else a new default ``Session()``."""
    from modelyard.sdk.session import Session

    return session or Session()
