"""Framework models and predictors: ``SKLearnModel``, ``XGBoostModel``, ``PyTorchModel``.

Each has sagemaker's arguments and its default predictor class with sagemaker's
serializers: ``SKLearnPredictor`` and ``PyTorchPredictor`` send and receive NPY,
``XGBoostPredictor`` sends libsvm and reads CSV. The image is the server's framework
image for ``framework_version`` unless ``image_uri`` names one; ``py_version`` is
accepted and ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.formats.deserializers import (
    BaseDeserializer,
    CSVDeserializer,
    NumpyDeserializer,
)
from modelyard.formats.serializers import BaseSerializer, LibSVMSerializer, NumpySerializer
from modelyard.sdk.model import FrameworkModel, PredictorFactory
from modelyard.sdk.predictor import Predictor

if TYPE_CHECKING:
    from modelyard.sdk.session import Session


class SKLearnPredictor(Predictor):
    """NPY in, NPY out (sagemaker.sklearn's predictor)."""

    def __init__(
        self,
        endpoint_name: str,
        sagemaker_session: Session | None = None,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        component_name: str | None = None,
    ) -> None:
        super().__init__(
            endpoint_name,
            sagemaker_session,
            serializer or NumpySerializer(),
            deserializer or NumpyDeserializer(),
            component_name,
        )


class PyTorchPredictor(SKLearnPredictor):
    """NPY in, NPY out (sagemaker.pytorch's predictor)."""


class XGBoostPredictor(Predictor):
    """libsvm in, CSV out (sagemaker.xgboost's predictor)."""

    def __init__(
        self,
        endpoint_name: str,
        sagemaker_session: Session | None = None,
        serializer: BaseSerializer | None = None,
        deserializer: BaseDeserializer | None = None,
        component_name: str | None = None,
    ) -> None:
        super().__init__(
            endpoint_name,
            sagemaker_session,
            serializer or LibSVMSerializer(),
            deserializer or CSVDeserializer(),
            component_name,
        )


class _VersionedModel(FrameworkModel):
    def __init__(
        self,
        model_data: str | None,
        role: str | None = None,
        entry_point: str | None = None,
        framework_version: str | None = None,
        py_version: str | None = "py3",
        image_uri: str | None = None,
        predictor_cls: PredictorFactory | None = None,
        model_server_workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        if framework_version is None and image_uri is None:
            raise ValueError(
                f"framework_version or image_uri must be set for {type(self).__name__}"
            )
        super().__init__(
            model_data,
            image_uri,
            role,
            entry_point,
            predictor_cls=predictor_cls,
            **kwargs,
        )
        self.framework_version = framework_version
        self.py_version = py_version
        self.model_server_workers = model_server_workers


class SKLearnModel(_VersionedModel):
    """A scikit-learn model (``sagemaker.sklearn.SKLearnModel``)."""

    _framework_name = "sklearn"

    def __init__(
        self,
        model_data: str | None,
        role: str | None = None,
        entry_point: str | None = None,
        framework_version: str | None = None,
        py_version: str = "py3",
        image_uri: str | None = None,
        predictor_cls: PredictorFactory | None = SKLearnPredictor,
        model_server_workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model_data,
            role,
            entry_point,
            framework_version,
            py_version,
            image_uri,
            predictor_cls,
            model_server_workers,
            **kwargs,
        )


class XGBoostModel(_VersionedModel):
    """An XGBoost model (``sagemaker.xgboost.XGBoostModel``)."""

    _framework_name = "xgboost"

    def __init__(
        self,
        model_data: str | None,
        role: str | None = None,
        entry_point: str | None = None,
        framework_version: str | None = None,
        image_uri: str | None = None,
        py_version: str = "py3",
        predictor_cls: PredictorFactory | None = XGBoostPredictor,
        model_server_workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model_data,
            role,
            entry_point,
            framework_version,
            py_version,
            image_uri,
            predictor_cls,
            model_server_workers,
            **kwargs,
        )


class PyTorchModel(_VersionedModel):
    """A PyTorch model (``sagemaker.pytorch.PyTorchModel``)."""

    _framework_name = "pytorch"

    def __init__(
        self,
        model_data: str | None,
        role: str | None = None,
        entry_point: str | None = None,
        framework_version: str = "1.3",
        py_version: str | None = None,
        image_uri: str | None = None,
        predictor_cls: PredictorFactory | None = PyTorchPredictor,
        model_server_workers: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            model_data,
            role,
            entry_point,
            framework_version,
            py_version,
            image_uri,
            predictor_cls,
            model_server_workers,
            **kwargs,
        )
