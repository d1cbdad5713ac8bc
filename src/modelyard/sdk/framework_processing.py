"""``FrameworkProcessor``: a source directory run in a framework's image (sagemaker's)."""

from __future__ import annotations

import pathlib
from copy import copy
from textwrap import dedent
from typing import Any, ClassVar
from urllib.parse import urlparse

from modelyard.sdk import sourcedir
from modelyard.sdk.processing import ScriptProcessor
from modelyard.sdk.processing_io import ProcessingInput, ProcessingOutput
from modelyard.sdk.session import Session


class FrameworkProcessor(ScriptProcessor):
    """Runs ``code`` from a ``source_dir`` in a framework's image (``FrameworkProcessor``).

    ``estimator_cls`` is a framework estimator of :mod:`modelyard.sdk.frameworks`
    (``SKLearn``, ``XGBoost``, ``PyTorch``); its image for ``framework_version`` is used
    unless ``image_uri`` names one. The code travels as ``sourcedir.tar.gz`` beside
    sagemaker's ``runproc.sh``, which unpacks it in ``/opt/ml/processing/input/code/``
    and runs ``command`` (default ``python``) on the script. A ``requirements.txt`` in
    the bundle cannot be installed: the image is read-only inside the job.
    """

    framework_entrypoint_command: ClassVar[list[str]] = ["/bin/bash"]

    def __init__(
        self,
        estimator_cls: type,
        framework_version: str,
        role: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        py_version: str = "py3",
        image_uri: str | None = None,
        command: list[str] | None = None,
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        code_location: str | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        network_config: Any = None,
    ) -> None:
        if not command:
            command = ["python"]
        self.estimator_cls = estimator_cls
        self.framework_version = framework_version
        self.py_version = py_version
        super().__init__(
            role=role,
            image_uri=image_uri,
            command=command,
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
        self._CODE_CONTAINER_INPUT_NAME = "entrypoint"
        self.code_location = code_location.rstrip("/") if code_location else None
        if image_uri is None or base_job_name is None:
            estimator = self._create_estimator()
            if image_uri is None:
                self.image_uri = estimator.training_image_uri()
            if base_job_name is None:
                self.base_job_name = estimator.base_job_name or getattr(
                    estimator_cls, "_framework_name", None
                )

    def _create_estimator(self) -> Any:
        return self.estimator_cls(
            entry_point="",
            framework_version=self.framework_version,
            py_version=self.py_version,
            image_uri=self.image_uri,
            role=self.role,
            instance_count=1,
            instance_type=self.instance_type,
            sagemaker_session=self.sagemaker_session,
        )

    def run(  # type: ignore[override]
        self,
        code: str,
        source_dir: str | None = None,
        dependencies: list[str] | None = None,
        git_config: dict[str, str] | None = None,
        inputs: list[ProcessingInput] | None = None,
        outputs: list[ProcessingOutput] | None = None,
        arguments: list[str] | None = None,
        wait: bool = True,
        logs: bool = True,
        job_name: str | None = None,
        experiment_config: dict[str, str] | None = None,
        kms_key: str | None = None,
        codeartifact_repo_arn: str | None = None,
    ) -> None:
        """Pack ``code`` + ``source_dir`` (+ ``dependencies``), upload them, run the script."""
        if git_config:
            raise ValueError("git_config is not supported: give a local source_dir")
        s3_runproc_sh, inputs, job_name = self._pack_and_upload_code(
            code, source_dir, dependencies, job_name, inputs
        )
        super().run(
            code=s3_runproc_sh,
            inputs=inputs,
            outputs=outputs,
            arguments=arguments,
            wait=wait,
            logs=logs,
            job_name=job_name,
            experiment_config=experiment_config,
            kms_key=kms_key,
        )

    def _pack_and_upload_code(
        self,
        code: str,
        source_dir: str | None,
        dependencies: list[str] | None,
        job_name: str | None,
        inputs: list[ProcessingInput] | None,
    ) -> tuple[str, list[ProcessingInput] | None, str | None]:
        if code.startswith("s3://"):
            return code, inputs, job_name
        if job_name is None:
            job_name = self._generate_current_job_name(job_name)
        location = self.code_location or f"s3://{self.sagemaker_session.default_bucket()}"
        uploaded = sourcedir.upload(
            self.sagemaker_session.client, location, job_name, code, source_dir, dependencies
        )
        inputs = self._patch_inputs_with_payload(inputs, uploaded.s3_prefix)
        runproc_uri = uploaded.s3_prefix.replace("sourcedir.tar.gz", "runproc.sh")
        parsed = urlparse(runproc_uri)
        script = self._generate_framework_script(uploaded.script_name)
        self.sagemaker_session.upload_string_as_file_body(
            script, parsed.netloc, parsed.path.lstrip("/")
        )
        return runproc_uri, inputs, job_name

    def _generate_framework_script(self, user_script: str) -> str:
        """sagemaker's ``runproc.sh``, word for word (no CodeArtifact here)."""
        codeartifact_login_command = "echo 'CodeArtifact repository not specified. Skipping login.'"
        return dedent(
            """\
            #!/bin/bash

            cd /opt/ml/processing/input/code/
            tar -xzf sourcedir.tar.gz

            # Exit on any error. SageMaker uses error code to mark failed job.
            set -e

            if [[ -f 'requirements.txt' ]]; then
                # Optionally log into CodeArtifact
                if ! hash aws 2>/dev/null; then
                    echo "AWS CLI is not installed. Skipping CodeArtifact login."
                else
                    {codeartifact_login_command}
                fi

                # Some py3 containers has typing, which may breaks pip install
                pip uninstall --yes typing

                python -m pip install -r requirements.txt
            fi

            {entry_point_command} {entry_point} "$@"
        """
        ).format(
            codeartifact_login_command=codeartifact_login_command,
            entry_point_command=" ".join(self.command or []),
            entry_point=user_script,
        )

    def _patch_inputs_with_payload(
        self, inputs: list[ProcessingInput] | None, s3_payload: str
    ) -> list[ProcessingInput]:
        patched = copy(inputs or [])
        patched.append(
            ProcessingInput(
                input_name="code", source=s3_payload, destination="/opt/ml/processing/input/code/"
            )
        )
        return patched

    def _set_entrypoint(self, command: list[str], user_script_name: str) -> None:
        location = str(
            pathlib.PurePosixPath(
                self._CODE_CONTAINER_BASE_PATH, self._CODE_CONTAINER_INPUT_NAME, user_script_name
            )
        )
        self.entrypoint = [*self.framework_entrypoint_command, location]
