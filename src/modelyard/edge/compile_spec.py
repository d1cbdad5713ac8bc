"""CreateCompilationJob requests: SageMaker's shape, validated, with our CompilerOptions.

Accepted (botocore's SageMaker model): ``CompilationJobName``, ``RoleArn``,
``InputConfig {S3Uri, DataInputConfig, Framework, FrameworkVersion}``,
``OutputConfig {S3OutputLocation, TargetDevice | TargetPlatform {Os, Arch,
Accelerator}, CompilerOptions}``, ``StoppingCondition {MaxRuntimeInSeconds}``,
``Tags``, ``VpcConfig``, ``ModelPackageVersionArn`` (the last two are ignored).

``OutputConfig.CompilerOptions`` (a JSON text, as SageMaker takes it, or an object)
carries ours: ``{"Quantization": "none" | "int8-dynamic" | "int8-static", "Sample":
"s3://.../sample.npy", "Tolerance": {"AbsoluteTolerance", "RelativeTolerance",
"MinLabelAgreement"}, "Target": "onnx-cpu-arm64"}``.
"""

from __future__ import annotations

import json
from typing import Any

from modelyard.edge.adapters import FRAMEWORK_NAMES
from modelyard.edge.optimize import QUANTIZATION_MODES
from modelyard.edge.signature import SignatureError, parse_data_input_config
from modelyard.edge.targets import (
    DEFAULT_TARGET,
    Target,
    UnknownTargetError,
    get_target,
    target_for_platform,
)
from modelyard.errors import ValidationError
from modelyard.ids import ResourceKind, validate_name
from modelyard.store.uri import parse_s3_uri

DEFAULT_MAX_RUNTIME_S = 900
_KNOWN = {
    "CompilationJobName",
    "RoleArn",
    "ModelPackageVersionArn",
    "InputConfig",
    "OutputConfig",
    "VpcConfig",
    "StoppingCondition",
    "Tags",
}
_OPTION_KEYS = {
    "quantization": "Quantization",
    "sample": "Sample",
    "tolerance": "Tolerance",
    "target": "Target",
}


def validate_compilation_request(body: object) -> dict[str, Any]:
    """The request, checked and normalised (CompilerOptions parsed); 400 on any problem."""
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r}; CreateCompilationJob takes {', '.join(sorted(_KNOWN))}",
            field=unknown[0],
        )
    spec = dict(body)
    validate_name(
        spec.get("CompilationJobName"), ResourceKind.COMPILATION_JOB, field="CompilationJobName"
    )
    input_config = _object(spec, "InputConfig")
    parse_s3_uri(_required(input_config, "S3Uri", "InputConfig"), field="InputConfig.S3Uri")
    framework = str(_required(input_config, "Framework", "InputConfig")).upper()
    if framework not in FRAMEWORK_NAMES:
        names = ", ".join(sorted(set(FRAMEWORK_NAMES) - {"SCIKIT-LEARN", "TORCH"}))
        raise ValidationError(
            f"InputConfig.Framework={framework!r} cannot be compiled here: use one of {names}",
            field="InputConfig.Framework",
        )
    input_config["Framework"] = framework
    try:
        parse_data_input_config(input_config.get("DataInputConfig"))
    except SignatureError as exc:
        raise ValidationError(str(exc), field="InputConfig.DataInputConfig") from exc
    output_config = _object(spec, "OutputConfig")
    parse_s3_uri(
        _required(output_config, "S3OutputLocation", "OutputConfig"),
        field="OutputConfig.S3OutputLocation",
    )
    options = compiler_options(output_config.get("CompilerOptions"))
    target = resolve_target(output_config, options)
    quantization = options.get("Quantization", "none")
    if quantization not in QUANTIZATION_MODES:
        raise ValidationError(
            f"CompilerOptions.Quantization={quantization!r}: use one of "
            f"{', '.join(QUANTIZATION_MODES)}",
            field="OutputConfig.CompilerOptions",
        )
    if quantization != "none" and quantization not in target.quantization:
        raise ValidationError(
            f"target {target.name} does not run {quantization} models "
            f"(it runs {', '.join(target.quantization)})",
            field="OutputConfig.CompilerOptions",
        )
    if "Sample" in options:
        parse_s3_uri(str(options["Sample"]), field="OutputConfig.CompilerOptions.Sample")
    if not isinstance(options.get("Tolerance", {}), dict):
        raise ValidationError(
            "CompilerOptions.Tolerance must be an object", field="OutputConfig.CompilerOptions"
        )
    stopping = spec.get("StoppingCondition") or {}
    if not isinstance(stopping, dict):
        raise ValidationError("StoppingCondition must be an object", field="StoppingCondition")
    max_runtime = stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_S)
    if not isinstance(max_runtime, int) or not 1 <= max_runtime <= 86400:
        raise ValidationError(
            "StoppingCondition.MaxRuntimeInSeconds must be 1-86400",
            field="StoppingCondition.MaxRuntimeInSeconds",
        )
    spec["StoppingCondition"] = {**stopping, "MaxRuntimeInSeconds": max_runtime}
    spec["InputConfig"] = input_config
    spec["OutputConfig"] = output_config
    return spec


def compiler_options(raw: object) -> dict[str, Any]:
    """``CompilerOptions`` (JSON text or object) with our keys in PascalCase."""
    if raw is None or raw == "":
        return {}
    data = raw
    if isinstance(raw, str):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"OutputConfig.CompilerOptions is not JSON: {exc}",
                field="OutputConfig.CompilerOptions",
            ) from exc
    if not isinstance(data, dict):
        raise ValidationError(
            "OutputConfig.CompilerOptions must be a JSON object",
            field="OutputConfig.CompilerOptions",
        )
    return {_OPTION_KEYS.get(str(k).lower(), str(k)): v for k, v in data.items()}


def resolve_target(output_config: dict[str, Any], options: dict[str, Any]) -> Target:
    """The target: CompilerOptions.Target, else TargetDevice, else TargetPlatform, else default."""
    try:
        if options.get("Target"):
            return get_target(str(options["Target"]))
        if output_config.get("TargetDevice"):
            return get_target(str(output_config["TargetDevice"]))
        if output_config.get("TargetPlatform"):
            platform = output_config["TargetPlatform"]
            if not isinstance(platform, dict):
                raise UnknownTargetError("TargetPlatform must be an object {Os, Arch}")
            return target_for_platform(platform)
    except UnknownTargetError as exc:
        raise ValidationError(str(exc), field="OutputConfig.TargetDevice") from exc
    return get_target(DEFAULT_TARGET)


def _object(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key)
    if not isinstance(value, dict):
        raise ValidationError(f"{key} is required and must be an object", field=key)
    return dict(value)


def _required(container: dict[str, Any], key: str, parent: str) -> Any:
    value = container.get(key)
    if value in (None, ""):
        raise ValidationError(f"{parent}.{key} is required", field=f"{parent}.{key}")
    return value
