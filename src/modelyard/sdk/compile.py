"""Compilation with sagemaker SDK v2's names: ``Estimator.compile_model`` / ``compile``.

``CompileMixin`` gives an estimator sagemaker's ``compile_model(target_instance_family,
input_shape, output_path, framework, framework_version, ...)``: a compilation job of
the estimator's latest model artifact. ``modelyard.model.Model`` (with hosting) will
expose ``Model.compile(...)`` through :func:`compile_model_data`, which takes the
model artifact URI directly. ``target_instance_family`` is a SageMaker
``TargetDevice`` (``rasp4b``, ``ml_c5``) or one of our targets (``onnx-cpu-arm64``);
``compiler_options`` carries ours (``{"Quantization": "int8-static", "Sample":
"s3://...", "Tolerance": {...}}``). Only HTTP to the control plane, like the rest of
the SDK.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from typing import Any

from modelyard.errors import ModelyardError
from modelyard.ids import unique_name_from_base
from modelyard.sdk.client import ApiClient
from modelyard.sdk.session import Session

ENDED = ("COMPLETED", "FAILED", "STOPPED")
_FRAMEWORKS = {
    "sklearn": "SKLEARN",
    "scikit-learn": "SKLEARN",
    "xgboost": "XGBOOST",
    "pytorch": "PYTORCH",
    "torch": "PYTORCH",
    "onnx": "ONNX",
}


class CompilationFailedError(ModelyardError):
    """A compilation job ended FAILED or STOPPED (its reason in the message)."""

    code = "CompilationFailed"
    http_status = 400


def compilation_request(
    job_name: str,
    model_data: str,
    *,
    target_instance_family: str | None,
    input_shape: dict[str, Any] | str | None,
    output_path: str,
    framework: str,
    framework_version: str | None = None,
    compile_max_run: int = 15 * 60,
    role: str | None = None,
    tags: list[dict[str, str]] | None = None,
    target_platform_os: str | None = None,
    target_platform_arch: str | None = None,
    target_platform_accelerator: str | None = None,
    compiler_options: dict[str, Any] | str | None = None,
) -> dict[str, Any]:
    """The CreateCompilationJob request sagemaker's ``Model.compile`` builds."""
    input_config: dict[str, Any] = {
        "S3Uri": model_data,
        "Framework": _FRAMEWORKS.get(framework.lower(), framework.upper()),
    }
    if input_shape is not None:
        input_config["DataInputConfig"] = (
            input_shape if isinstance(input_shape, str) else json.dumps(input_shape)
        )
    if framework_version:
        input_config["FrameworkVersion"] = framework_version
    output_config: dict[str, Any] = {"S3OutputLocation": output_path}
    if target_instance_family:
        output_config["TargetDevice"] = target_instance_family
    elif target_platform_os or target_platform_arch:
        platform = {"Os": target_platform_os, "Arch": target_platform_arch}
        if target_platform_accelerator:
            platform["Accelerator"] = target_platform_accelerator
        output_config["TargetPlatform"] = platform
    if compiler_options:
        output_config["CompilerOptions"] = (
            compiler_options if isinstance(compiler_options, str) else json.dumps(compiler_options)
        )
    request: dict[str, Any] = {
        "CompilationJobName": job_name,
        "InputConfig": input_config,
        "OutputConfig": output_config,
        "StoppingCondition": {"MaxRuntimeInSeconds": int(compile_max_run)},
    }
    if role:
        request["RoleArn"] = role
    if tags:
        request["Tags"] = tags
    return request


def create(client: ApiClient, request: dict[str, Any]) -> str:
    created: dict[str, Any] = client.post_json("/compilation-jobs", request)
    return str(created["CompilationJobArn"])


def describe(client: ApiClient, name: str) -> dict[str, Any]:
    found: dict[str, Any] = client.get_json(f"/compilation-jobs/{name}")
    return found


def wait(
    client: ApiClient, name: str, *, poll_s: float = 0.5, timeout_s: float = 3600
) -> dict[str, Any]:
    """Wait for the job to end; :class:`CompilationFailedError` unless COMPLETED."""
    deadline = time.monotonic() + timeout_s
    while True:
        described = describe(client, name)
        status = described["CompilationJobStatus"]
        if status in ENDED:
            if status != "COMPLETED":
                raise CompilationFailedError(
                    f"compilation job {name} ended {status}: {described.get('FailureReason')}"
                )
            return described
        if time.monotonic() > deadline:
            raise CompilationFailedError(
                f"compilation job {name} still {status} after {timeout_s} s"
            )
        time.sleep(poll_s)


class CompiledModel:
    """The result of a compilation: its job, compiled artifact and verification report."""

    def __init__(self, session: Session, job_name: str, description: dict[str, Any]) -> None:
        self.sagemaker_session = session
        self.job_name = job_name
        self.description = description

    @property
    def model_data(self) -> str | None:
        artifacts = self.description.get("ModelArtifacts") or {}
        found = artifacts.get("S3ModelArtifacts")
        return str(found) if found else None

    @property
    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = self.description.get("CompilationReport") or {}
        return report

    def refresh(self) -> dict[str, Any]:
        self.description = describe(self.sagemaker_session.client, self.job_name)
        return self.description

    def __repr__(self) -> str:
        return f"CompiledModel({self.job_name!r}, {self.model_data!r})"


def compile_model_data(
    session: Session,
    model_data: str,
    *,
    framework: str,
    output_path: str,
    target_instance_family: str | None = None,
    input_shape: dict[str, Any] | str | None = None,
    job_name: str | None = None,
    wait_for_completion: bool = True,
    **kwargs: Any,
) -> CompiledModel:
    """Compile the artifact at ``model_data`` (what ``Model.compile`` does)."""
    name = job_name or unique_name_from_base(f"compilation-{framework.lower()}")
    request = compilation_request(
        name,
        model_data,
        target_instance_family=target_instance_family,
        input_shape=input_shape,
        output_path=output_path,
        framework=framework,
        **kwargs,
    )
    create(session.client, request)
    described = (
        wait(session.client, name) if wait_for_completion else describe(session.client, name)
    )
    return CompiledModel(session, name, described)


class CompileMixin(ABC):
    """``compile_model`` for estimators (sagemaker v2's ``EstimatorBase.compile_model``)."""

    sagemaker_session: Session

    @property
    @abstractmethod
    def model_data(self) -> str: ...

    def compile_model(
        self,
        target_instance_family: str | None,
        input_shape: dict[str, Any] | str | None,
        output_path: str,
        framework: str | None = None,
        framework_version: str | None = None,
        compile_max_run: int = 15 * 60,
        tags: list[dict[str, str]] | None = None,
        target_platform_os: str | None = None,
        target_platform_arch: str | None = None,
        target_platform_accelerator: str | None = None,
        compiler_options: dict[str, Any] | str | None = None,
        job_name: str | None = None,
        wait: bool = True,
        **kwargs: Any,
    ) -> CompiledModel:
        """Compile the latest trained model for an edge target (returns when it ended)."""
        chosen = framework or getattr(self, "_framework_name", "") or ""
        if not chosen:
            raise ModelyardError("compile_model needs framework= for this estimator")
        version = framework_version or getattr(self, "framework_version", None)
        return compile_model_data(
            self.sagemaker_session,
            self.model_data,
            framework=chosen,
            output_path=output_path,
            target_instance_family=target_instance_family,
            input_shape=input_shape,
            job_name=job_name,
            wait_for_completion=wait,
            framework_version=version,
            compile_max_run=compile_max_run,
            tags=tags,
            target_platform_os=target_platform_os,
            target_platform_arch=target_platform_arch,
            target_platform_accelerator=target_platform_accelerator,
            compiler_options=compiler_options,
        )
