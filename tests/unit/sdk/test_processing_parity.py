"""The processing SDK builds what sagemaker SDK v2 builds: signatures, inputs, requests.

sagemaker (v2, a test dependency) is the oracle, as for the estimators.
"""

from __future__ import annotations

import inspect
import os
from typing import Any
from unittest import mock

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker import dataset_definition as sm_datasets
from sagemaker import processing as sm_processing
from sagemaker.session import Session as SageMakerSession
from sagemaker.sklearn import processing as sm_sklearn
from sagemaker.spark import processing as sm_spark

from modelyard import dataset_definition as datasets
from modelyard import processing
from modelyard.sdk.processing import Processor
from modelyard.sklearn.processing import SKLearnProcessor
from modelyard.spark.processing import PySparkProcessor

PAIRS = [
    (processing.Processor, sm_processing.Processor),
    (processing.ScriptProcessor, sm_processing.ScriptProcessor),
    (processing.FrameworkProcessor, sm_processing.FrameworkProcessor),
    (processing.ProcessingInput, sm_processing.ProcessingInput),
    (processing.ProcessingOutput, sm_processing.ProcessingOutput),
    (SKLearnProcessor, sm_sklearn.SKLearnProcessor),
    (PySparkProcessor, sm_spark.PySparkProcessor),
    (datasets.DatasetDefinition, sm_datasets.DatasetDefinition),
    (datasets.AthenaDatasetDefinition, sm_datasets.AthenaDatasetDefinition),
    (datasets.RedshiftDatasetDefinition, sm_datasets.RedshiftDatasetDefinition),
    (datasets.S3Input, sm_datasets.S3Input),
]


def _parameters(func: Any) -> list[tuple[str, Any]]:
    return [
        (p.name, p.default)
        for p in inspect.signature(func).parameters.values()
        if p.name != "self" and p.kind is not p.VAR_KEYWORD
    ]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=lambda c: c.__qualname__)
def test_constructors_take_sagemakers_arguments_in_order(ours: type, theirs: type) -> None:
    mine, expected = _parameters(ours.__init__), _parameters(theirs.__init__)
    # modelyard may add arguments at the end (spark_master, file_system_dataset_definition).
    assert mine[: len(expected)] == expected


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (processing.Processor.run, sm_processing.Processor.run),
        (processing.ScriptProcessor.run, sm_processing.ScriptProcessor.run),
        (processing.FrameworkProcessor.run, sm_processing.FrameworkProcessor.run),
        (PySparkProcessor.run, sm_spark.PySparkProcessor.run),
    ],
    ids=lambda f: f.__qualname__,
)
def test_run_takes_sagemakers_arguments_in_order(ours: Any, theirs: Any) -> None:
    assert _parameters(ours) == _parameters(theirs)


INPUTS: list[dict[str, Any]] = [
    {"source": "s3://b/data/", "destination": "/opt/ml/processing/input/data"},
    {
        "source": "s3://b/m.json",
        "destination": "/opt/ml/processing/input/m",
        "input_name": "manifest",
        "s3_data_type": "ManifestFile",
        "s3_data_distribution_type": "ShardedByS3Key",
        "s3_input_mode": "FastFile",
    },
]


@pytest.mark.parametrize("arguments", INPUTS)
def test_s3_inputs_are_sagemakers(arguments: dict[str, Any]) -> None:
    ours = processing.ProcessingInput(**arguments)._to_request_dict()
    theirs = sm_processing.ProcessingInput(**arguments)._to_request_dict()
    assert ours == theirs


def test_dataset_definitions_are_sagemakers() -> None:
    def build(module: Any) -> dict[str, Any]:
        athena = module.AthenaDatasetDefinition(
            catalog="AwsDataCatalog",
            database="default",
            query_string="SELECT 1",
            output_s3_uri="s3://b/athena/",
            output_format="PARQUET",
        )
        redshift = module.RedshiftDatasetDefinition(
            cluster_id="warehouse",
            database="dev",
            db_user="analyst",
            query_string="SELECT 2",
            cluster_role_arn="arn:aws:iam::000000000000:role/r",
            output_s3_uri="s3://b/rs/",
            output_format="CSV",
        )
        inputs = [
            module_processing(module).ProcessingInput(
                input_name=name,
                dataset_definition=module.DatasetDefinition(
                    local_path=f"/opt/ml/processing/input/{name}", **{key: value}
                ),
            )
            for name, key, value in [
                ("athena", "athena_dataset_definition", athena),
                ("redshift", "redshift_dataset_definition", redshift),
            ]
        ]
        return {"inputs": [item._to_request_dict() for item in inputs]}

    assert build(datasets) == build(sm_datasets)


def module_processing(module: Any) -> Any:
    return processing if module is datasets else sm_processing


def test_outputs_are_sagemakers() -> None:
    arguments = {
        "source": "/opt/ml/processing/output",
        "destination": "s3://b/out",
        "output_name": "train",
        "s3_upload_mode": "Continuous",
    }
    ours = processing.ProcessingOutput(**arguments)._to_request_dict()
    assert ours == sm_processing.ProcessingOutput(**arguments)._to_request_dict()


def test_the_create_request_is_the_one_sagemaker_sends() -> None:
    inputs = [processing.ProcessingInput("s3://b/in/", "/opt/ml/processing/input/data", "data")]
    outputs = [processing.ProcessingOutput("/opt/ml/processing/output", "s3://b/o", "out")]
    sm_inputs = [
        sm_processing.ProcessingInput("s3://b/in/", "/opt/ml/processing/input/data", "data")
    ]
    sm_outputs = [sm_processing.ProcessingOutput("/opt/ml/processing/output", "s3://b/o", "out")]
    common = {
        "role": "arn:aws:iam::000000000000:role/r",
        "image_uri": "sklearn:1.5",
        "instance_count": 2,
        "instance_type": "ml.m5.large",
        "entrypoint": ["python3", "/opt/ml/processing/input/code/x.py"],
        "max_runtime_in_seconds": 600,
        "env": {"A": "1"},
        "tags": [{"Key": "team", "Value": "ml"}],
    }
    ours = Processor(sagemaker_session=mock.Mock(), **common)
    ours._current_job_name = "job-1"
    ours.arguments = ["--x", "1"]
    session = mock.Mock()
    session.expand_role = lambda role: role
    session.sagemaker_config = None
    theirs = sm_processing.Processor(sagemaker_session=session, **common)
    theirs._current_job_name = "job-1"
    theirs.arguments = ["--x", "1"]
    args = sm_processing.ProcessingJob._get_process_args(theirs, sm_inputs, sm_outputs, None)
    expected = SageMakerSession._get_process_request(None, **args)
    assert ours._process_request(inputs, outputs) == expected


def test_runproc_is_sagemakers_script() -> None:
    ours = processing.FrameworkProcessor.__new__(processing.FrameworkProcessor)
    ours.command = ["python"]
    theirs = sm_processing.FrameworkProcessor.__new__(sm_processing.FrameworkProcessor)
    theirs.command = ["python"]
    assert ours._generate_framework_script("train.py") == theirs._generate_framework_script(
        "train.py"
    )
