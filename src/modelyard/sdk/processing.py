"""Processors with sagemaker SDK v2's names, arguments and behaviour (``sagemaker.processing``).

``Processor`` runs any image with an ``entrypoint``; ``ScriptProcessor`` uploads a script
(``code``) to ``s3://<bucket>/<job>/input/code/`` and runs ``command + [script]``;
``FrameworkProcessor`` packs ``code`` + ``source_dir`` into ``sourcedir.tar.gz`` with
sagemaker's ``runproc.sh`` and runs it with ``/bin/bash``. Local ``ProcessingInput``
sources are uploaded to ``s3://<bucket>/<job>/input/<input name>``; outputs without an
``s3://`` destination go to ``s3://<bucket>/<job>/output/<output name>``, exactly as
sagemaker names them. Everything goes through the control plane's HTTP API.

Arguments without meaning on one's own machines (KMS keys, ``network_config``,
``experiment_config``) are accepted and passed on or ignored, so SageMaker code runs
unchanged.
"""

from __future__ import annotations

import logging
import os
import pathlib
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from modelyard.ids import unique_name_from_base
from modelyard.sdk import processing_jobs
from modelyard.sdk.estimator import base_name_from_image
from modelyard.sdk.images import framework_image_uri
from modelyard.sdk.processing_io import ProcessingInput, ProcessingOutput, _join, _upload
from modelyard.sdk.processing_jobs import ProcessingJob
from modelyard.sdk.session import Session
from modelyard.sdk.training_request import DEFAULT_ROLE

log = logging.getLogger(__name__)

__all__ = [
    "ProcessingInput",
    "ProcessingJob",
    "ProcessingOutput",
    "Processor",
    "ScriptProcessor",
]


class Processor:
    """Runs a processing job on any image (sagemaker's ``Processor``)."""

    JOB_CLASS_NAME = "processing-job"

    def __init__(
        self,
        role: str | None = None,
        image_uri: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        entrypoint: list[str] | None = None,
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        network_config: Any = None,
    ) -> None:
        self.role = role
        self.image_uri = image_uri
        self.instance_count = instance_count or 1
        self.instance_type = instance_type or "local"
        self.entrypoint = entrypoint
        self.volume_size_in_gb = volume_size_in_gb
        self.volume_kms_key = volume_kms_key
        self.output_kms_key = output_kms_key
        self.max_runtime_in_seconds = max_runtime_in_seconds
        self.base_job_name = base_job_name
        self.sagemaker_session = sagemaker_session or Session()
        self.env = env
        self.tags = tags
        self.network_config = network_config
        self.arguments: list[str] | None = None
        self.jobs: list[ProcessingJob] = []
        self.latest_job: ProcessingJob | None = None
        self._current_job_name: str | None = None

    def run(
        self,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        arguments: list[str] | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
        kms_key: str | None = None,
    ) -> None:
        """Run a processing job; with ``wait``, return once it has ended."""
        if logs and not wait:
            raise ValueError(
                "Logs can only be shown if wait is set to True. Please either set wait to "
                "True or set logs to False."
            )
        normalized_inputs, normalized_outputs = self._normalize_args(
            job_name=job_name, arguments=arguments, inputs=inputs, outputs=outputs, kms_key=kms_key
        )
        self._start(normalized_inputs, normalized_outputs, experiment_config, wait, logs)

    def _start(
        self,
        inputs: list[ProcessingInput],
        outputs: list[ProcessingOutput],
        experiment_config: dict[str, str] | None,
        wait: bool,
        logs: bool,
    ) -> None:
        assert self._current_job_name is not None
        request = self._process_request(inputs, outputs, experiment_config)
        processing_jobs.create(self.sagemaker_session.client, request)
        self.latest_job = ProcessingJob(
            self.sagemaker_session, self._current_job_name, inputs, outputs, self.output_kms_key
        )
        self.jobs.append(self.latest_job)
        if wait:
            self.latest_job.wait(logs=logs)

    # -- sagemaker's normalization --------------------------------------------

    def _extend_processing_args(
        self,
        inputs: list[ProcessingInput] | None,
        outputs: list[ProcessingOutput] | None,
        **kwargs: Any,
    ) -> tuple[list[ProcessingInput] | None, list[ProcessingOutput] | None]:
        return inputs, outputs

    def _normalize_args(
        self,
        job_name: str | None = None,
        arguments: list[str] | None = None,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        code: str | None = None,
        kms_key: str | None = None,
    ) -> tuple[list[ProcessingInput], list[ProcessingOutput]]:
        self._current_job_name = self._generate_current_job_name(job_name=job_name)
        inputs_with_code = self._include_code_in_inputs(inputs, code, kms_key)
        normalized_inputs = self._normalize_inputs(inputs_with_code, kms_key)
        normalized_outputs = self._normalize_outputs(outputs)
        self.arguments = arguments
        return normalized_inputs, normalized_outputs

    def _include_code_in_inputs(
        self, inputs: list[ProcessingInput] | None, _code: str | None, _kms_key: str | None
    ) -> list[ProcessingInput] | None:
        return inputs

    def _generate_current_job_name(self, job_name: str | None = None) -> str:
        if job_name is not None:
            return job_name
        base = self.base_job_name or base_name_from_image(
            str(self.image_uri), default=Processor.JOB_CLASS_NAME
        )
        return unique_name_from_base(base)

    def _normalize_inputs(
        self, inputs: list[ProcessingInput] | None = None, kms_key: str | None = None
    ) -> list[ProcessingInput]:
        normalized: list[ProcessingInput] = []
        for count, file_input in enumerate(inputs or [], 1):
            if not isinstance(file_input, ProcessingInput):
                raise TypeError("Your inputs must be provided as ProcessingInput objects.")
            if file_input.input_name is None:
                file_input.input_name = f"input-{count}"
            if file_input.dataset_definition or file_input.s3_input is None:
                normalized.append(file_input)
                continue
            if urlparse(str(file_input.s3_input.s3_uri)).scheme != "s3":
                desired = _join(
                    self.sagemaker_session.default_bucket(),
                    str(self._current_job_name),
                    "input",
                    file_input.input_name,
                )
                file_input.s3_input.s3_uri = _upload(
                    self.sagemaker_session, str(file_input.s3_input.s3_uri), desired
                )
            normalized.append(file_input)
        return normalized

    def _normalize_outputs(
        self, outputs: list[ProcessingOutput] | None = None
    ) -> list[ProcessingOutput]:
        normalized: list[ProcessingOutput] = []
        for count, output in enumerate(outputs or [], 1):
            if not isinstance(output, ProcessingOutput):
                raise TypeError("Your outputs must be provided as ProcessingOutput objects.")
            if output.output_name is None:
                output.output_name = f"output-{count}"
            if urlparse(str(output.destination)).scheme != "s3":
                output.destination = _join(
                    self.sagemaker_session.default_bucket(),
                    str(self._current_job_name),
                    "output",
                    output.output_name,
                )
            normalized.append(output)
        return normalized

    # -- the request -------------------------------------------------------------

    def _process_request(
        self,
        inputs: list[ProcessingInput],
        outputs: list[ProcessingOutput],
        experiment_config: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The CreateProcessingJob request sagemaker's ``Session.process`` would send."""
        cluster: dict[str, Any] = {
            "InstanceType": self.instance_type,
            "InstanceCount": self.instance_count,
            "VolumeSizeInGB": self.volume_size_in_gb,
        }
        if self.volume_kms_key is not None:
            cluster["VolumeKmsKeyId"] = self.volume_kms_key
        app: dict[str, Any] = {"ImageUri": self.image_uri}
        if self.arguments is not None:
            app["ContainerArguments"] = self.arguments
        if self.entrypoint is not None:
            app["ContainerEntrypoint"] = self.entrypoint
        request: dict[str, Any] = {
            "ProcessingJobName": self._current_job_name,
            "ProcessingResources": {"ClusterConfig": cluster},
            "AppSpecification": app,
            "RoleArn": self.role or DEFAULT_ROLE,
        }
        if inputs:
            request["ProcessingInputs"] = [item._to_request_dict() for item in inputs]
        output_config: dict[str, Any] = {"Outputs": [item._to_request_dict() for item in outputs]}
        if self.output_kms_key is not None:
            output_config["KmsKeyId"] = self.output_kms_key
        if output_config["Outputs"]:
            request["ProcessingOutputConfig"] = output_config
        if self.env is not None:
            request["Environment"] = self.env
        if self.network_config is not None:
            to_request = getattr(self.network_config, "_to_request_dict", None)
            request["NetworkConfig"] = (
                to_request() if callable(to_request) else dict(self.network_config)
            )
        if self.max_runtime_in_seconds is not None:
            request["StoppingCondition"] = {"MaxRuntimeInSeconds": self.max_runtime_in_seconds}
        if self.tags is not None:
            request["Tags"] = self.tags
        if experiment_config:
            request["ExperimentConfig"] = experiment_config
        return request


class ScriptProcessor(Processor):
    """Runs a script with ``command`` in an image (sagemaker's ``ScriptProcessor``)."""

    _CODE_CONTAINER_BASE_PATH = "/opt/ml/processing/input/"

    def __init__(
        self,
        role: str | None = None,
        image_uri: str | None = None,
        command: list[str] | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        network_config: Any = None,
    ) -> None:
        self._CODE_CONTAINER_INPUT_NAME = "code"
        self.command = command
        super().__init__(
            role=role,
            image_uri=image_uri,
            instance_count=instance_count,
            instance_type=instance_type,
            volume_size_in_gb=volume_size_in_gb,
            volume_kms_key=volume_kms_key,
            output_kms_key=output_kms_key,
            max_runtime_in_seconds=max_runtime_in_seconds,
            base_job_name=base_job_name,
            sagemaker_session=sagemaker_session,
            env=env,
            tags=tags,
            network_config=network_config,
        )

    def run(  # type: ignore[override]
        self,
        code: str,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        arguments: list[str] | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
        kms_key: str | None = None,
    ) -> None:
        """Upload ``code`` (a local file or an ``s3://`` URI) and run it."""
        normalized_inputs, normalized_outputs = self._normalize_args(
            job_name=job_name,
            arguments=arguments,
            inputs=inputs,
            outputs=outputs,
            code=code,
            kms_key=kms_key,
        )
        self._start(normalized_inputs, normalized_outputs, experiment_config, wait, logs)

    def _include_code_in_inputs(
        self, inputs: list[ProcessingInput] | None, code: str | None, kms_key: str | None = None
    ) -> list[ProcessingInput] | None:
        assert code is not None
        user_code_s3_uri = self._handle_user_code_url(code, kms_key)
        user_script_name = self._get_user_code_name(code)
        inputs_with_code = self._convert_code_and_add_to_inputs(inputs, user_code_s3_uri)
        self._set_entrypoint(self.command or [], user_script_name)
        return inputs_with_code

    def _get_user_code_name(self, code: str) -> str:
        return os.path.basename(urlparse(code).path)

    def _handle_user_code_url(self, code: str, kms_key: str | None = None) -> str:
        code_url = urlparse(code)
        if code_url.scheme == "s3":
            return code
        if code_url.scheme in ("", "file"):
            code_path = url2pathname(code_url.path)
            if not os.path.exists(code_path):
                raise ValueError(
                    f"code {code} wasn't found. Please make sure that the file exists."
                )
            if not os.path.isfile(code_path):
                raise ValueError(
                    f"code {code} must be a file, not a directory. Please pass a path to a file."
                )
            return self._upload_code(code_path, kms_key)
        raise ValueError(
            f"code {code} url scheme {code_url.scheme} is not recognized. Please pass a file "
            "path or S3 url"
        )

    def _upload_code(self, code: str, kms_key: str | None = None) -> str:
        desired = _join(
            self.sagemaker_session.default_bucket(),
            str(self._current_job_name),
            "input",
            self._CODE_CONTAINER_INPUT_NAME,
        )
        return _upload(self.sagemaker_session, code, desired)

    def _convert_code_and_add_to_inputs(
        self, inputs: list[ProcessingInput] | None, s3_uri: str
    ) -> list[ProcessingInput]:
        code_file_input = ProcessingInput(
            source=s3_uri,
            destination=str(
                pathlib.PurePosixPath(
                    self._CODE_CONTAINER_BASE_PATH, self._CODE_CONTAINER_INPUT_NAME
                )
            ),
            input_name=self._CODE_CONTAINER_INPUT_NAME,
        )
        return (inputs or []) + [code_file_input]

    def _set_entrypoint(self, command: list[str], user_script_name: str) -> None:
        location = str(
            pathlib.PurePosixPath(
                self._CODE_CONTAINER_BASE_PATH, self._CODE_CONTAINER_INPUT_NAME, user_script_name
            )
        )
        self.entrypoint = [*command, location]


def framework_image(session: Session, framework: str, version: str) -> str:
    """The server's image ``name:tag`` for a framework version (registered if needed)."""
    return framework_image_uri(session.client, framework, version)
