"""``Model`` and ``FrameworkModel``: deployable models with sagemaker SDK v2's arguments.

``Model(image_uri, model_data, ...).deploy(initial_instance_count, instance_type)``
creates the model (CreateModel), an endpoint config named after the endpoint with one
``AllTraffic`` variant, and the endpoint; with ``wait`` it returns once the endpoint is
InService. ``entry_point`` / ``source_dir`` (script mode) are packed into
``sourcedir.tar.gz`` and uploaded (unless ``source_dir`` is an ``s3://`` bundle already,
as after training), and named in ``SAGEMAKER_PROGRAM`` / ``SAGEMAKER_SUBMIT_DIRECTORY``:
the platform puts them at ``model/code/`` where the serving container imports them.

``deploy`` returns ``predictor_cls(endpoint_name, session)`` with the serializer and
deserializer given; where sagemaker returns None (a ``Model`` without ``predictor_cls``)
modelyard returns a plain :class:`~modelyard.sdk.predictor.Predictor`. Arguments with
no meaning here (``vpc_config``, ``model_kms_key``, ``accelerator_type``...) are
accepted and ignored, so SageMaker code runs unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelyard.formats.deserializers import BaseDeserializer
from modelyard.formats.serializers import BaseSerializer
from modelyard.ids import unique_name_from_base
from modelyard.sdk import naming, sourcedir
from modelyard.sdk.hosting import production_variant, session_of
from modelyard.sdk.images import framework_image_uri
from modelyard.sdk.predictor import Predictor
from modelyard.sdk.serving import TransformerMixin, predictor_of, serve_variant

if TYPE_CHECKING:
    from modelyard.sdk.compile import CompiledModel
    from modelyard.sdk.data_capture import DataCaptureConfig
    from modelyard.sdk.session import Session
    from modelyard.sdk.transformer import Transformer

log = logging.getLogger(__name__)

SCRIPT_PARAM = "SAGEMAKER_PROGRAM"
DIR_PARAM = "SAGEMAKER_SUBMIT_DIRECTORY"
LOG_LEVEL_PARAM = "SAGEMAKER_CONTAINER_LOG_LEVEL"
REGION_PARAM = "SAGEMAKER_REGION"
WORKERS_PARAM = "SAGEMAKER_MODEL_SERVER_WORKERS"

PredictorFactory = Callable[..., Any]


def base_name_from_image(image: str, default: str = "Model") -> str:
    """``sklearn`` from ``sklearn:1.5`` (sagemaker's ``base_name_from_image``)."""
    return naming.base_name_from_image(image, default)


#: sagemaker's ``base_from_name``: ``sklearn`` from ``sklearn-2024-01-01-00-00-00-000``.
base_from_name = naming.base_from_name


class Model(TransformerMixin):
    """A model to deploy: an image, model data and environment (see the module doc)."""

    def __init__(
        self,
        image_uri: str | None = None,
        model_data: str | None = None,
        role: str | None = None,
        predictor_cls: PredictorFactory | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        vpc_config: dict[str, list[str]] | None = None,
        sagemaker_session: Session | None = None,
        enable_network_isolation: bool | None = None,
        model_kms_key: str | None = None,
        image_config: dict[str, str] | None = None,
        source_dir: str | None = None,
        code_location: str | None = None,
        entry_point: str | None = None,
        container_log_level: int = logging.INFO,
        dependencies: list[str] | None = None,
        git_config: dict[str, str] | None = None,
        resources: Any = None,
        additional_model_data_sources: dict[str, Any] | None = None,
        model_reference_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            log.debug("ignored model arguments: %s", ", ".join(sorted(kwargs)))
        self.image_uri = image_uri
        self.model_data = model_data
        self.role = role
        self.predictor_cls = predictor_cls
        self.env = dict(env or {})
        self.name = name
        self._base_name: str | None = None
        self.vpc_config = vpc_config
        self.sagemaker_session = sagemaker_session
        self.enable_network_isolation = enable_network_isolation
        self.model_kms_key = model_kms_key
        self.image_config = image_config
        self.source_dir = source_dir
        self.code_location = code_location
        self.entry_point = entry_point
        self.container_log_level = container_log_level
        self.dependencies = dependencies or []
        self.endpoint_name: str | None = None
        self.predictor: Any = None
        self._uploaded_code: sourcedir.UploadedCode | None = None
        self.compiled_model: CompiledModel | None = None

    # -- what the container gets ---------------------------------------------------------

    @property
    def session(self) -> Session:
        if self.sagemaker_session is None:
            self.sagemaker_session = session_of(None)
        return self.sagemaker_session

    def serving_image_uri(self, instance_type: str | None = None) -> str:
        """The image the model is served with (frameworks find theirs by version)."""
        if not self.image_uri:
            raise ValueError("Model needs an image_uri (a modelyard image name:tag)")
        return self.image_uri

    def _script_mode_env(self) -> dict[str, str]:
        """``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``... when there is an entry point."""
        if not self.entry_point:
            return {}
        if self.source_dir and self.source_dir.startswith("s3://"):
            script, directory = self.entry_point, self.source_dir
        else:
            if self._uploaded_code is None:
                location = self.code_location or f"s3://{self.session.default_bucket()}/"
                self._uploaded_code = sourcedir.upload(
                    self.session.client,
                    location,
                    self._ensure_name(),
                    self.entry_point,
                    self.source_dir,
                    self.dependencies,
                )
            script, directory = self._uploaded_code.script_name, self._uploaded_code.s3_prefix
        return {
            SCRIPT_PARAM: script.rsplit("/", 1)[-1],
            DIR_PARAM: directory,
            LOG_LEVEL_PARAM: str(self.container_log_level),
            REGION_PARAM: self.session.settings.region,
        }

    def prepare_container_def(
        self,
        instance_type: str | None = None,
        accelerator_type: str | None = None,
        serverless_inference_config: Any = None,
        accept_eula: bool | None = None,
        model_reference_arn: str | None = None,
    ) -> dict[str, Any]:
        """The ``ContainerDefinition`` of CreateModel (sagemaker's ``container_def``)."""
        environment = {**self.env, **self._script_mode_env()}
        definition: dict[str, Any] = {
            "Image": self.serving_image_uri(instance_type),
            "Environment": environment,
        }
        if self.model_data:
            definition["ModelDataUrl"] = self.model_data
        if self.image_config:
            definition["ImageConfig"] = self.image_config
        return definition

    # -- creating and deploying ------------------------------------------------------------

    def _ensure_name(self) -> str:
        if self.name is None:
            self._base_name = self._base_name or base_name_from_image(
                self.serving_image_uri(), default=type(self).__name__
            )
            self.name = unique_name_from_base(self._base_name)
        return self.name

    def create(
        self,
        instance_type: str | None = None,
        accelerator_type: str | None = None,
        serverless_inference_config: Any = None,
        tags: list[dict[str, str]] | None = None,
        accept_eula: bool | None = None,
        model_reference_arn: str | None = None,
    ) -> None:
        """CreateModel (an existing model of the same name is used as it is)."""
        name = self._ensure_name()
        self.session.create_model(
            name,
            self.role,
            self.prepare_container_def(instance_type),
            enable_network_isolation=self.enable_network_isolation,
            tags=tags,
        )

    def deploy(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        accelerator_type: str | None = None,
        endpoint_name: str | None = None,
        tags: list[dict[str, str]] | None = None,
        kms_key: str | None = None,
        wait: bool = True,
        data_capture_config: DataCaptureConfig | None = None,
        async_inference_config: Any = None,
        serverless_inference_config: Any = None,
        volume_size: int | None = None,
        model_data_download_timeout: int | None = None,
        container_startup_health_check_timeout: int | None = None,
        inference_recommendation_id: str | None = None,
        explainer_config: Any = None,
        accept_eula: bool | None = None,
        endpoint_logging: bool = False,
        resources: Any = None,
        endpoint_type: Any = "ModelBased",
        managed_instance_scaling: Any = None,
        inference_component_name: str | None = None,
        routing_config: dict[str, Any] | None = None,
        model_reference_arn: str | None = None,
        inference_ami_version: str | None = None,
        update_endpoint: bool | None = False,
        **kwargs: Any,
    ) -> Any:
        """Create the model, an endpoint config and the endpoint; the predictor of it."""
        if serverless_inference_config is not None or async_inference_config is not None:
            raise ValueError("serverless and asynchronous inference are not supported yet")
        if initial_instance_count is None or instance_type is None:
            raise ValueError(
                "Must specify instance type and instance count unless using serverless inference"
            )
        self.create(instance_type, tags=tags)
        name = self._ensure_name()
        if endpoint_name is None:
            endpoint_name = unique_name_from_base(self._base_name or base_from_name(name))
        self.endpoint_name = endpoint_name
        variant = production_variant(
            name,
            instance_type,
            initial_instance_count,
            volume_size=volume_size,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
            routing_config=routing_config,
        )
        serve_variant(
            self.session,
            endpoint_name,
            variant,
            update_endpoint=update_endpoint,
            wait=wait,
            tags=tags,
            config_tags=tags,
            kms_key=kms_key,
            data_capture_config=data_capture_config,
        )
        factory = self.predictor_cls or Predictor
        self.predictor = predictor_of(
            factory, endpoint_name, self.session, serializer, deserializer
        )
        return self.predictor

    def _transformer(self, instance_count: int, instance_type: str, **options: Any) -> Transformer:
        from modelyard.sdk.transformer import for_model

        return for_model(self, instance_count, instance_type, **options)

    def compile(
        self,
        target_instance_family: str | None,
        input_shape: dict[str, Any] | str | None,
        output_path: str,
        role: str | None = None,
        tags: list[dict[str, str]] | None = None,
        job_name: str | None = None,
        compile_max_run: int = 15 * 60,
        framework: str | None = None,
        framework_version: str | None = None,
        target_platform_os: str | None = None,
        target_platform_arch: str | None = None,
        target_platform_accelerator: str | None = None,
        compiler_options: dict[str, Any] | str | None = None,
    ) -> Model:
        """Compile ``model_data`` to a verified ONNX artifact (sagemaker v2's ``Model.compile``).

        As in sagemaker, the model itself now points at the compiled artifact and is
        returned; the compilation job's report stays in ``self.compiled_model``.
        """
        from modelyard.sdk.compile import compile_model_data

        chosen = framework or getattr(self, "_framework_name", "")
        if not chosen:
            raise ValueError("compile() needs framework= (e.g. 'sklearn', 'xgboost', 'pytorch')")
        if not self.model_data:
            raise ValueError("compile() needs model_data: the model.tar.gz to compile")
        compiled = compile_model_data(
            self.session,
            self.model_data,
            framework=chosen,
            output_path=output_path,
            target_instance_family=target_instance_family,
            input_shape=input_shape,
            job_name=job_name,
            framework_version=framework_version or getattr(self, "framework_version", None),
            compile_max_run=compile_max_run,
            tags=tags,
            target_platform_os=target_platform_os,
            target_platform_arch=target_platform_arch,
            target_platform_accelerator=target_platform_accelerator,
            compiler_options=compiler_options,
        )
        self.compiled_model = compiled
        self.model_data = compiled.model_data
        return self

    def delete_model(self) -> None:
        """DeleteModel of this model."""
        if self.name is None:
            raise ValueError(
                "The SageMaker model must be created first before attempting to delete."
            )
        self.session.delete_model(self.name)


class FrameworkModel(Model):
    """A model served by a framework image, in script mode (``entry_point``)."""

    _framework_name: str = ""

    def __init__(
        self,
        model_data: str | None,
        image_uri: str | None,
        role: str | None = None,
        entry_point: str | None = None,
        source_dir: str | None = None,
        predictor_cls: PredictorFactory | None = None,
        env: dict[str, str] | None = None,
        name: str | None = None,
        container_log_level: int = logging.INFO,
        code_location: str | None = None,
        sagemaker_session: Session | None = None,
        dependencies: list[str] | None = None,
        git_config: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            image_uri=image_uri,
            model_data=model_data,
            role=role,
            predictor_cls=predictor_cls,
            env=env,
            name=name,
            sagemaker_session=sagemaker_session,
            source_dir=source_dir,
            code_location=code_location,
            entry_point=entry_point,
            container_log_level=container_log_level,
            dependencies=dependencies,
            git_config=git_config,
            **kwargs,
        )
        self.framework_version: str | None = None
        self.model_server_workers: int | None = None

    def serving_image_uri(self, instance_type: str | None = None) -> str:
        """``image_uri``, else the server's framework image for ``framework_version``."""
        if self.image_uri:
            return self.image_uri
        if not self._framework_name or not self.framework_version:
            raise ValueError("give image_uri, or framework_version for a framework model")
        self.image_uri = framework_image_uri(
            self.session.client, self._framework_name, self.framework_version
        )
        return self.image_uri

    def prepare_container_def(
        self,
        instance_type: str | None = None,
        accelerator_type: str | None = None,
        serverless_inference_config: Any = None,
        accept_eula: bool | None = None,
        model_reference_arn: str | None = None,
    ) -> dict[str, Any]:
        definition = super().prepare_container_def(instance_type)
        if self.model_server_workers:
            definition["Environment"][WORKERS_PARAM] = str(self.model_server_workers)
        return definition
