"""``Predictor``: invoke an endpoint, as ``sagemaker.predictor.Predictor`` does.

``predict(data)`` serializes ``data`` with the predictor's serializer (its
``CONTENT_TYPE`` is the request's Content-Type), sends ``POST
/endpoints/{name}/invocations`` with ``Accept`` from the deserializer's ``ACCEPT``,
and deserializes the answer. Errors come back as :mod:`modelyard.errors` classes:
the model failing is :class:`~modelyard.errors.ModelError` (424, with
``original_status_code`` / ``original_message``), a refused input a 4xx
``ValidationError`` (415 :class:`~modelyard.errors.UnsupportedMediaTypeError`,
413 :class:`~modelyard.errors.PayloadTooLargeError`...).
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import TYPE_CHECKING, Any

from modelyard.errors import ModelyardError
from modelyard.formats.deserializers import BaseDeserializer, BytesDeserializer
from modelyard.formats.serializers import BaseSerializer, IdentitySerializer
from modelyard.ids import unique_name_from_base
from modelyard.sdk.hosting import production_variant, session_of

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

log = logging.getLogger(__name__)

CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"
TARGET_VARIANT = "X-Amzn-SageMaker-Target-Variant"
TARGET_MODEL = "X-Amzn-SageMaker-Target-Model"
INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id"
INVOKED_VARIANT = "x-amzn-invoked-production-variant"


class Predictor:
    """Makes inferences against one endpoint (see the module doc)."""

    def __init__(
        self,
        endpoint_name: str,
        sagemaker_session: Session | None = None,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        component_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.sagemaker_session = session_of(sagemaker_session)
        self.serializer: BaseSerializer = serializer or IdentitySerializer()
        self.deserializer: BaseDeserializer = deserializer or BytesDeserializer()
        self.component_name = component_name
        self._endpoint_config_name: str | None = None
        self._model_names: list[str] | None = None
        #: The variant that answered the last ``predict`` (X-Amzn-Invoked-Production-Variant).
        self.last_invoked_variant: str | None = None
        #: The custom attributes the model sent back with the last answer, if any.
        self.last_custom_attributes: str | None = None

    @property
    def endpoint(self) -> str:
        """Deprecated alias of ``endpoint_name`` (sagemaker keeps it too)."""
        return self.endpoint_name

    @property
    def content_type(self) -> str:
        return self.serializer.CONTENT_TYPE

    @property
    def accept(self) -> tuple[str, ...]:
        return self.deserializer.ACCEPT

    def predict(
        self,
        data: Any,
        initial_args: dict[str, str] | None = None,
        target_model: str | None = None,
        target_variant: str | None = None,
        inference_id: str | None = None,
        custom_attributes: str | None = None,
        component_name: str | None = None,
    ) -> Any:
        """Serialize ``data``, invoke the endpoint, deserialize the answer."""
        args = dict(initial_args or {})
        headers = {
            "Content-Type": args.get("ContentType") or self.content_type,
            "Accept": args.get("Accept")
            or (self.accept if isinstance(self.accept, str) else ", ".join(self.accept)),
        }
        for header, value in (
            (TARGET_MODEL, target_model or args.get("TargetModel")),
            (TARGET_VARIANT, target_variant or args.get("TargetVariant")),
            (INFERENCE_ID, inference_id or args.get("InferenceId")),
            (CUSTOM_ATTRIBUTES, custom_attributes or args.get("CustomAttributes")),
        ):
            if value:
                headers[header] = value
        body = self.serializer.serialize(data)
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif hasattr(body, "read"):
            body = body.read()
        endpoint = args.get("EndpointName") or self.endpoint_name
        response = self.sagemaker_session.client.request(
            "POST", f"/endpoints/{endpoint}/invocations", content=bytes(body), headers=headers
        )
        self.last_invoked_variant = response.headers.get(INVOKED_VARIANT)
        self.last_custom_attributes = response.headers.get(CUSTOM_ATTRIBUTES.lower())
        content_type = response.headers.get("content-type", "application/octet-stream")
        return self.deserializer.deserialize(io.BytesIO(response.content), content_type)

    # -- the endpoint's lifecycle ------------------------------------------------------------

    def _get_endpoint_config_name(self) -> str:
        described = self.sagemaker_session.describe_endpoint(self.endpoint_name)
        self._endpoint_config_name = str(described["EndpointConfigName"])
        return self._endpoint_config_name

    def _get_model_names(self) -> list[str]:
        config = self.sagemaker_session.describe_endpoint_config(self._get_endpoint_config_name())
        variants = config["ProductionVariants"] + (config.get("ShadowProductionVariants") or [])
        self._model_names = [v["ModelName"] for v in variants]
        return self._model_names

    def update_endpoint(
        self,
        initial_instance_count: int | None = None,
        instance_type: str | None = None,
        accelerator_type: str | None = None,
        model_name: str | None = None,
        tags: list[dict[str, str]] | None = None,
        kms_key: str | None = None,
        data_capture_config_dict: dict[str, Any] | None = None,
        max_instance_count: int | None = None,
        min_instance_count: int | None = None,
        wait: bool = True,
    ) -> None:
        """Deploy a copy of the endpoint's config with these changes (sagemaker's rules:
        a new variant needs both ``instance_type`` and ``initial_instance_count``)."""
        variants = None
        current_models = self._get_model_names()
        if initial_instance_count or instance_type or accelerator_type or model_name:
            if instance_type is None or initial_instance_count is None:
                raise ValueError(
                    "Missing initial_instance_count and/or instance_type. Provided values: "
                    f"initial_instance_count={initial_instance_count}, "
                    f"instance_type={instance_type}, accelerator_type={accelerator_type}, "
                    f"model_name={model_name}."
                )
            if model_name is None:
                if len(set(current_models)) > 1:
                    raise ValueError(
                        "Unable to choose a default model for a new EndpointConfig because "
                        f"the endpoint has multiple models: {', '.join(current_models)}"
                    )
                model_name = current_models[0]
            else:
                self._model_names = [model_name]
            scaling: dict[str, int] = {}
            if max_instance_count:
                scaling["MaxInstanceCount"] = max_instance_count
            if min_instance_count:
                scaling["MinInstanceCount"] = min_instance_count
            variants = [
                production_variant(
                    model_name,
                    instance_type,
                    initial_instance_count=initial_instance_count,
                    accelerator_type=accelerator_type,
                    managed_instance_scaling=scaling or None,
                )
            ]
        current_config = self._get_endpoint_config_name()
        new_config = unique_name_from_base(current_config)
        self.sagemaker_session.create_endpoint_config_from_existing(
            current_config,
            new_config,
            new_tags=tags,
            new_kms_key=kms_key,
            new_data_capture_config_dict=data_capture_config_dict,
            new_production_variants=variants,
        )
        self.sagemaker_session.update_endpoint(self.endpoint_name, new_config, wait=wait)
        self._endpoint_config_name = new_config

    def rollback(self, wait: bool = True) -> dict[str, Any]:
        """Back to the endpoint's previous config (modelyard's; see Session.rollback_endpoint)."""
        answer = self.sagemaker_session.rollback_endpoint(self.endpoint_name, wait=wait)
        self._endpoint_config_name = str(answer["EndpointConfigName"])
        self._model_names = None
        return answer

    def delete_endpoint(self, delete_endpoint_config: bool = True) -> None:
        """Delete the endpoint (and, by default, its endpoint config)."""
        if self._model_names is None:
            with contextlib.suppress(ModelyardError):
                self._get_model_names()  # so that delete_model() still works afterwards
        if delete_endpoint_config:
            self.sagemaker_session.delete_endpoint_config(self._get_endpoint_config_name())
        self.sagemaker_session.delete_endpoint(self.endpoint_name)

    def delete_model(self) -> None:
        """Delete every model the endpoint's config names."""
        for name in dict.fromkeys(self._model_names or self._get_model_names()):
            self.sagemaker_session.delete_model(name)
