"""The hosting SDK takes sagemaker SDK v2's arguments and builds its request dictionaries.

sagemaker (v2, a test dependency) is the oracle: the same names, in the same order,
with the same simple defaults, so SageMaker notebooks call modelyard unchanged.
"""

from __future__ import annotations

import enum
import inspect
import os
from typing import Any

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker import model as sm_model
from sagemaker import pipeline as sm_pipeline
from sagemaker import predictor as sm_predictor
from sagemaker import session as sm_session
from sagemaker.estimator import Estimator as SageMakerEstimator
from sagemaker.estimator import EstimatorBase as SageMakerEstimatorBase
from sagemaker.model_monitor import DataCaptureConfig as SageMakerDataCaptureConfig
from sagemaker.pytorch import PyTorch as SageMakerPyTorch
from sagemaker.pytorch import PyTorchModel as SageMakerPyTorchModel
from sagemaker.sklearn import SKLearn as SageMakerSKLearn
from sagemaker.sklearn import SKLearnModel as SageMakerSKLearnModel
from sagemaker.xgboost import XGBoostModel as SageMakerXGBoostModel

from modelyard.estimator import Estimator, EstimatorBase
from modelyard.model import Model
from modelyard.model_monitor import DataCaptureConfig
from modelyard.pipeline import PipelineModel
from modelyard.predictor import Predictor
from modelyard.pytorch import PyTorch, PyTorchModel
from modelyard.session import Session, production_variant
from modelyard.sklearn import SKLearn, SKLearnModel
from modelyard.xgboost import XGBoostModel

SIMPLE = (str, int, float, bool, type(None))


def _parameters(func: Any) -> list[tuple[str, Any]]:
    """Names in order, with defaults where they are plain values."""
    found = []
    for p in inspect.signature(func).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if isinstance(p.default, type):
            default = p.default.__name__
        elif isinstance(p.default, enum.Enum):
            default = p.default.value
        elif isinstance(p.default, SIMPLE):
            default = p.default
        else:
            default = type(p.default).__name__
        found.append((p.name, default))
    return found


PAIRS = [
    (Model.__init__, sm_model.Model.__init__),
    (Model.deploy, sm_model.Model.deploy),
    (Model.prepare_container_def, sm_model.Model.prepare_container_def),
    (Model.delete_model, sm_model.Model.delete_model),
    (Predictor.predict, sm_predictor.Predictor.predict),
    (Predictor.update_endpoint, sm_predictor.Predictor.update_endpoint),
    (Predictor.delete_endpoint, sm_predictor.Predictor.delete_endpoint),
    (Predictor.delete_model, sm_predictor.Predictor.delete_model),
    (PipelineModel.__init__, sm_pipeline.PipelineModel.__init__),
    (PipelineModel.deploy, sm_pipeline.PipelineModel.deploy),
    (PipelineModel.transformer, sm_pipeline.PipelineModel.transformer),
    (DataCaptureConfig.__init__, SageMakerDataCaptureConfig.__init__),
    (SKLearnModel.__init__, SageMakerSKLearnModel.__init__),
    (XGBoostModel.__init__, SageMakerXGBoostModel.__init__),
    (PyTorchModel.__init__, SageMakerPyTorchModel.__init__),
    (EstimatorBase.deploy, SageMakerEstimatorBase.deploy),
    (Estimator.create_model, SageMakerEstimator.create_model),
    (SKLearn.create_model, SageMakerSKLearn.create_model),
    (PyTorch.create_model, SageMakerPyTorch.create_model),
    (production_variant, sm_session.production_variant),
    (Session.create_model, sm_session.Session.create_model),
    (Session.create_endpoint_config, sm_session.Session.create_endpoint_config),
    (Session.create_endpoint, sm_session.Session.create_endpoint),
    (
        Session.endpoint_from_production_variants,
        sm_session.Session.endpoint_from_production_variants,
    ),
    (Session.update_endpoint, sm_session.Session.update_endpoint),
    (Session.wait_for_endpoint, sm_session.Session.wait_for_endpoint),
    (Session.delete_endpoint, sm_session.Session.delete_endpoint),
    (Session.delete_endpoint_config, sm_session.Session.delete_endpoint_config),
    (Session.delete_model, sm_session.Session.delete_model),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda f: f.__qualname__)
def test_signatures_are_sagemakers(ours: Any, theirs: Any) -> None:
    assert _parameters(ours) == _parameters(theirs)


def test_the_predictor_takes_the_endpoint_session_serializer_and_deserializer_in_order() -> None:
    mine = [name for name, _ in _parameters(Predictor.__init__)]
    theirs = [name for name, _ in _parameters(sm_predictor.Predictor.__init__)]
    assert mine == theirs


@pytest.mark.parametrize(
    "arguments",
    [
        {"model_name": "m", "instance_type": "ml.m5.large"},
        {
            "model_name": "m",
            "instance_type": "ml.t2.medium",
            "initial_instance_count": 3,
            "variant_name": "Blue",
            "initial_weight": 0.3,
            "container_startup_health_check_timeout": 60,
            "volume_size": 10,
        },
        {"instance_type": "ml.m5.large", "variant_name": "NoModel"},
    ],
)
def test_production_variant_is_sagemakers(arguments: dict[str, Any]) -> None:
    assert production_variant(**arguments) == sm_session.production_variant(**arguments)


@pytest.mark.parametrize(
    "arguments",
    [
        {"enable_capture": True, "destination_s3_uri": "s3://b/capture"},
        {
            "enable_capture": True,
            "sampling_percentage": 50,
            "destination_s3_uri": "s3://b/capture",
            "capture_options": ["REQUEST"],
            "csv_content_types": ["text/csv", "text/x-csv"],
            "json_content_types": ["application/json"],
        },
        {"enable_capture": False, "destination_s3_uri": "s3://b/c", "kms_key_id": "k"},
    ],
)
def test_data_capture_request_is_sagemakers(arguments: dict[str, Any]) -> None:
    from unittest import mock

    session = mock.MagicMock(sagemaker_config=None)
    theirs = SageMakerDataCaptureConfig(**arguments, sagemaker_session=session)
    assert DataCaptureConfig(**arguments)._to_request_dict() == theirs._to_request_dict()
