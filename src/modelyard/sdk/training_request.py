"""An estimator's CreateTrainingJob request, and back: its arguments from a described job.

``fit()`` sends :func:`training_request`; ``attach()`` rebuilds an estimator from
DescribeTrainingJob with :func:`init_params_from_description` (and, for script mode,
:func:`decode_framework_params`, which reads back the ``sagemaker_*`` hyperparameters
:data:`PROGRAM_HP`... that ``fit()`` wrote). Both follow sagemaker's
``EstimatorBase._prepare_init_params_from_job_description``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from modelyard.sdk.inputs import Inputs, TrainingInput, channels_from_inputs
from modelyard.sdk.naming import base_from_name

if TYPE_CHECKING:
    from modelyard.sdk.estimator import EstimatorBase

PROGRAM_HP = "sagemaker_program"
SUBMIT_DIR_HP = "sagemaker_submit_directory"
LOG_LEVEL_HP = "sagemaker_container_log_level"
JOB_NAME_HP = "sagemaker_job_name"
REGION_HP = "sagemaker_region"
DEFAULT_ROLE = "arn:aws:iam::000000000000:role/modelyard"


def training_request(estimator: EstimatorBase, inputs: Inputs | None) -> dict[str, Any]:
    """CreateTrainingJob for the estimator's current job name, over ``inputs``."""
    algorithm: dict[str, Any] = {
        "TrainingImage": estimator.training_image_uri(),
        "TrainingInputMode": estimator.input_mode,
    }
    if estimator.metric_definitions:
        algorithm["MetricDefinitions"] = estimator.metric_definitions
    if estimator.container_entry_point:
        algorithm["ContainerEntrypoint"] = estimator.container_entry_point
    if estimator.container_arguments:
        algorithm["ContainerArguments"] = estimator.container_arguments
    request: dict[str, Any] = {
        "TrainingJobName": estimator._current_job_name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": estimator.role or DEFAULT_ROLE,
        "OutputDataConfig": {"S3OutputPath": estimator.output_path},
        "ResourceConfig": {
            "InstanceType": estimator.instance_type,
            "InstanceCount": estimator.instance_count,
            "VolumeSizeInGB": estimator.volume_size,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": estimator.max_run},
        "HyperParameters": estimator.hyperparameters(),
    }
    channels = channels_from_inputs(inputs) or []
    if estimator.model_uri:
        model = TrainingInput(
            estimator.model_uri,
            input_mode="File",
            distribution="FullyReplicated",
            content_type="application/x-sagemaker-model",
        )
        channels.append({**model.config, "ChannelName": estimator.model_channel_name})
    if channels:
        request["InputDataConfig"] = channels
    if estimator.environment:
        request["Environment"] = dict(estimator.environment)
    if estimator.checkpoint_s3_uri:
        checkpoint = {"S3Uri": estimator.checkpoint_s3_uri}
        if estimator.checkpoint_local_path:
            checkpoint["LocalPath"] = estimator.checkpoint_local_path
        request["CheckpointConfig"] = checkpoint
    if estimator.tags:
        request["Tags"] = estimator.tags
    return request


def init_params_from_description(
    described: dict[str, Any], model_channel_name: str = "model"
) -> dict[str, Any]:
    """An estimator's constructor arguments from DescribeTrainingJob."""
    algorithm = described["AlgorithmSpecification"]
    resource = described["ResourceConfig"]
    params: dict[str, Any] = {
        "role": described.get("RoleArn"),
        "instance_count": resource.get("InstanceCount"),
        "instance_type": resource.get("InstanceType"),
        "volume_size": resource.get("VolumeSizeInGB", 30),
        "max_run": described.get("StoppingCondition", {}).get("MaxRuntimeInSeconds"),
        "input_mode": algorithm.get("TrainingInputMode", "File"),
        "output_path": described["OutputDataConfig"]["S3OutputPath"],
        "base_job_name": base_from_name(described["TrainingJobName"]),
        "hyperparameters": dict(described.get("HyperParameters") or {}),
        "image_uri": algorithm.get("TrainingImage"),
        "metric_definitions": algorithm.get("MetricDefinitions"),
        "environment": described.get("Environment") or None,
    }
    checkpoint = described.get("CheckpointConfig")
    if checkpoint:
        params["checkpoint_s3_uri"] = checkpoint.get("S3Uri")
        params["checkpoint_local_path"] = checkpoint.get("LocalPath")
    for channel in described.get("InputDataConfig") or []:
        if channel["ChannelName"] == model_channel_name:
            params["model_channel_name"] = model_channel_name
            params["model_uri"] = channel["DataSource"]["S3DataSource"]["S3Uri"]
    return params


def decode_framework_params(params: dict[str, Any]) -> dict[str, Any]:
    """Script mode's arguments back from its JSON-encoded ``sagemaker_*`` hyperparameters."""
    raw: dict[str, str] = params.pop("hyperparameters")
    decoded = {k: json_or_raw(v) for k, v in raw.items()}
    params["entry_point"] = decoded.pop(PROGRAM_HP, None)
    params["source_dir"] = decoded.pop(SUBMIT_DIR_HP, None)
    level = decoded.pop(LOG_LEVEL_HP, None)
    if isinstance(level, int):
        params["container_log_level"] = level
    decoded.pop(JOB_NAME_HP, None)
    decoded.pop(REGION_HP, None)
    params["hyperparameters"] = decoded
    return params


def json_or_raw(value: str) -> Any:
    """A hyperparameter's value: JSON-decoded where it is JSON (script mode's), else as is."""
    try:
        return json.loads(value)
    except ValueError:
        return value
