"""What runs inside a framework image: modelyard's training toolkit.

The equivalent of sagemaker-training-toolkit, for modelyard's images and for any image
that installs it: ``python -m modelyard.container.training`` runs a SageMaker
script-mode job from a job directory (``SAGEMAKER_BASE_DIR``, default ``/opt/ml``).
The platform uses :func:`write_job_dir` before and :func:`tar_directory` /
:func:`failure_reason` after a job, outside the container.

Only the standard library (and ``modelyard.formats``) may be imported here: images
have nothing else of modelyard. A test holds this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelyard.container.environment import TrainingEnvironment, load_environment
from modelyard.container.errors import (
    EXIT_PLATFORM_ERROR,
    EXIT_SUCCESS,
    EXIT_USER_ERROR,
    ContainerError,
    PlatformError,
    UnsafeArchiveError,
    UserError,
    failure_reason,
)
from modelyard.container.files import read_failure_file, tar_directory
from modelyard.container.jobdir import (
    input_data_config_from_channels,
    resource_config,
    write_job_dir,
)
from modelyard.container.paths import JobPaths
from modelyard.container.settings import ContainerSettings

if TYPE_CHECKING:
    from modelyard.container.training import train

__all__ = [
    "EXIT_PLATFORM_ERROR",
    "EXIT_SUCCESS",
    "EXIT_USER_ERROR",
    "ContainerError",
    "ContainerSettings",
    "JobPaths",
    "PlatformError",
    "TrainingEnvironment",
    "UnsafeArchiveError",
    "UserError",
    "failure_reason",
    "input_data_config_from_channels",
    "load_environment",
    "read_failure_file",
    "resource_config",
    "tar_directory",
    "train",
    "write_job_dir",
]


def __getattr__(name: str) -> Any:
    # Imported on first use so that `python -m modelyard.container.training` does not
    # find its own module already imported by this package (runpy warns about that).
    if name == "train":
        from modelyard.container.training import train

        return train
    raise AttributeError(f"module 'modelyard.container' has no attribute {name!r}")
