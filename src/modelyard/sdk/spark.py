"""``PySparkProcessor``: a PySpark script in the Spark image (``sagemaker.spark.processing``).

As sagemaker does, the job runs ``smspark-submit [options] <script> [arguments]``:
``submit_py_files`` / ``submit_jars`` / ``submit_files`` that are local are uploaded to
``s3://<bucket>/<job>/input/{py-files,jars,files}`` and delivered to
``/opt/ml/processing/input/<same>``; ``configuration`` (EMR-style classifications) goes to
``/opt/ml/processing/input/conf/configuration.json``; ``spark_event_logs_s3_uri`` makes
``/opt/ml/processing/spark-events/`` a Continuous output. In modelyard's Spark image
``smspark-submit`` is :mod:`modelyard.container.spark_submit`: ``spark-submit`` in local
mode with one core per CPU of the instance type, or on a real cluster when
``spark_master`` (or the job's ``MODELYARD_SPARK_MASTER``) names its master URL.

The script reads and writes the store through the job's inputs and outputs (File mode
staging, uploads at the end or continuously): no s3a connector is needed, and the same
script runs on SageMaker unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from copy import copy
from typing import Any
from urllib.parse import urlparse

from modelyard.sdk.processing import ScriptProcessor, framework_image
from modelyard.sdk.processing_io import ProcessingInput, ProcessingOutput, _join, _upload
from modelyard.sdk.session import Session

SPARK_MASTER_ENV = "MODELYARD_SPARK_MASTER"
_CONFIGURATION_KEYS = ("Classification", "Properties", "Configurations")


class _SparkProcessorBase(ScriptProcessor):
    _default_command = "smspark-submit"
    _conf_container_base_path = "/opt/ml/processing/input/"
    _conf_container_input_name = "conf"
    _conf_file_name = "configuration.json"
    _spark_event_log_default_local_path = "/opt/ml/processing/spark-events/"
    _input_channel_names: dict[str, str] = {  # noqa: RUF012 - read only
        "py": "py-files",
        "jar": "jars",
        "file": "files",
    }

    def __init__(
        self,
        role: str | None = None,
        instance_type: str | None = None,
        instance_count: int | None = None,
        framework_version: str | None = None,
        py_version: str | None = None,
        container_version: str | None = None,
        image_uri: str | None = None,
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        configuration_location: str | None = None,
        dependency_location: str | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        network_config: Any = None,
        spark_master: str | None = None,
    ) -> None:
        session = sagemaker_session or Session()
        if image_uri is None:
            if framework_version is None:
                raise ValueError("framework_version or image_uri must be set")
            image_uri = framework_image(session, "spark", framework_version)
        env = dict(env or {})
        if spark_master:
            env[SPARK_MASTER_ENV] = spark_master
        self.configuration_location = configuration_location
        self.dependency_location = dependency_location
        self._spark_event_logs_s3_uri: str | None = None
        super().__init__(
            role=role,
            image_uri=image_uri,
            instance_count=instance_count,
            instance_type=instance_type,
            command=[self._default_command],
            volume_size_in_gb=volume_size_in_gb,
            volume_kms_key=volume_kms_key,
            output_kms_key=output_kms_key,
            max_runtime_in_seconds=max_runtime_in_seconds,
            base_job_name=base_job_name,
            sagemaker_session=session,
            env=env or None,
            tags=tags,
            network_config=network_config,
        )

    def _extend_processing_args(
        self,
        inputs: list[ProcessingInput] | None,
        outputs: list[ProcessingOutput] | None,
        **kwargs: Any,
    ) -> tuple[list[ProcessingInput] | None, list[ProcessingOutput] | None]:
        extended_outputs = copy(outputs or [])
        if kwargs.get("spark_event_logs_s3_uri"):
            uri = str(kwargs["spark_event_logs_s3_uri"])
            if urlparse(uri).scheme != "s3":
                raise ValueError(
                    f"Invalid s3 path: {uri}. Please enter something like "
                    "s3://bucket-name/folder-name"
                )
            self._spark_event_logs_s3_uri = uri
            assert self.command is not None
            self.command.extend(
                ["--local-spark-event-logs-dir", self._spark_event_log_default_local_path]
            )
            extended_outputs.append(
                ProcessingOutput(
                    source=self._spark_event_log_default_local_path,
                    destination=uri,
                    s3_upload_mode="Continuous",
                )
            )
        extended_inputs = copy(inputs or [])
        if kwargs.get("configuration"):
            configuration = kwargs["configuration"]
            _validate_configuration(configuration)
            extended_inputs.append(self._stage_configuration(configuration))
        return extended_inputs or None, extended_outputs or None

    def _stage_configuration(self, configuration: Any) -> ProcessingInput:
        prefix = (self.configuration_location or "").rstrip("/") or _join(
            self.sagemaker_session.default_bucket()
        )
        uri = (
            f"{prefix}/{self._current_job_name}/input/{self._conf_container_input_name}/"
            f"{self._conf_file_name}"
        )
        parsed = urlparse(uri)
        self.sagemaker_session.upload_string_as_file_body(
            json.dumps(configuration), parsed.netloc, parsed.path.lstrip("/")
        )
        return ProcessingInput(
            source=uri,
            destination=f"{self._conf_container_base_path}{self._conf_container_input_name}",
            input_name=self._conf_container_input_name,
        )

    def _stage_submit_deps(
        self, submit_deps: list[str], input_channel_name: str
    ) -> tuple[ProcessingInput | None, str]:
        if not submit_deps:
            raise ValueError(
                "submit_deps value may not be empty. Please specify a list of one or more S3 "
                "URIs, local file paths, and/or local directory paths"
            )
        s3_uris: list[str] = []
        channel: ProcessingInput | None = None
        with tempfile.TemporaryDirectory() as scratch:
            for dep_path in submit_deps:
                scheme = urlparse(dep_path).scheme
                if scheme in ("s3", "s3a"):
                    s3_uris.append(dep_path)
                elif not scheme or scheme == "file":
                    if os.path.isdir(dep_path):
                        name = os.path.basename(os.path.normpath(dep_path))
                        shutil.copytree(dep_path, os.path.join(scratch, name))
                    elif os.path.isfile(dep_path):
                        shutil.copy(dep_path, scratch)
                    else:
                        raise ValueError(
                            f"submit_deps path {dep_path} is not a valid local file or directory."
                        )
                else:
                    raise ValueError(
                        f"submit_deps path {dep_path} references unsupported filesystem scheme: "
                        f"{scheme}"
                    )
            if os.listdir(scratch):
                prefix = (self.dependency_location or "").rstrip("/") or _join(
                    self.sagemaker_session.default_bucket()
                )
                uri = f"{prefix}/{self._current_job_name}/input/{input_channel_name}"
                _upload(self.sagemaker_session, scratch, uri)
                channel = ProcessingInput(
                    source=uri,
                    destination=f"{self._conf_container_base_path}{input_channel_name}",
                    input_name=input_channel_name,
                )
        paths = s3_uris + ([str(channel.destination)] if channel else [])
        return channel, ",".join(paths)

    def _handle_script_dependencies(
        self, inputs: list[ProcessingInput], submit_files: list[str] | None, kind: str
    ) -> list[ProcessingInput]:
        if not submit_files:
            return inputs
        channel_name = self._input_channel_names[kind]
        channel, option = self._stage_submit_deps(submit_files, channel_name)
        if channel is not None:
            inputs.append(channel)
        if option:
            assert self.command is not None
            self.command.extend([f"--{channel_name}", option])
        return inputs


class PySparkProcessor(_SparkProcessorBase):
    """Runs a PySpark application (sagemaker's ``PySparkProcessor``); see the module doc.

    ``spark_master`` (modelyard's) is a Spark master URL (``spark://host:7077``) to run
    on a real cluster instead of local mode.
    """

    def run(  # type: ignore[override]
        self,
        submit_app: str,
        submit_py_files: list[str] | None = None,
        submit_jars: list[str] | None = None,
        submit_files: list[str] | None = None,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        arguments: list[str] | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
        configuration: list[dict[str, Any]] | dict[str, Any] | None = None,
        spark_event_logs_s3_uri: str | None = None,
        kms_key: str | None = None,
    ) -> None:
        """Run ``submit_app`` (a local ``.py`` file or an ``s3://`` URI) with Spark."""
        self._current_job_name = self._generate_current_job_name(job_name=job_name)
        if not submit_app:
            raise ValueError("submit_app is required")
        extended_inputs, extended_outputs = self._extend_processing_args(
            inputs,
            outputs,
            submit_py_files=submit_py_files,
            submit_jars=submit_jars,
            submit_files=submit_files,
            configuration=configuration,
            spark_event_logs_s3_uri=spark_event_logs_s3_uri,
        )
        super().run(
            code=submit_app,
            inputs=extended_inputs,
            outputs=extended_outputs,
            arguments=arguments,
            wait=wait,
            logs=logs,
            job_name=self._current_job_name,
            experiment_config=experiment_config,
            kms_key=kms_key,
        )

    def _extend_processing_args(
        self,
        inputs: list[ProcessingInput] | None,
        outputs: list[ProcessingOutput] | None,
        **kwargs: Any,
    ) -> tuple[list[ProcessingInput] | None, list[ProcessingOutput] | None]:
        extended = copy(inputs or [])
        self.command = [self._default_command]
        extended = self._handle_script_dependencies(extended, kwargs.get("submit_py_files"), "py")
        extended = self._handle_script_dependencies(extended, kwargs.get("submit_jars"), "jar")
        extended = self._handle_script_dependencies(extended, kwargs.get("submit_files"), "file")
        return super()._extend_processing_args(extended, outputs, **kwargs)


def _validate_configuration(configuration: Any) -> None:
    items = configuration if isinstance(configuration, list) else [configuration]
    for item in items:
        if not isinstance(item, dict) or not {"Classification", "Properties"} <= set(item):
            raise ValueError(
                "Missing one or more required keys in configuration dictionary "
                f"{item}: it needs Classification and Properties"
            )
        for key in item:
            if key not in _CONFIGURATION_KEYS:
                raise ValueError(f"Invalid key: {key}. Must be one of {list(_CONFIGURATION_KEYS)}")
