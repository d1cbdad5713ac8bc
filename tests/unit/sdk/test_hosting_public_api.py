"""The hosting SDK's public names, where sagemaker code looks for them: a decision, held here."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "modelyard.model": ["FrameworkModel", "Model"],
    "modelyard.predictor": ["Predictor"],
    "modelyard.pipeline": ["PipelineModel"],
    "modelyard.model_monitor": ["DataCaptureConfig"],
    "modelyard.autoscaling": ["AutoscalingClient", "Client"],
    "modelyard.session": ["Session", "production_variant"],
    "modelyard.sklearn.model": ["SKLearnModel", "SKLearnPredictor"],
    "modelyard.xgboost.model": ["XGBoostModel", "XGBoostPredictor"],
    "modelyard.pytorch.model": ["PyTorchModel", "PyTorchPredictor"],
    "modelyard.hosting": [
        "AutoscalingController",
        "EndpointConfigRegistry",
        "EndpointController",
        "EndpointRoute",
        "Health",
        "HealthPolicy",
        "Invocation",
        "METRIC_NAMES",
        "MetricsStore",
        "ModelRegistry",
        "Probe",
        "ReplicaSet",
        "ReplicaTarget",
        "Router",
        "RoutingTable",
        "VariantRoute",
    ],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == PUBLIC[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_framework_models_default_to_sagemakers_predictors() -> None:
    from modelyard.formats.deserializers import CSVDeserializer, NumpyDeserializer
    from modelyard.formats.serializers import LibSVMSerializer, NumpySerializer
    from modelyard.pytorch import PyTorchPredictor
    from modelyard.sklearn import SKLearnPredictor
    from modelyard.xgboost import XGBoostPredictor

    class Offline:
        client = None

    for cls, serializer, deserializer in (
        (SKLearnPredictor, NumpySerializer, NumpyDeserializer),
        (PyTorchPredictor, NumpySerializer, NumpyDeserializer),
        (XGBoostPredictor, LibSVMSerializer, CSVDeserializer),
    ):
        predictor = cls("ep", Offline())  # type: ignore[arg-type]
        assert isinstance(predictor.serializer, serializer)
        assert isinstance(predictor.deserializer, deserializer)
