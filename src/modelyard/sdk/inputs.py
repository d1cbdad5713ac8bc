"""Channel configurations as ``sagemaker.inputs`` builds them: TrainingInput, FileSystemInput.

Each object's ``config`` is the CreateTrainingJob ``Channel`` without its name;
:func:`channels_from_inputs` names them the way ``Estimator.fit(inputs)`` does: a
string or a single input is the channel ``training``, a dict maps names to either.

Beyond sagemaker: a ``file://`` URI (which sagemaker accepts in local mode only) is a
directory of this machine read in place, i.e. a ``FileSystemDataSource``; it works
when the server runs on the same machine, which the embedded one does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

FILE_SYSTEM_TYPES = ("FSxLustre", "EFS")
FILE_SYSTEM_ACCESS_MODES = ("ro", "rw")
#: ``FileSystemId`` written for ``file://`` inputs (any id is accepted here).
LOCAL_FILE_SYSTEM_ID = "fs-00000000"


class ShuffleConfig:
    """``ShuffleConfig.Seed`` of a channel."""

    def __init__(self, seed: int) -> None:
        self.seed = seed


class TrainingInput:
    """An S3 channel (``sagemaker.inputs.TrainingInput``'s arguments and ``config``)."""

    def __init__(
        self,
        s3_data: str,
        distribution: str | None = None,
        compression: str | None = None,
        content_type: str | None = None,
        record_wrapping: str | None = None,
        s3_data_type: str = "S3Prefix",
        instance_groups: list[str] | None = None,
        input_mode: str | None = None,
        attribute_names: list[str] | None = None,
        target_attribute_name: str | None = None,
        shuffle_config: ShuffleConfig | None = None,
        hub_access_config: dict[str, Any] | None = None,
        model_access_config: dict[str, Any] | None = None,
    ) -> None:
        s3_source: dict[str, Any] = {"S3DataType": s3_data_type, "S3Uri": s3_data}
        self.config: dict[str, Any] = {"DataSource": {"S3DataSource": s3_source}}
        if not (target_attribute_name or distribution):
            distribution = "FullyReplicated"
        if distribution is not None:
            s3_source["S3DataDistributionType"] = distribution
        if compression is not None:
            self.config["CompressionType"] = compression
        if content_type is not None:
            self.config["ContentType"] = content_type
        if record_wrapping is not None:
            self.config["RecordWrapperType"] = record_wrapping
        if instance_groups is not None:
            s3_source["InstanceGroupNames"] = instance_groups
        if input_mode is not None:
            self.config["InputMode"] = input_mode
        if attribute_names is not None:
            s3_source["AttributeNames"] = attribute_names
        if target_attribute_name is not None:
            self.config["TargetAttributeName"] = target_attribute_name
        if shuffle_config is not None:
            self.config["ShuffleConfig"] = {"Seed": shuffle_config.seed}
        if hub_access_config is not None:
            s3_source["HubAccessConfig"] = hub_access_config
        if model_access_config is not None:
            s3_source["ModelAccessConfig"] = model_access_config

    def __repr__(self) -> str:
        return f"TrainingInput({self.config!r})"


class FileSystemInput:
    """A shared-filesystem channel (``sagemaker.inputs.FileSystemInput``), read in place."""

    def __init__(
        self,
        file_system_id: str,
        file_system_type: str,
        directory_path: str,
        file_system_access_mode: str = "ro",
        content_type: str | None = None,
    ) -> None:
        if file_system_type not in FILE_SYSTEM_TYPES:
            raise ValueError(
                f"Unrecognized file system type: {file_system_type}. "
                f"Valid values: {', '.join(FILE_SYSTEM_TYPES)}."
            )
        if file_system_access_mode not in FILE_SYSTEM_ACCESS_MODES:
            raise ValueError(
                f"Unrecognized file system access mode: {file_system_access_mode}. "
                f"Valid values: {', '.join(FILE_SYSTEM_ACCESS_MODES)}."
            )
        self.config: dict[str, Any] = {
            "DataSource": {
                "FileSystemDataSource": {
                    "FileSystemId": file_system_id,
                    "FileSystemType": file_system_type,
                    "DirectoryPath": directory_path,
                    "FileSystemAccessMode": file_system_access_mode,
                }
            }
        }
        if content_type:
            self.config["ContentType"] = content_type

    def __repr__(self) -> str:
        return f"FileSystemInput({self.config!r})"


ChannelInput = str | TrainingInput | FileSystemInput
Inputs = ChannelInput | dict[str, ChannelInput]


def _as_input(value: object) -> TrainingInput | FileSystemInput:
    if isinstance(value, TrainingInput | FileSystemInput):
        return value
    if isinstance(value, str):
        if value.startswith("s3://"):
            return TrainingInput(value)
        if value.startswith("file://"):
            path = unquote(urlsplit(value).path)
            return FileSystemInput(LOCAL_FILE_SYSTEM_ID, "EFS", path)
        raise ValueError(
            f'URI input {value} must be a valid S3 or FILE URI: must start with "s3://" or '
            '"file://"'
        )
    raise ValueError(
        f"Cannot format input {value!r}. Expecting one of str, TrainingInput or FileSystemInput"
    )


def channels_from_inputs(inputs: Inputs | None) -> list[dict[str, Any]] | None:
    """The ``InputDataConfig`` of ``fit(inputs)``, named as sagemaker names channels."""
    if inputs is None:
        return None
    named: dict[str, TrainingInput | FileSystemInput]
    if isinstance(inputs, dict):
        named = {str(name): _as_input(value) for name, value in inputs.items()}
    else:
        named = {"training": _as_input(inputs)}
    return [{**channel.config, "ChannelName": name} for name, channel in named.items()]
