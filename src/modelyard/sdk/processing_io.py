"""Inputs and outputs of processing jobs (sagemaker's ``ProcessingInput`` / ``ProcessingOutput``).

Their request shapes are sagemaker's ``_to_request_dict``; ``_upload`` and ``_join`` are
sagemaker's ``S3Uploader.upload`` and ``s3_path_join`` over modelyard's session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from modelyard.sdk.dataset_definition import DatasetDefinition, S3Input
from modelyard.sdk.session import Session


class ProcessingInput:
    """One input of a processing job (sagemaker's ``ProcessingInput``)."""

    def __init__(
        self,
        source: str | None = None,
        destination: str | None = None,
        input_name: str | None = None,
        s3_data_type: str = "S3Prefix",
        s3_input_mode: str = "File",
        s3_data_distribution_type: str = "FullyReplicated",
        s3_compression_type: str = "None",
        s3_input: S3Input | None = None,
        dataset_definition: DatasetDefinition | None = None,
        app_managed: bool = False,
    ) -> None:
        self.source = source
        self.destination = destination
        self.input_name = input_name
        self.s3_data_type: str | None = s3_data_type
        self.s3_input_mode: str | None = s3_input_mode
        self.s3_data_distribution_type: str | None = s3_data_distribution_type
        self.s3_compression_type = s3_compression_type
        self.s3_input = s3_input
        self.dataset_definition = dataset_definition
        self.app_managed = app_managed
        self._create_s3_input()

    def _create_s3_input(self) -> None:
        if self.s3_input is not None:
            self.source = self.s3_input.s3_uri
            self.destination = self.s3_input.local_path
            self.s3_data_type = self.s3_input.s3_data_type
            self.s3_input_mode = self.s3_input.s3_input_mode
            self.s3_data_distribution_type = self.s3_input.s3_data_distribution_type
        elif self.source is not None and self.destination is not None:
            self.s3_input = S3Input(
                s3_uri=self.source,
                local_path=self.destination,
                s3_data_type=self.s3_data_type,
                s3_input_mode=self.s3_input_mode,
                s3_data_distribution_type=self.s3_data_distribution_type,
                s3_compression_type=self.s3_compression_type,
            )

    def _to_request_dict(self) -> dict[str, Any]:
        request: dict[str, Any] = {"InputName": self.input_name, "AppManaged": self.app_managed}
        if self.s3_input:
            if (
                self.s3_input.s3_compression_type == "Gzip"
                and self.s3_input.s3_input_mode != "Pipe"
            ):
                raise ValueError("Data can only be gzipped when the input mode is Pipe.")
            request["S3Input"] = self.s3_input.to_request()
        if self.dataset_definition is not None:
            request["DatasetDefinition"] = self.dataset_definition.to_request()
        return request

    @classmethod
    def from_request(cls, item: dict[str, Any]) -> ProcessingInput:
        """The input a ``ProcessingInputs`` entry of a describe stands for."""
        return cls(
            input_name=item["InputName"],
            s3_input=S3Input.from_request(item.get("S3Input")),
            dataset_definition=DatasetDefinition.from_request(item.get("DatasetDefinition")),
            app_managed=bool(item.get("AppManaged", False)),
        )


class ProcessingOutput:
    """One output of a processing job (sagemaker's ``ProcessingOutput``)."""

    def __init__(
        self,
        source: str | None = None,
        destination: str | None = None,
        output_name: str | None = None,
        s3_upload_mode: str = "EndOfJob",
        app_managed: bool = False,
        feature_store_output: Any = None,
    ) -> None:
        self.source = source
        self.destination = destination
        self.output_name = output_name
        self.s3_upload_mode = s3_upload_mode
        self.app_managed = app_managed
        self.feature_store_output = feature_store_output

    def _to_request_dict(self) -> dict[str, Any]:
        request: dict[str, Any] = {"OutputName": self.output_name, "AppManaged": self.app_managed}
        if self.source is not None:
            request["S3Output"] = {
                "S3Uri": self.destination,
                "LocalPath": self.source,
                "S3UploadMode": self.s3_upload_mode,
            }
        if self.feature_store_output is not None:
            request["FeatureStoreOutput"] = {
                "FeatureGroupName": self.feature_store_output.feature_group_name
            }
        return request

    @classmethod
    def from_request(cls, item: dict[str, Any]) -> ProcessingOutput:
        output = cls(output_name=item["OutputName"], app_managed=item.get("AppManaged", False))
        if "S3Output" in item:
            output.source = item["S3Output"]["LocalPath"]
            output.destination = item["S3Output"]["S3Uri"]
            output.s3_upload_mode = item["S3Output"].get("S3UploadMode", "EndOfJob")
        return output


def _upload(session: Session, local_path: str, desired_s3_uri: str) -> str:
    """sagemaker's ``S3Uploader.upload``: a file lands under the URI, a directory as it."""
    parsed = urlparse(desired_s3_uri)
    return session.upload_data(local_path, bucket=parsed.netloc, key_prefix=parsed.path.lstrip("/"))


def _join(*parts: str) -> str:
    """sagemaker's ``s3_path_join`` for ``s3://`` + parts."""
    return "s3://" + "/".join(p.strip("/") for p in parts if p and p.strip("/"))
