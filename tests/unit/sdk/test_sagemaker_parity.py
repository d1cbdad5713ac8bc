"""The SDK builds what sagemaker SDK v2 builds: channels, hyperparameters, source bundles.

sagemaker (v2, a test dependency) is the oracle: the same arguments must give the same
request fields, so SageMaker notebooks behave the same against modelyard.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")

from sagemaker import fw_utils, utils
from sagemaker import inputs as sagemaker_inputs
from sagemaker.estimator import EstimatorBase as SageMakerEstimatorBase
from sagemaker.job import _Job

from modelyard.inputs import FileSystemInput, ShuffleConfig, TrainingInput
from modelyard.sdk import estimator as estimator_module
from modelyard.sdk import sourcedir
from modelyard.sdk.frameworks import PyTorch, SKLearn
from modelyard.sdk.inputs import channels_from_inputs
from modelyard.sdk.session import Session

INPUT_ARGUMENTS: list[dict[str, Any]] = [
    {"s3_data": "s3://b/train/"},
    {"s3_data": "s3://b/train/", "distribution": "ShardedByS3Key", "content_type": "text/csv"},
    {"s3_data": "s3://b/m.json", "s3_data_type": "ManifestFile", "input_mode": "Pipe"},
    {"s3_data": "s3://b/x", "compression": "Gzip", "record_wrapping": "RecordIO"},
    {"s3_data": "s3://b/x", "attribute_names": ["source-ref", "label"]},
]


@pytest.mark.parametrize("arguments", INPUT_ARGUMENTS)
def test_training_input_config_is_sagemakers(arguments: dict[str, Any]) -> None:
    assert TrainingInput(**arguments).config == sagemaker_inputs.TrainingInput(**arguments).config


def test_shuffle_and_file_system_inputs_are_sagemakers() -> None:
    ours = TrainingInput("s3://b/x", shuffle_config=ShuffleConfig(7)).config
    theirs = sagemaker_inputs.TrainingInput(
        "s3://b/x", shuffle_config=sagemaker_inputs.ShuffleConfig(7)
    ).config
    assert ours == theirs
    arguments = ("fs-0123456789abcdef0", "EFS", "/data/train", "rw", "text/csv")
    assert FileSystemInput(*arguments).config == sagemaker_inputs.FileSystemInput(*arguments).config
    with pytest.raises(ValueError, match="file system type"):
        FileSystemInput("fs-1", "NFS", "/data")


def test_fit_inputs_become_the_channels_sagemaker_makes() -> None:
    cases: list[Any] = [
        "s3://b/train/",
        {"train": "s3://b/train/", "test": TrainingInput("s3://b/test/", content_type="text/csv")},
    ]
    theirs_cases: list[Any] = [
        "s3://b/train/",
        {
            "train": "s3://b/train/",
            "test": sagemaker_inputs.TrainingInput("s3://b/test/", content_type="text/csv"),
        },
    ]
    for ours, theirs in zip(cases, theirs_cases, strict=True):
        assert channels_from_inputs(ours) == _Job._format_inputs_to_input_config(theirs)


def test_a_file_uri_is_a_directory_read_in_place() -> None:
    (channel,) = channels_from_inputs({"train": "file:///data/iris"}) or []
    assert channel["ChannelName"] == "train"
    assert channel["DataSource"]["FileSystemDataSource"]["DirectoryPath"] == "/data/iris"
    with pytest.raises(ValueError, match="S3 or FILE URI"):
        channels_from_inputs("http://elsewhere/data")


def _members(tarball: Path) -> dict[str, bytes]:
    with tarfile.open(tarball) as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


@pytest.mark.parametrize("with_source_dir", [True, False])
def test_the_source_bundle_is_sagemakers(tmp_path: Path, with_source_dir: bool) -> None:
    source = tmp_path / "src"
    (source / "lib").mkdir(parents=True)
    (source / "train.py").write_text("print('hi')\n")
    (source / "lib" / "helpers.py").write_text("X = 1\n")
    dependency = tmp_path / "shared"
    dependency.mkdir()
    (dependency / "util.py").write_text("Y = 2\n")
    entry = "train.py" if with_source_dir else str(source / "train.py")
    directory = str(source) if with_source_dir else None

    script = sourcedir.pack(entry, directory, [str(dependency)], tmp_path / "ours.tar.gz")
    files = [*fw_utils._list_files_to_compress(entry, directory), str(dependency)]
    utils.create_tar_file(files, str(tmp_path / "theirs.tar.gz"))

    assert script == "train.py"
    assert _members(tmp_path / "ours.tar.gz") == _members(tmp_path / "theirs.tar.gz")


def _offline_session() -> Session:
    session = Session.__new__(Session)  # no server: these estimators never call it
    return session


def test_framework_hyperparameters_are_json_encoded_like_sagemakers() -> None:
    hyperparameters = {"epochs": 10, "lr": 0.1, "optimizer": "adam", "layers": [64, 32]}
    estimator = SKLearn(
        entry_point="train.py",
        framework_version="1.5",
        hyperparameters=hyperparameters,
        sagemaker_session=_offline_session(),
    )
    expected = SageMakerEstimatorBase._json_encode_hyperparameters(hyperparameters)
    assert estimator.hyperparameters() == expected
    assert json.loads(estimator.hyperparameters()["optimizer"]) == "adam"


def test_pytorch_distribution_sets_sagemakers_flags() -> None:
    estimator = PyTorch(
        entry_point="train.py",
        framework_version="2.13",
        distribution={"torch_distributed": {"enabled": True}},
        sagemaker_session=_offline_session(),
    )
    assert estimator.hyperparameters()["sagemaker_torch_distributed_enabled"] == "true"


@pytest.mark.parametrize(
    "image", ["sklearn:1.5", "toolkit:test", "my.registry/team/image:latest", "plain"]
)
def test_job_base_names_follow_sagemakers_rule(image: str) -> None:
    assert estimator_module.base_name_from_image(image) == utils.base_name_from_image(image)


def test_attached_job_names_lose_their_timestamp_like_sagemakers() -> None:
    name = "sklearn-2026-01-02-03-04-05-678"
    assert estimator_module._base_from_name(name) == utils.base_from_name(name)
