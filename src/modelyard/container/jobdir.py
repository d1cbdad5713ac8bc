"""Writing a job directory: what the platform does *before* the container starts.

Outside the container, the training controller turns a CreateTrainingJob request into
the ``/opt/ml``-shaped directory SageMaker would mount (see :mod:`.paths`), with the
config files in SageMaker's own shapes:

``hyperparameters.json``
    ``{"epochs": "10", "sagemaker_program": "\\"train.py\\""}``: every value a string
    (the Python SDK JSON-encodes its values; the toolkit decodes them).
``inputdataconfig.json``
    ``{"train": {"ContentType": "text/csv", "TrainingInputMode": "File",
    "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}``.
``resourceconfig.json``
    ``{"current_host": "algo-2", "current_instance_type": "ml.m5.xlarge",
    "current_group_name": "homogeneousCluster", "hosts": ["algo-1", "algo-2"],
    "instance_groups": [{"instance_group_name": "homogeneousCluster",
    "instance_type": "ml.m5.xlarge", "hosts": ["algo-1", "algo-2"]}],
    "network_interface_name": "eth0"}``: one per host, hosts named ``algo-1..N`` and
    sorted, keys in the order a real SageMaker job writes them.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelyard.container import params
from modelyard.container.paths import JobPaths

_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9.\-_]{1,64}$")


def host_names(count: int) -> list[str]:
    """SageMaker's host names for ``count`` instances: ``algo-1`` ... ``algo-N``."""
    return [f"algo-{i}" for i in range(1, count + 1)]


def resource_config(
    resource: Mapping[str, Any],
    current_host: str,
    *,
    network_interface_name: str = params.DEFAULT_NETWORK_INTERFACE,
) -> dict[str, Any]:
    """resourceconfig.json for ``current_host`` from a CreateTrainingJob ``ResourceConfig``.

    ``resource`` has ``InstanceType`` + ``InstanceCount``, or ``InstanceGroups``
    (``[{"InstanceGroupName", "InstanceType", "InstanceCount"}]``, a heterogeneous
    cluster: hosts are numbered through the groups in order).
    """
    groups: list[dict[str, Any]] = []
    if resource.get("InstanceGroups"):
        first = 1
        for group in resource["InstanceGroups"]:
            count = int(group["InstanceCount"])
            hosts = [f"algo-{i}" for i in range(first, first + count)]
            first += count
            groups.append(
                {
                    "instance_group_name": str(group["InstanceGroupName"]),
                    "instance_type": str(group["InstanceType"]),
                    "hosts": sorted(hosts),
                }
            )
    else:
        groups.append(
            {
                "instance_group_name": params.DEFAULT_INSTANCE_GROUP,
                "instance_type": str(resource["InstanceType"]),
                "hosts": host_names(int(resource.get("InstanceCount", 1))),
            }
        )
    current = next((g for g in groups if current_host in g["hosts"]), None)
    if current is None:
        raise ValueError(f"{current_host!r} is not a host of this job")
    return {
        "current_host": current_host,
        "current_instance_type": current["instance_type"],
        "current_group_name": current["instance_group_name"],
        "hosts": sorted(host for g in groups for host in g["hosts"]),
        "instance_groups": groups,
        "network_interface_name": network_interface_name,
    }


def input_data_config_from_channels(
    channels: Sequence[Mapping[str, Any]], *, training_input_mode: str = "File"
) -> dict[str, dict[str, str]]:
    """inputdataconfig.json from a CreateTrainingJob ``InputDataConfig`` (list of Channel).

    ``training_input_mode`` is the job's ``AlgorithmSpecification.TrainingInputMode``,
    which a channel's own ``InputMode`` overrides.
    """
    config: dict[str, dict[str, str]] = {}
    for channel in channels:
        entry: dict[str, str] = {}
        if channel.get("ContentType"):
            entry["ContentType"] = str(channel["ContentType"])
        entry["TrainingInputMode"] = str(channel.get("InputMode") or training_input_mode)
        s3 = channel.get("DataSource", {}).get("S3DataSource")
        if s3 is not None:
            entry["S3DistributionType"] = str(s3.get("S3DistributionType", "FullyReplicated"))
        entry["RecordWrapperType"] = str(channel.get("RecordWrapperType", "None"))
        config[str(channel["ChannelName"])] = entry
    return config


def _check(
    hyperparameters: Mapping[str, str],
    input_data_config: Mapping[str, Mapping[str, Any]],
    resource: Mapping[str, Any],
) -> None:
    for key, value in hyperparameters.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"hyperparameter {key!r}: keys and values must be strings, got "
                f"{type(value).__name__} (JSON-encode it, as the SageMaker SDK does)"
            )
    for name in input_data_config:
        if not _CHANNEL_NAME.match(name):
            raise ValueError(f"channel name {name!r} does not match [A-Za-z0-9.\\-_]{{1,64}}")
    hosts = resource.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise ValueError("resource_config needs a non-empty 'hosts' list")
    if resource.get("current_host") not in hosts:
        raise ValueError(f"current_host {resource.get('current_host')!r} is not in {hosts}")


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(content, handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_job_dir(
    base_dir: str | os.PathLike[str],
    *,
    hyperparameters: Mapping[str, str],
    input_data_config: Mapping[str, Mapping[str, Any]],
    resource_config: Mapping[str, Any],
) -> JobPaths:
    """Create the job directory at ``base_dir`` (idempotent) and return its paths.

    Creates ``input/config/`` with the three JSON files, ``input/data/<channel>/`` for
    every channel, ``code/``, ``model/``, ``output/data/``, ``output/intermediate/`` and
    ``checkpoints/``. Host lists in ``resource_config`` are written sorted.
    """
    _check(hyperparameters, input_data_config, resource_config)
    paths = JobPaths(Path(base_dir))
    for directory in (
        paths.input_config_dir,
        paths.input_data_dir,
        paths.code_dir,
        paths.model_dir,
        paths.output_data_dir,
        paths.output_intermediate_dir,
        paths.checkpoints_dir,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    for channel in input_data_config:
        paths.channel_dir(channel).mkdir(exist_ok=True)
    resource = dict(resource_config)
    resource["hosts"] = sorted(resource["hosts"])
    if "instance_groups" in resource:
        resource["instance_groups"] = [
            {**group, "hosts": sorted(group.get("hosts", []))}
            for group in resource["instance_groups"]
        ]
    _write_json(paths.hyperparameters_file, dict(hyperparameters))
    _write_json(paths.input_data_config_file, {k: dict(v) for k, v in input_data_config.items()})
    _write_json(paths.resource_config_file, resource)
    return paths
