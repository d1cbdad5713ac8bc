"""The training environment: the job directory's config files and the ``SM_*`` variables.

:func:`load_environment` reads ``input/config/*.json`` under the base directory and
returns a :class:`TrainingEnvironment`, whose :meth:`~TrainingEnvironment.to_env_vars`
is, key for key and byte for byte, what ``sagemaker_training.environment.Environment
().to_env_vars()`` produces for the same job directory (an integration test holds this
against the real toolkit). Reading has no side effects: nothing is created, no variable
of this process is set, no DNS is waited for.

Every environment variable of the container that the toolkit reads is read once, in
:class:`~modelyard.container.settings.ContainerSettings`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.container import encoding, hardware, params
from modelyard.container.errors import PlatformError
from modelyard.container.paths import JobPaths
from modelyard.container.settings import ContainerSettings


def read_json_config(path: Path) -> dict[str, Any]:
    """One of ``input/config/*.json``; a missing or malformed one is a platform error."""
    try:
        with open(path, encoding="utf-8") as handle:
            content = json.load(handle)
    except FileNotFoundError as exc:
        raise PlatformError(f"the job directory has no {path}") from exc
    except (OSError, ValueError) as exc:
        raise PlatformError(f"cannot read {path}: {exc}") from exc
    if not isinstance(content, dict):
        raise PlatformError(f"{path} holds {type(content).__name__}, not a JSON object")
    return content


def _check_resource_config(resource_config: Mapping[str, Any], path: Path) -> None:
    hosts = resource_config.get("hosts")
    current = resource_config.get("current_host")
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) for h in hosts):
        raise PlatformError(f"{path}: 'hosts' must be a non-empty list of host names")
    if not isinstance(current, str) or current not in hosts:
        raise PlatformError(f"{path}: 'current_host' {current!r} is not one of {hosts}")
    groups = resource_config.get("instance_groups", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, dict) and isinstance(g.get("instance_group_name"), str) for g in groups
    ):
        raise PlatformError(f"{path}: 'instance_groups' must be a list of instance groups")


def split_hyperparameters(
    hyperparameters: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(sagemaker_*, user) hyperparameters, split as the toolkit splits them."""
    sagemaker = {
        k: v
        for k, v in hyperparameters.items()
        if k in params.SAGEMAKER_HYPERPARAMETERS or k.startswith(params.SAGEMAKER_PREFIX)
    }
    user = {k: v for k, v in hyperparameters.items() if k not in sagemaker}
    return sagemaker, user


@dataclass(frozen=True)
class TrainingEnvironment:
    """A read-only snapshot of a training job's environment (the toolkit's ``Environment``).

    Field names are the toolkit's property names: :meth:`training_env` is its
    ``dict(Environment())``, the value of ``SM_TRAINING_ENV``.
    """

    paths: JobPaths
    hyperparameters: dict[str, Any]  # the user's, decoded; sagemaker_* removed
    sagemaker_hyperparameters: dict[str, Any]  # every sagemaker_* one, decoded
    resource_config: dict[str, Any]
    input_data_config: dict[str, Any]
    hardware: hardware.Hardware
    settings: ContainerSettings

    # -- the toolkit's properties ------------------------------------------------------

    @property
    def additional_framework_parameters(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.sagemaker_hyperparameters.items()
            if k not in params.SAGEMAKER_HYPERPARAMETERS
        }

    @property
    def channel_input_dirs(self) -> dict[str, str]:
        return {name: str(self.paths.channel_dir(name)) for name in self.input_data_config}

    @property
    def current_host(self) -> str:
        return str(self.resource_config["current_host"])

    @property
    def hosts(self) -> list[str]:
        return list(self.resource_config["hosts"])

    @property
    def current_instance_type(self) -> str:
        return str(self.resource_config.get("current_instance_type", params.DEFAULT_INSTANCE_TYPE))

    @property
    def current_instance_group(self) -> str:
        return str(self.resource_config.get("current_group_name", params.DEFAULT_INSTANCE_GROUP))

    @property
    def network_interface_name(self) -> str:
        return str(
            self.resource_config.get("network_interface_name", params.DEFAULT_NETWORK_INTERFACE)
        )

    @property
    def topology(self) -> list[Any]:
        return list(self.resource_config.get("topology", []))

    @property
    def _instance_group_configs(self) -> list[dict[str, Any]]:
        return list(self.resource_config.get("instance_groups", []))

    @property
    def instance_groups(self) -> list[str]:
        return [group["instance_group_name"] for group in self._instance_group_configs]

    @property
    def instance_groups_dict(self) -> dict[str, dict[str, Any]]:
        return {group["instance_group_name"]: group for group in self._instance_group_configs}

    @property
    def current_instance_group_hosts(self) -> list[str]:
        for group in self._instance_group_configs:
            if group["instance_group_name"] == self.current_instance_group:
                return list(group["hosts"])
        return []

    @property
    def distribution_instance_groups(self) -> list[str]:
        """Groups a distributed launcher spans: given by the SDK, else the current one
        when any distribution is switched on, else none."""
        framework = self.additional_framework_parameters
        if params.DISTRIBUTION_INSTANCE_GROUPS_PARAM in framework:
            return list(framework[params.DISTRIBUTION_INSTANCE_GROUPS_PARAM])
        if any(framework.get(name, False) for name in params.DISTRIBUTION_PARAMS):
            return [self.current_instance_group]
        return []

    @property
    def distribution_hosts(self) -> list[str]:
        if not self._instance_group_configs:
            return self.hosts
        groups = self.distribution_instance_groups
        return [
            host
            for group in self._instance_group_configs
            if group["instance_group_name"] in groups
            for host in group["hosts"]
        ]

    @property
    def is_hetero(self) -> bool:
        return len(self.instance_groups) > 1

    @property
    def master_hostname(self) -> str:
        return (self.distribution_hosts or self.hosts)[0]

    @property
    def is_master(self) -> bool:
        return self.current_host == self.master_hostname

    @property
    def is_modelparallel_enabled(self) -> Any:
        # The toolkit's expression, kept as is: None when unset, "" when empty.
        mp = self.settings.mp_parameters
        return mp and mp != "{}"

    @property
    def user_entry_point(self) -> Any:
        """``SAGEMAKER_PROGRAM``, else the ``sagemaker_program`` hyperparameter, else None."""
        return self.settings.program or self.sagemaker_hyperparameters.get(params.PROGRAM_PARAM)

    @property
    def module_name(self) -> str:
        """The entry point without ``.py`` (``"None"`` when there is none, as in the toolkit)."""
        name = self.settings.program or str(
            self.sagemaker_hyperparameters.get(params.PROGRAM_PARAM, None)
        )
        return name[: -len(".py")] if name.endswith(".py") else name

    @property
    def module_dir(self) -> str:
        """``sagemaker_submit_directory`` as given (e.g. an ``s3://`` URL), else code/."""
        return str(
            self.sagemaker_hyperparameters.get(params.SUBMIT_DIR_PARAM, str(self.paths.code_dir))
        )

    @property
    def log_level(self) -> Any:
        return self.sagemaker_hyperparameters.get(params.LOG_LEVEL_PARAM, logging.INFO)

    @property
    def job_name(self) -> str | None:
        return self.settings.training_job_name

    @property
    def framework_module(self) -> str | None:
        return self.settings.training_module

    @property
    def model_dir(self) -> str:
        return str(self.paths.model_dir)

    @property
    def input_dir(self) -> str:
        return str(self.paths.input_dir)

    @property
    def input_config_dir(self) -> str:
        return str(self.paths.input_config_dir)

    @property
    def output_dir(self) -> str:
        return str(self.paths.output_dir)

    @property
    def output_data_dir(self) -> str:
        return str(self.paths.output_data_dir)

    @property
    def output_intermediate_dir(self) -> str:
        return str(self.paths.output_intermediate_dir)

    @property
    def num_cpus(self) -> int:
        return self.hardware.num_cpus

    @property
    def num_gpus(self) -> int:
        return self.hardware.num_gpus

    @property
    def num_neurons(self) -> int:
        return self.hardware.num_neurons

    @property
    def is_smddprun_installed(self) -> bool:
        return self.hardware.smddprun_installed

    @property
    def is_smddpmprun_installed(self) -> bool:
        return self.hardware.smddpmprun_installed

    # -- representations ----------------------------------------------------------------

    def training_env(self) -> dict[str, Any]:
        """``SM_TRAINING_ENV``: every property above, by name (the toolkit's ``dict(env)``)."""
        return {name: getattr(self, name) for name in TRAINING_ENV_KEYS}

    def to_cmd_args(self) -> list[str]:
        """The user's hyperparameters as the entry point's argv (``SM_USER_ARGS``)."""
        return encoding.to_cmd_args(self.hyperparameters)

    def to_env_vars(self) -> dict[str, str]:
        """The ``SM_*`` variables, in the toolkit's order."""
        env: dict[str, Any] = {
            "hosts": self.hosts,
            "network_interface_name": self.network_interface_name,
            "hps": self.hyperparameters,
            "user_entry_point": self.user_entry_point,
            "framework_params": self.additional_framework_parameters,
            "resource_config": self.resource_config,
            "input_data_config": self.input_data_config,
            "output_data_dir": self.output_data_dir,
            "channels": sorted(self.channel_input_dirs),
            "current_host": self.current_host,
            "current_instance_type": self.current_instance_type,
            "current_instance_group": self.current_instance_group,
            "current_instance_group_hosts": self.current_instance_group_hosts,
            "instance_groups": self.instance_groups,
            "instance_groups_dict": self.instance_groups_dict,
            "distribution_instance_groups": self.distribution_instance_groups,
            "is_hetero": self.is_hetero,
            "module_name": self.module_name,
            "log_level": self.log_level,
            "framework_module": self.framework_module,
            "input_dir": self.input_dir,
            "input_config_dir": self.input_config_dir,
            "output_dir": self.output_dir,
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "num_neurons": self.num_neurons,
            "model_dir": self.model_dir,
            "module_dir": self.module_dir,
            "training_env": self.training_env(),
            "user_args": self.to_cmd_args(),
            "output_intermediate_dir": self.output_intermediate_dir,
        }
        if self.topology:
            env["topology"] = self.topology
        for name, path in self.channel_input_dirs.items():
            env[f"channel_{name}"] = path
        for key, value in self.hyperparameters.items():
            env[f"hp_{key}"] = value
        return encoding.to_env_vars(env)

    def process_env_vars(self) -> dict[str, str]:
        """The non-``SM_`` variables the toolkit also hands to the entry point."""
        job_name = self.sagemaker_hyperparameters.get(params.JOB_NAME_PARAM, "")
        region = self.sagemaker_hyperparameters.get(
            params.REGION_PARAM, self.settings.default_region
        )
        return {
            params.JOB_NAME_ENV: encoding.encode_env_value(job_name),
            params.CURRENT_HOST_ENV: self.current_host,
            params.REGION_ENV: encoding.encode_env_value(region or ""),
        }


TRAINING_ENV_KEYS = (
    "additional_framework_parameters",
    "channel_input_dirs",
    "current_host",
    "current_instance_group",
    "current_instance_group_hosts",
    "current_instance_type",
    "distribution_hosts",
    "distribution_instance_groups",
    "framework_module",
    "hosts",
    "hyperparameters",
    "input_config_dir",
    "input_data_config",
    "input_dir",
    "instance_groups",
    "instance_groups_dict",
    "is_hetero",
    "is_master",
    "is_modelparallel_enabled",
    "is_smddpmprun_installed",
    "is_smddprun_installed",
    "job_name",
    "log_level",
    "master_hostname",
    "model_dir",
    "module_dir",
    "module_name",
    "network_interface_name",
    "num_cpus",
    "num_gpus",
    "num_neurons",
    "output_data_dir",
    "output_dir",
    "output_intermediate_dir",
    "resource_config",
    "topology",
    "user_entry_point",
)
"""The keys of ``SM_TRAINING_ENV``: the toolkit's ``Environment`` properties, sorted."""


def load_environment(
    environ: Mapping[str, str], *, machine: hardware.Hardware | None = None
) -> TrainingEnvironment:
    """Read the job directory named by ``environ`` (``SAGEMAKER_BASE_DIR`` or /opt/ml).

    ``machine`` replaces probing the hardware (tests); by default it is probed once.
    """
    settings = ContainerSettings.from_environ(environ)
    paths = JobPaths(settings.base_dir)
    if not paths.input_config_dir.is_dir():
        raise PlatformError(
            f"no job directory at {paths.base_dir} (no {paths.input_config_dir}): "
            f"set {params.BASE_DIR_ENV} to the job's directory"
        )
    raw_hyperparameters = read_json_config(paths.hyperparameters_file)
    resource_config = read_json_config(paths.resource_config_file)
    _check_resource_config(resource_config, paths.resource_config_file)
    input_data_config = read_json_config(paths.input_data_config_file)
    sagemaker_hps, user_hps = split_hyperparameters(
        encoding.decode_hyperparameters(raw_hyperparameters)
    )
    instance_type = str(resource_config.get("current_instance_type", params.DEFAULT_INSTANCE_TYPE))
    return TrainingEnvironment(
        paths=paths,
        hyperparameters=user_hps,
        sagemaker_hyperparameters=sagemaker_hps,
        resource_config=resource_config,
        input_data_config=input_data_config,
        hardware=machine or hardware.probe(instance_type),
        settings=settings,
    )
