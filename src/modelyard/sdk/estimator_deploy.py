"""``deploy()`` and ``transformer()`` of an estimator: the latest job's model, served.

As sagemaker's ``EstimatorBase``: the model (from ``create_model``, which each estimator
defines) is named after the job's base name, then deployed to an endpoint or given a
``Transformer`` for batch transform. Split from :mod:`modelyard.sdk.estimator`, whose
:class:`~modelyard.sdk.estimator.EstimatorBase` provides what is declared here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, cast

from modelyard.ids import unique_name_from_base
from modelyard.sdk.naming import base_name_from_image

if TYPE_CHECKING:
    from modelyard.sdk.estimator import EstimatorBase
    from modelyard.sdk.training_jobs import TrainingJob


class EstimatorDeployMixin(ABC):
    """Deploying what an estimator trained (see the module doc).

    Abstract like sagemaker's ``EstimatorBase``: ``EstimatorBase`` provides the latest job
    and the training image, each concrete estimator its ``create_model``.
    """

    base_job_name: str | None
    tags: list[dict[str, str]] | None

    @abstractmethod
    def _latest(self) -> TrainingJob: ...

    @abstractmethod
    def training_image_uri(self) -> str: ...

    @abstractmethod
    def create_model(self, **kwargs: Any) -> Any:
        """A :class:`~modelyard.sdk.model.Model` of the latest job (subclasses decide which)."""

    def deploy(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        serializer: Any = None,
        deserializer: Any = None,
        accelerator_type: str | None = None,
        endpoint_name: str | None = None,
        use_compiled_model: bool = False,
        wait: bool = True,
        model_name: str | None = None,
        kms_key: str | None = None,
        data_capture_config: Any = None,
        tags: list[dict[str, str]] | None = None,
        serverless_inference_config: Any = None,
        async_inference_config: Any = None,
        volume_size: int | None = None,
        model_data_download_timeout: int | None = None,
        container_startup_health_check_timeout: int | None = None,
        inference_recommendation_id: str | None = None,
        explainer_config: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Deploy the latest job's model to an endpoint; the predictor of it (sagemaker's
        ``EstimatorBase.deploy``: model and endpoint are named after the job's base name)."""
        job = self._latest()
        described = job.describe()
        if described.get("TrainingJobStatus") != "Completed":
            raise ValueError(
                f"training job {job.job_name} is {described.get('TrainingJobStatus')}: "
                "only a Completed job's model can be deployed"
            )
        base = self.base_job_name or base_name_from_image(self.training_image_uri(), "estimator")
        default_name = unique_name_from_base(base)
        model = self.create_model(**kwargs)
        model.name = model_name or default_name
        return model.deploy(
            initial_instance_count=initial_instance_count,
            instance_type=instance_type,
            serializer=serializer,
            deserializer=deserializer,
            accelerator_type=accelerator_type,
            endpoint_name=endpoint_name or default_name,
            tags=tags or self.tags,
            wait=wait,
            kms_key=kms_key,
            data_capture_config=data_capture_config,
            serverless_inference_config=serverless_inference_config,
            async_inference_config=async_inference_config,
            volume_size=volume_size,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
        )

    def transformer(
        self,
        instance_count: int,
        instance_type: str,
        strategy: str | None = None,
        assemble_with: str | None = None,
        output_path: str | None = None,
        output_kms_key: str | None = None,
        accept: str | None = None,
        env: dict[str, str] | None = None,
        max_concurrent_transforms: int | None = None,
        max_payload: int | None = None,
        tags: list[dict[str, str]] | None = None,
        role: str | None = None,
        volume_kms_key: str | None = None,
        vpc_config_override: Any = "VPC_CONFIG_DEFAULT",
        enable_network_isolation: bool | None = None,
        model_name: str | None = None,
        **model_options: Any,
    ) -> Any:
        """A ``Transformer`` of the latest job's model (sagemaker's; the model is named
        after the job unless ``model_name``; framework options such as
        ``model_server_workers`` or ``entry_point`` go to ``create_model``)."""
        from modelyard.sdk.transformer import for_estimator

        if role is not None:
            model_options["role"] = role
        return for_estimator(
            cast("EstimatorBase", self),
            instance_count,
            instance_type,
            model_name=model_name,
            env=env,
            model_options=model_options,
            strategy=strategy,
            assemble_with=assemble_with,
            output_path=output_path,
            output_kms_key=output_kms_key,
            accept=accept,
            max_concurrent_transforms=max_concurrent_transforms,
            max_payload=max_payload,
            tags=tags,
            volume_kms_key=volume_kms_key,
        )
