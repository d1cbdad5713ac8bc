"""Names the training contract is made of: hyperparameter keys and environment variables.

They are sagemaker-training-toolkit's own names (``sagemaker_training/params.py``), kept
verbatim so a SageMaker script-mode job and the Python SDK's hyperparameters mean the
same here. modelyard's own settings are prefixed ``MODELYARD_``.
"""

from __future__ import annotations

from typing import Final

# Where the job directory is. SageMaker mounts it at /opt/ml; a local run points
# SAGEMAKER_BASE_DIR at a per-job directory, exactly as the toolkit allows.
DEFAULT_BASE_DIR: Final = "/opt/ml"
BASE_DIR_ENV: Final = "SAGEMAKER_BASE_DIR"

# Hyperparameters the SageMaker Python SDK adds. Every key starting with "sagemaker_" is
# taken out of the user's hyperparameters (SM_HPS, SM_HP_*, argv); the ones not in
# SAGEMAKER_HYPERPARAMETERS are exposed as SM_FRAMEWORK_PARAMS.
SAGEMAKER_PREFIX: Final = "sagemaker_"
PROGRAM_PARAM: Final = "sagemaker_program"
SUBMIT_DIR_PARAM: Final = "sagemaker_submit_directory"
ENABLE_METRICS_PARAM: Final = "sagemaker_enable_cloudwatch_metrics"
REGION_PARAM: Final = "sagemaker_region"
LOG_LEVEL_PARAM: Final = "sagemaker_container_log_level"
JOB_NAME_PARAM: Final = "sagemaker_job_name"
DEFAULT_MODULE_NAME_PARAM: Final = "default_user_module_name"
TUNING_METRIC_PARAM: Final = "_tuning_objective_metric"
S3_OUTPUT_PARAM: Final = "sagemaker_s3_output"
SAGEMAKER_HYPERPARAMETERS: Final = frozenset(
    {
        PROGRAM_PARAM,
        SUBMIT_DIR_PARAM,
        ENABLE_METRICS_PARAM,
        REGION_PARAM,
        LOG_LEVEL_PARAM,
        JOB_NAME_PARAM,
        DEFAULT_MODULE_NAME_PARAM,
        TUNING_METRIC_PARAM,
        S3_OUTPUT_PARAM,
    }
)

# Framework parameters that switch on a distributed launcher (toolkit: environment.py).
MPI_ENABLED_PARAM: Final = "sagemaker_mpi_enabled"
TORCH_DISTRIBUTED_PARAM: Final = "sagemaker_torch_distributed_enabled"
DISTRIBUTION_INSTANCE_GROUPS_PARAM: Final = "sagemaker_distribution_instance_groups"
DISTRIBUTION_PARAMS: Final = (
    MPI_ENABLED_PARAM,
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    TORCH_DISTRIBUTED_PARAM,
)
# Processes per host of a launcher (the toolkit reads it for torchrun too).
PROCESSES_PER_HOST_PARAM: Final = "sagemaker_mpi_num_of_processes_per_host"
# torchrun's rendezvous port in SageMaker's toolkit (torch_distributed.py).
TORCH_DISTRIBUTED_MASTER_PORT: Final = 7777

# Environment variables read by the toolkit (and by us, in one place: environment.py).
PROGRAM_ENV: Final = "SAGEMAKER_PROGRAM"
TRAINING_MODULE_ENV: Final = "SAGEMAKER_TRAINING_MODULE"
TRAINING_JOB_NAME_ENV: Final = "TRAINING_JOB_NAME"
MP_PARAMETERS_ENV: Final = "SM_HP_MP_PARAMETERS"
AWS_DEFAULT_REGION_ENV: Final = "AWS_DEFAULT_REGION"
# Environment variables the toolkit sets for the entry point besides SM_*.
JOB_NAME_ENV: Final = "SAGEMAKER_JOB_NAME"
CURRENT_HOST_ENV: Final = "CURRENT_HOST"
REGION_ENV: Final = "SAGEMAKER_REGION"

# modelyard's own: a pip command for images whose Python has no pip module.
PIP_ENV: Final = "MODELYARD_PIP"
# Where a distributed launcher's hosts meet, when the platform says so (the local runtime:
# every host is a process on 127.0.0.1 and algo-1 does not resolve). SageMaker sets
# neither; the launcher then uses the first host's name and the toolkit's port.
MASTER_ADDR_ENV: Final = "MASTER_ADDR"
MASTER_PORT_ENV: Final = "MASTER_PORT"

# Defaults the toolkit falls back to when resourceconfig.json omits a key.
DEFAULT_INSTANCE_TYPE: Final = "local"
DEFAULT_INSTANCE_GROUP: Final = "homogeneousCluster"
DEFAULT_NETWORK_INTERFACE: Final = "eth0"
