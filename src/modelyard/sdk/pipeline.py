"""``PipelineModel``: an inference pipeline of models, with sagemaker's arguments.

Its containers (one per model, in order) become one model of several containers
(``Containers`` in CreateModel); an endpoint serving it runs them in order, each one's
answer being the next one's request. ``deploy()`` serves it behind an endpoint and
``transformer()`` runs it over a dataset (batch transform), with sagemaker's arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.formats.deserializers import BaseDeserializer
from modelyard.formats.serializers import BaseSerializer
from modelyard.ids import unique_name_from_base
from modelyard.sdk.hosting import production_variant, session_of
from modelyard.sdk.model import Model, PredictorFactory, base_name_from_image
from modelyard.sdk.predictor import Predictor
from modelyard.sdk.serving import TransformerMixin, predictor_of, serve_variant
from modelyard.sdk.transformer import Transformer

if TYPE_CHECKING:
    from modelyard.sdk.data_capture import DataCaptureConfig
    from modelyard.sdk.session import Session


class PipelineModel(TransformerMixin):
    """Models chained into one endpoint (``sagemaker.pipeline.PipelineModel``)."""

    def __init__(
        self,
        models: list[Model],
        role: str | None = None,
        predictor_cls: PredictorFactory | None = None,
        name: str | None = None,
        vpc_config: dict[str, list[str]] | None = None,
        sagemaker_session: Session | None = None,
        enable_network_isolation: bool | None = None,
    ) -> None:
        if not models:
            raise ValueError("a PipelineModel needs at least one model")
        self.models = models
        self.role = role
        self.predictor_cls = predictor_cls
        self.name = name
        self.vpc_config = vpc_config
        self.sagemaker_session = sagemaker_session or models[0].sagemaker_session
        self.enable_network_isolation = enable_network_isolation
        self.endpoint_name: str | None = None

    @property
    def session(self) -> Session:
        if self.sagemaker_session is None:
            self.sagemaker_session = session_of(None)
        for model in self.models:
            model.sagemaker_session = model.sagemaker_session or self.sagemaker_session
        return self.sagemaker_session

    def pipeline_container_def(self, instance_type: str | None = None) -> list[dict[str, Any]]:
        """The containers of CreateModel, in order."""
        self.session  # noqa: B018 - gives every model the session
        return [model.prepare_container_def(instance_type) for model in self.models]

    def _ensure_name(self) -> str:
        if self.name is None:
            image = self.models[0].serving_image_uri()
            self.name = unique_name_from_base(f"pipeline-{base_name_from_image(image)}")
        return self.name

    def deploy(
        self,
        initial_instance_count: int,
        instance_type: str,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        endpoint_name: str | None = None,
        tags: list[dict[str, str]] | None = None,
        wait: bool = True,
        update_endpoint: bool = False,
        data_capture_config: DataCaptureConfig | None = None,
        kms_key: str | None = None,
        volume_size: int | None = None,
        model_data_download_timeout: int | None = None,
        container_startup_health_check_timeout: int | None = None,
    ) -> Any:
        """Create the pipeline model and an endpoint serving it; its predictor."""
        name = self._create(instance_type, tags)
        endpoint_name = endpoint_name or name
        self.endpoint_name = endpoint_name
        variant = production_variant(
            name,
            instance_type,
            initial_instance_count,
            volume_size=volume_size,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
        )
        serve_variant(
            self.session,
            endpoint_name,
            variant,
            update_endpoint=update_endpoint,
            wait=wait,
            tags=tags,
            config_tags=None,
            kms_key=kms_key,
            data_capture_config=data_capture_config,
        )
        factory = self.predictor_cls or Predictor
        return predictor_of(factory, endpoint_name, self.session, serializer, deserializer)

    def _create(self, instance_type: str | None, tags: list[dict[str, str]] | None) -> str:
        """CreateModel of the pipeline (an existing model of the same name is used)."""
        name = self._ensure_name()
        self.session.create_model(
            name,
            self.role,
            self.pipeline_container_def(instance_type),
            enable_network_isolation=self.enable_network_isolation,
            tags=tags,
        )
        return name

    def _transformer(self, instance_count: int, instance_type: str, **options: Any) -> Transformer:
        """The whole pipeline per record (the pipeline model created first)."""
        name = self._create(instance_type, options.get("tags"))
        return Transformer(
            name,
            instance_count,
            instance_type,
            base_transform_job_name=name,
            sagemaker_session=self.session,
            **options,
        )

    def delete_model(self) -> None:
        if self.name is None:
            raise ValueError("The SageMaker model must be created before attempting to delete.")
        self.session.delete_model(self.name)
