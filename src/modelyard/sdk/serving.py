"""What a ``Model`` and a ``PipelineModel`` share to serve: an endpoint, or batch transform.

``deploy()`` ends alike for both (sagemaker's ``Model.deploy`` and
``PipelineModel.deploy``): one production variant, then a new endpoint (or, with
``update_endpoint``, a new endpoint config the endpoint moves to), then the predictor
with the serializer and deserializer given. ``transformer()`` has the same arguments on
both; each says how its model is created and its ``Transformer`` made.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from modelyard.ids import unique_name_from_base

if TYPE_CHECKING:
    from modelyard.formats.deserializers import BaseDeserializer
    from modelyard.formats.serializers import BaseSerializer
    from modelyard.sdk.data_capture import DataCaptureConfig
    from modelyard.sdk.session import Session
    from modelyard.sdk.transformer import Transformer


def serve_variant(
    session: Session,
    endpoint_name: str,
    variant: dict[str, Any],
    *,
    update_endpoint: bool | None,
    wait: bool,
    tags: list[dict[str, str]] | None,
    config_tags: list[dict[str, str]] | None,
    kms_key: str | None,
    data_capture_config: DataCaptureConfig | None,
) -> None:
    """Create the endpoint serving ``variant``, or move an existing one to it (a new config
    tagged ``config_tags``)."""
    capture = data_capture_config._to_request_dict() if data_capture_config else None
    if update_endpoint:
        config_name = session.create_endpoint_config(
            unique_name_from_base(endpoint_name),
            production_variants=[variant],
            data_capture_config_dict=capture,
            tags=config_tags,
        )
        session.update_endpoint(endpoint_name, config_name, wait=wait)
        return
    session.endpoint_from_production_variants(
        name=endpoint_name,
        production_variants=[variant],
        tags=tags,
        kms_key=kms_key,
        wait=wait,
        data_capture_config_dict=capture,
    )


def predictor_of(
    factory: Any,
    endpoint_name: str,
    session: Session,
    serializer: BaseSerializer | None,
    deserializer: BaseDeserializer | None,
) -> Any:
    """``factory(endpoint_name, session)``, with the serializer and deserializer given."""
    predictor = factory(endpoint_name, session)
    if serializer is not None:
        predictor.serializer = serializer
    if deserializer is not None:
        predictor.deserializer = deserializer
    return predictor


class TransformerMixin(ABC):
    """``transformer()`` with sagemaker's arguments; ``_transformer`` makes it."""

    @abstractmethod
    def _transformer(
        self, instance_count: int, instance_type: str, **options: Any
    ) -> Transformer: ...

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
        volume_kms_key: str | None = None,
    ) -> Transformer:
        """A ``Transformer`` of this model (created first if need be), as sagemaker's."""
        return self._transformer(
            instance_count,
            instance_type,
            strategy=strategy,
            assemble_with=assemble_with,
            output_path=output_path,
            output_kms_key=output_kms_key,
            accept=accept,
            env=env,
            max_concurrent_transforms=max_concurrent_transforms,
            max_payload=max_payload,
            tags=tags,
            volume_kms_key=volume_kms_key,
        )
