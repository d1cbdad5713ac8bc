"""The batch transform SDK takes sagemaker SDK v2's arguments and builds its requests.

sagemaker (v2, a test dependency) is the oracle: the same names, in the same order, with
the same simple defaults, and the same CreateTransformJob request for the same call.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker import model as sm_model
from sagemaker import transformer as sm_transformer
from sagemaker.estimator import EstimatorBase as SageMakerEstimatorBase
from sagemaker.session import Session as SageMakerSession
from sagemaker.transformer import _TransformJob

from modelyard.estimator import EstimatorBase
from modelyard.model import Model
from modelyard.sdk.transformer import transform_request
from modelyard.session import Session
from modelyard.transformer import Transformer
from tests.unit.sdk.test_hosting_parity import _parameters

PAIRS = [
    (Transformer.__init__, sm_transformer.Transformer.__init__),
    (Transformer.transform, sm_transformer.Transformer.transform),
    (Transformer.wait, sm_transformer.Transformer.wait),
    (Transformer.stop_transform_job, sm_transformer.Transformer.stop_transform_job),
    (Transformer.attach, sm_transformer.Transformer.attach),
    (Model.transformer, sm_model.Model.transformer),
    (EstimatorBase.transformer, SageMakerEstimatorBase.transformer),
    (Session.transform, SageMakerSession.transform),
    (Session.describe_transform_job, SageMakerSession.describe_transform_job),
    (Session.wait_for_transform_job, SageMakerSession.wait_for_transform_job),
    (Session.stop_transform_job, SageMakerSession.stop_transform_job),
    (Session.logs_for_transform_job, SageMakerSession.logs_for_transform_job),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda f: f.__qualname__)
def test_signatures_are_sagemakers(ours: Any, theirs: Any) -> None:
    assert _parameters(ours) == _parameters(theirs)


CALLS = [
    {"data": "s3://bucket/in/"},
    {
        "data": "s3://bucket/manifest.json",
        "data_type": "ManifestFile",
        "content_type": "text/csv",
        "compression_type": "Gzip",
        "split_type": "Line",
        "input_filter": "$[1:]",
        "output_filter": "$[0,-1]",
        "join_source": "Input",
        "model_client_config": {"InvocationsTimeoutInSeconds": 30},
    },
]
SETTINGS = [
    {},
    {
        "strategy": "MultiRecord",
        "assemble_with": "Line",
        "output_kms_key": "key",
        "accept": "text/csv",
        "max_concurrent_transforms": 4,
        "max_payload": 5,
        "tags": [{"Key": "team", "Value": "ml"}],
        "env": {"A": "1"},
        "volume_kms_key": "volume-key",
    },
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("call", CALLS)
def test_the_request_is_the_one_sagemaker_sends(
    settings: dict[str, Any], call: dict[str, Any]
) -> None:
    transformer = Transformer(
        "my-model", 2, "ml.m5.large", output_path="s3://bucket/out/", **settings
    )
    transformer._current_job_name = "my-job"
    arguments = {
        "data_type": "S3Prefix",
        "content_type": None,
        "compression_type": None,
        "split_type": None,
        "input_filter": None,
        "output_filter": None,
        "join_source": None,
        "experiment_config": None,
        "model_client_config": None,
        **call,
    }
    theirs = SageMakerSession._get_transform_request(
        None,  # type: ignore[arg-type]
        **_TransformJob._get_transform_args(
            transformer, batch_data_capture_config=None, **arguments
        ),
    )
    assert transform_request(transformer, **arguments) == theirs


def test_transform_refuses_what_is_not_an_s3_uri() -> None:
    with pytest.raises(ValueError, match=r"Invalid S3 URI: data/local\.csv"):
        Transformer("m", 1, "ml.m5.large").transform("data/local.csv")
