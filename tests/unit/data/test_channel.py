"""Parsing an InputDataConfig channel: defaults, overrides, and errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelyard.data.channel import FileSystemSource, parse_channel
from modelyard.errors import ValidationError


def s3_channel(**overrides: Any) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": "train",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": "s3://bucket/data/train/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }
    channel.update(overrides)
    return channel


def test_defaults_follow_sagemaker() -> None:
    spec = parse_channel(s3_channel(), input_mode="File")
    assert spec.name == "train"
    assert spec.input_mode == "File"
    assert spec.compression == "None"
    assert spec.record_wrapper == "None"
    assert spec.shuffle_seed is None
    assert spec.s3.uri.bucket == "bucket"
    assert spec.s3.uri.key == "data/train/"
    assert not spec.s3.sharded


def test_channel_input_mode_overrides_the_jobs() -> None:
    spec = parse_channel(s3_channel(InputMode="Pipe"), input_mode="File")
    assert spec.input_mode == "Pipe"


def test_every_channel_field_is_read() -> None:
    spec = parse_channel(
        s3_channel(
            ContentType="text/csv",
            CompressionType="Gzip",
            RecordWrapperType="RecordIO",
            ShuffleConfig={"Seed": 42},
        ),
        input_mode="Pipe",
    )
    assert (spec.content_type, spec.gzip, spec.recordio, spec.shuffle_seed) == (
        "text/csv",
        True,
        True,
        42,
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ChannelName": "bad name"}, "InputDataConfig.3.ChannelName"),
        ({"InputMode": "Stream"}, "InputDataConfig.3.InputMode"),
        ({"CompressionType": "Zip"}, "InputDataConfig.3.CompressionType"),
        ({"RecordWrapperType": "TFRecord"}, "InputDataConfig.3.RecordWrapperType"),
        ({"ShuffleConfig": {"Seed": "7"}}, "InputDataConfig.3.ShuffleConfig.Seed"),
        ({"DataSource": {}}, "InputDataConfig.3.DataSource"),
        (
            {"DataSource": {"S3DataSource": {"S3Uri": "https://bucket/x"}}},
            "InputDataConfig.3.DataSource.S3DataSource.S3Uri",
        ),
        (
            {"DataSource": {"S3DataSource": {"S3Uri": "s3://bucket/a//b"}}},
            "InputDataConfig.3.DataSource.S3DataSource.S3Uri",
        ),
        (
            {"DataSource": {"S3DataSource": {"S3Uri": "s3://b/x", "S3DataType": "Converse"}}},
            "InputDataConfig.3.DataSource.S3DataSource.S3DataType",
        ),
        (
            {
                "DataSource": {
                    "S3DataSource": {"S3Uri": "s3://bucket/x", "S3DataDistributionType": "Split"}
                }
            },
            "InputDataConfig.3.DataSource.S3DataSource.S3DataDistributionType",
        ),
    ],
)
def test_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channel(s3_channel(**change), input_mode="File", index=3)
    assert caught.value.field == field
    assert caught.value.http_status == 400


def test_without_an_index_the_field_is_relative_to_the_channel() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_channel(s3_channel(CompressionType="Zip"), input_mode="File")
    assert caught.value.field == "Channel.CompressionType"
    assert "'train'" in caught.value.message


def test_fast_file_takes_s3_prefix_only() -> None:
    manifest = s3_channel(
        DataSource={"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/m.json"}}
    )
    with pytest.raises(ValidationError) as caught:
        parse_channel(manifest, input_mode="FastFile", index=0)
    assert caught.value.field == "InputDataConfig.0.DataSource.S3DataSource.S3DataType"
    assert parse_channel(manifest, input_mode="Pipe").s3.data_type == "ManifestFile"


def test_augmented_manifest_is_pipe_only_and_needs_attribute_names() -> None:
    source = {
        "S3DataType": "AugmentedManifestFile",
        "S3Uri": "s3://bucket/train.manifest",
        "AttributeNames": ["source-ref", "class"],
    }
    channel = s3_channel(DataSource={"S3DataSource": source})
    assert parse_channel(channel, input_mode="Pipe").s3.attribute_names == ("source-ref", "class")
    with pytest.raises(ValidationError) as caught:
        parse_channel(channel, input_mode="File", index=1)
    assert caught.value.field == "InputDataConfig.1.InputMode"
    without = s3_channel(DataSource={"S3DataSource": {**source, "AttributeNames": []}})
    with pytest.raises(ValidationError) as caught:
        parse_channel(without, input_mode="Pipe", index=1)
    assert caught.value.field == "InputDataConfig.1.DataSource.S3DataSource.AttributeNames"


def test_file_system_channel() -> None:
    channel = {
        "ChannelName": "shared",
        "DataSource": {
            "FileSystemDataSource": {
                "FileSystemId": "fs-0123456789abcdef0",
                "FileSystemType": "FSxLustre",
                "DirectoryPath": "/fsx/data",
                "FileSystemAccessMode": "ro",
            }
        },
    }
    spec = parse_channel(channel, input_mode="File")
    assert isinstance(spec.source, FileSystemSource)
    assert spec.source.directory_path == Path("/fsx/data")
    assert spec.source.access_mode == "ro"
    with pytest.raises(ValidationError) as caught:
        parse_channel(channel, input_mode="Pipe", index=2)
    assert caught.value.field == "InputDataConfig.2.InputMode"
    relative = {"ChannelName": "x", "DataSource": {"FileSystemDataSource": {"DirectoryPath": "d"}}}
    with pytest.raises(ValidationError) as caught:
        parse_channel(relative, input_mode="File")
    assert caught.value.field == "Channel.DataSource.FileSystemDataSource.DirectoryPath"


def test_mode_checks_wait_for_a_known_mode() -> None:
    channel = s3_channel(
        DataSource={"S3DataSource": {"S3DataType": "ManifestFile", "S3Uri": "s3://bucket/m"}}
    )
    assert parse_channel(channel).input_mode == "File"
