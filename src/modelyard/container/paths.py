"""The job directory: SageMaker's ``/opt/ml`` layout, rooted anywhere.

    <base>/input/config/{hyperparameters,resourceconfig,inputdataconfig}.json
    <base>/input/data/<channel>/
    <base>/code/                  the entry point's source directory (the toolkit's code_dir)
    <base>/model/                 tarred by the platform into model.tar.gz
    <base>/output/failure         first 1024 characters become FailureReason
    <base>/output/success
    <base>/output/data/           tarred by the platform into output.tar.gz
    <base>/output/intermediate/
    <base>/checkpoints/           SageMaker's default checkpoint LocalPath

The base is ``SAGEMAKER_BASE_DIR`` when set, else ``/opt/ml`` (the toolkit's rule). Unlike
the toolkit, nothing is created when neither exists: that is a platform error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelyard.container import params


def base_dir_from_environ(environ: Mapping[str, str]) -> Path:
    """``SAGEMAKER_BASE_DIR`` if set (even when /opt/ml exists), else ``/opt/ml``."""
    return Path(environ.get(params.BASE_DIR_ENV) or params.DEFAULT_BASE_DIR)


@dataclass(frozen=True)
class JobPaths:
    """Every path of the training contract, derived from one base directory."""

    base_dir: Path

    @property
    def code_dir(self) -> Path:
        return self.base_dir / "code"

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def input_dir(self) -> Path:
        return self.base_dir / "input"

    @property
    def input_config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def input_data_dir(self) -> Path:
        return self.input_dir / "data"

    @property
    def output_dir(self) -> Path:
        return self.base_dir / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def output_intermediate_dir(self) -> Path:
        return self.output_dir / "intermediate"

    @property
    def checkpoints_dir(self) -> Path:
        return self.base_dir / "checkpoints"

    @property
    def failure_file(self) -> Path:
        return self.output_dir / "failure"

    @property
    def success_file(self) -> Path:
        return self.output_dir / "success"

    @property
    def hyperparameters_file(self) -> Path:
        return self.input_config_dir / "hyperparameters.json"

    @property
    def resource_config_file(self) -> Path:
        return self.input_config_dir / "resourceconfig.json"

    @property
    def input_data_config_file(self) -> Path:
        return self.input_config_dir / "inputdataconfig.json"

    def channel_dir(self, channel: str) -> Path:
        return self.input_data_dir / channel
