"""One ``InputDataConfig`` entry of CreateTrainingJob, parsed and checked.

The request is PascalCase, shaped as botocore's SageMaker model shapes it
(``Channel``, ``S3DataSource``, ``FileSystemDataSource``, ``ShuffleConfig``).
:func:`parse_channel` turns it into a :class:`ChannelSpec` or raises a
:class:`~modelyard.errors.ValidationError` whose ``field`` names the offending
member: ``InputDataConfig.<i>.DataSource.S3DataSource.S3Uri`` when the caller
knows the channel's position, ``Channel.DataSource.S3DataSource.S3Uri``
otherwise (the message always names the channel).

Rules beyond the shapes, from the API model's documentation:

* ``FastFile`` takes ``S3Prefix`` channels only; ``AugmentedManifestFile`` is
  ``Pipe`` only; a file-system channel is ``File`` only (it is mounted).
* ``CompressionType`` and ``RecordWrapperType`` act in Pipe mode only; the API
  says "in File mode, leave this field unset or set it to None". We accept
  them there and deliver the objects unchanged (gzip files stay gzip files),
  which is what SageMaker does with such a channel.
* ``S3Uri`` must be ``s3://`` (the API also allows ``https://`` object URLs;
  a self-hosted store has no such URLs).
* ``InstanceGroupNames`` (heterogeneous clusters) is the controller's business:
  it decides which hosts stage a channel; ignored here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelyard.errors import ValidationError
from modelyard.store.uri import S3Uri, parse_s3_uri, validate_key, validate_prefix

INPUT_MODES = ("File", "FastFile", "Pipe")
S3_DATA_TYPES = ("S3Prefix", "ManifestFile", "AugmentedManifestFile")
DISTRIBUTIONS = ("FullyReplicated", "ShardedByS3Key")
COMPRESSIONS = ("None", "Gzip")
RECORD_WRAPPERS = ("None", "RecordIO")
FILE_SYSTEM_TYPES = ("EFS", "FSxLustre")
ACCESS_MODES = ("ro", "rw")
MAX_ATTRIBUTE_NAMES = 16
MAX_CONTENT_TYPE_CHARS = 256

_CHANNEL_NAME = re.compile(r"[A-Za-z0-9.\-_]{1,64}")
_FILE_SYSTEM_ID = re.compile(r"fs-[0-9a-f]{8,}")


@dataclass(frozen=True)
class S3Source:
    """``DataSource.S3DataSource``."""

    data_type: str
    uri: S3Uri
    distribution: str
    attribute_names: tuple[str, ...] = ()

    @property
    def sharded(self) -> bool:
        return self.distribution == "ShardedByS3Key"


@dataclass(frozen=True)
class FileSystemSource:
    """``DataSource.FileSystemDataSource``: a directory read in place."""

    directory_path: Path
    access_mode: str
    file_system_id: str | None = None
    file_system_type: str | None = None


@dataclass(frozen=True)
class ChannelSpec:
    """A checked channel, with its effective input mode (the channel's own, else the job's)."""

    name: str
    source: S3Source | FileSystemSource
    input_mode: str
    content_type: str | None = None
    compression: str = "None"
    record_wrapper: str = "None"
    shuffle_seed: int | None = None
    field_prefix: str = "Channel"

    def field(self, member: str) -> str:
        """The error ``field`` naming ``member`` of this channel."""
        return f"{self.field_prefix}.{member}"

    @property
    def s3(self) -> S3Source:
        if not isinstance(self.source, S3Source):
            raise TypeError(f"channel {self.name!r} has no S3 data source")
        return self.source

    @property
    def gzip(self) -> bool:
        return self.compression == "Gzip"

    @property
    def recordio(self) -> bool:
        return self.record_wrapper == "RecordIO"


def field_prefix(index: int | None) -> str:
    return "Channel" if index is None else f"InputDataConfig.{index}"


def parse_channel(
    channel: Mapping[str, Any], *, input_mode: str | None = None, index: int | None = None
) -> ChannelSpec:
    """Check one channel; ``input_mode`` is the job's ``TrainingInputMode``.

    When neither the channel nor the job names a mode, the checks that depend on
    it are skipped and the spec says ``File`` (SageMaker's default).
    """
    prefix = field_prefix(index)
    if not isinstance(channel, Mapping):
        raise ValidationError(f"{prefix} must be an object (a Channel)", field=prefix)
    name = channel.get("ChannelName")
    if not isinstance(name, str) or not _CHANNEL_NAME.fullmatch(name):
        raise ValidationError(
            f"ChannelName={name!r} must be 1-64 characters of A-Z a-z 0-9 . - _",
            field=f"{prefix}.ChannelName",
        )
    parser = _Parser(name, prefix)
    mode = parser.enum(channel.get("InputMode") or input_mode, "InputMode", INPUT_MODES, "File")
    mode_known = bool(channel.get("InputMode") or input_mode)
    source = parser.source(channel.get("DataSource"))
    seed = parser.seed(channel.get("ShuffleConfig"))
    spec = ChannelSpec(
        name=name,
        source=source,
        input_mode=mode,
        content_type=parser.content_type(channel.get("ContentType")),
        compression=parser.enum(
            channel.get("CompressionType"), "CompressionType", COMPRESSIONS, "None"
        ),
        record_wrapper=parser.enum(
            channel.get("RecordWrapperType"), "RecordWrapperType", RECORD_WRAPPERS, "None"
        ),
        shuffle_seed=seed,
        field_prefix=prefix,
    )
    if mode_known:
        check_mode(spec)
    return spec


def check_mode(spec: ChannelSpec) -> None:
    """Refuse source and mode pairs SageMaker refuses."""
    source = spec.source
    if isinstance(source, FileSystemSource):
        if spec.input_mode != "File":
            raise ValidationError(
                f"channel {spec.name!r}: a FileSystemDataSource is mounted and read in place, "
                f"so its InputMode must be File, not {spec.input_mode}",
                field=spec.field("InputMode"),
            )
        return
    if spec.input_mode == "FastFile" and source.data_type != "S3Prefix":
        raise ValidationError(
            f"channel {spec.name!r}: FastFile input mode takes S3Prefix channels only, not "
            f"{source.data_type}; use File or Pipe",
            field=spec.field("DataSource.S3DataSource.S3DataType"),
        )
    if source.data_type == "AugmentedManifestFile" and spec.input_mode != "Pipe":
        raise ValidationError(
            f"channel {spec.name!r}: an AugmentedManifestFile channel needs Pipe input mode, "
            f"not {spec.input_mode}",
            field=spec.field("InputMode"),
        )


class _Parser:
    def __init__(self, channel: str, prefix: str) -> None:
        self.channel = channel
        self.prefix = prefix

    def fail(self, member: str, problem: str) -> ValidationError:
        return ValidationError(
            f"channel {self.channel!r}: {member} {problem}", field=f"{self.prefix}.{member}"
        )

    def enum(self, value: object, member: str, allowed: tuple[str, ...], default: str) -> str:
        if value is None:
            return default
        if value not in allowed:
            raise self.fail(member, f"is {value!r}: use one of {', '.join(allowed)}")
        return str(value)

    def content_type(self, value: object) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > MAX_CONTENT_TYPE_CHARS:
            raise self.fail("ContentType", f"must be a string of at most {MAX_CONTENT_TYPE_CHARS}")
        return value

    def seed(self, value: object) -> int | None:
        if value is None:
            return None
        seed = value.get("Seed") if isinstance(value, Mapping) else None
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise self.fail("ShuffleConfig.Seed", f"must be an integer, got {seed!r}")
        return seed

    def source(self, value: object) -> S3Source | FileSystemSource:
        if not isinstance(value, Mapping):
            raise self.fail("DataSource", "must hold S3DataSource or FileSystemDataSource")
        s3 = value.get("S3DataSource")
        fs = value.get("FileSystemDataSource")
        if (s3 is None) == (fs is None):
            raise self.fail(
                "DataSource", "must hold exactly one of S3DataSource and FileSystemDataSource"
            )
        if s3 is not None:
            return self.s3_source(s3)
        return self.file_system_source(fs)

    def s3_source(self, value: object) -> S3Source:
        member = "DataSource.S3DataSource"
        if not isinstance(value, Mapping):
            raise self.fail(member, "must be an object")
        data_type = value.get("S3DataType") or "S3Prefix"
        if data_type not in S3_DATA_TYPES:
            raise self.fail(
                f"{member}.S3DataType",
                f"is {data_type!r}: modelyard supports {', '.join(S3_DATA_TYPES)}",
            )
        uri_field = f"{self.prefix}.{member}.S3Uri"
        raw_uri = value.get("S3Uri")
        if not isinstance(raw_uri, str) or not raw_uri:
            raise self.fail(f"{member}.S3Uri", "is required (s3://bucket/prefix)")
        uri = parse_s3_uri(raw_uri, field=uri_field)
        if data_type == "S3Prefix":
            validate_prefix(uri.key, field=uri_field)
        else:
            validate_key(uri.key, field=uri_field)
        distribution = self.enum(
            value.get("S3DataDistributionType"),
            f"{member}.S3DataDistributionType",
            DISTRIBUTIONS,
            "FullyReplicated",
        )
        attributes = self.attribute_names(value.get("AttributeNames"), data_type)
        return S3Source(str(data_type), uri, distribution, attributes)

    def attribute_names(self, value: object, data_type: object) -> tuple[str, ...]:
        member = "DataSource.S3DataSource.AttributeNames"
        if data_type != "AugmentedManifestFile":
            if value:
                raise self.fail(member, "applies to AugmentedManifestFile channels only")
            return ()
        if (
            not isinstance(value, list)
            or not 1 <= len(value) <= MAX_ATTRIBUTE_NAMES
            or not all(isinstance(name, str) and name for name in value)
        ):
            raise self.fail(
                member, f"must list 1-{MAX_ATTRIBUTE_NAMES} attribute names of the manifest lines"
            )
        return tuple(value)

    def file_system_source(self, value: object) -> FileSystemSource:
        member = "DataSource.FileSystemDataSource"
        if not isinstance(value, Mapping):
            raise self.fail(member, "must be an object")
        path = value.get("DirectoryPath")
        if not isinstance(path, str) or not path.startswith("/"):
            raise self.fail(f"{member}.DirectoryPath", f"must be an absolute path, got {path!r}")
        fs_id = value.get("FileSystemId")
        if fs_id is not None and (
            not isinstance(fs_id, str) or not _FILE_SYSTEM_ID.fullmatch(fs_id)
        ):
            raise self.fail(f"{member}.FileSystemId", f"is {fs_id!r}: write it as fs-<hex>")
        fs_type = value.get("FileSystemType")
        if fs_type is not None:
            fs_type = self.enum(fs_type, f"{member}.FileSystemType", FILE_SYSTEM_TYPES, "EFS")
        access = self.enum(
            value.get("FileSystemAccessMode"), f"{member}.FileSystemAccessMode", ACCESS_MODES, "ro"
        )
        return FileSystemSource(Path(path), access, fs_id, fs_type)
