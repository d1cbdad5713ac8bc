"""The environment variables the training toolkit reads, declared and read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modelyard.container import params
from modelyard.container.paths import base_dir_from_environ


@dataclass(frozen=True)
class ContainerSettings:
    """The environment variables the training toolkit reads, read in one place."""

    base_dir: Path
    program: str | None = None  # SAGEMAKER_PROGRAM: overrides sagemaker_program
    training_module: str | None = None  # SAGEMAKER_TRAINING_MODULE ("module:function")
    training_job_name: str | None = None  # TRAINING_JOB_NAME, set by the platform
    mp_parameters: str | None = None  # SM_HP_MP_PARAMETERS (model parallelism)
    default_region: str | None = None  # AWS_DEFAULT_REGION (boto3's region source)
    pip_command: str | None = None  # MODELYARD_PIP: pip for images without a pip module
    master_addr: str | None = None  # MASTER_ADDR: the launcher's rendezvous host, if given
    master_port: str | None = None  # MASTER_PORT: the launcher's rendezvous port, if given

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ContainerSettings:
        return cls(
            base_dir=base_dir_from_environ(environ),
            program=environ.get(params.PROGRAM_ENV),
            training_module=environ.get(params.TRAINING_MODULE_ENV),
            training_job_name=environ.get(params.TRAINING_JOB_NAME_ENV),
            mp_parameters=environ.get(params.MP_PARAMETERS_ENV),
            default_region=environ.get(params.AWS_DEFAULT_REGION_ENV),
            pip_command=environ.get(params.PIP_ENV) or None,
            master_addr=environ.get(params.MASTER_ADDR_ENV) or None,
            master_port=environ.get(params.MASTER_PORT_ENV) or None,
        )
