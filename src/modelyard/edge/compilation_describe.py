"""DescribeCompilationJob and ListCompilationJobs shapes of compilation job records."""

from __future__ import annotations

import json
from typing import Any

from modelyard.catalog.base import ResourceRecord

START_KEY = "CompilationStartTime"
END_KEY = "CompilationEndTime"


def describe(record: ResourceRecord) -> dict[str, Any]:
    spec, state = record.spec, record.state
    output = spec["OutputConfig"]
    body: dict[str, Any] = {
        "CompilationJobName": record.name,
        "CompilationJobArn": record.arn,
        "CompilationJobStatus": record.status,
        "CompilationStartTime": state.get(START_KEY),
        "CompilationEndTime": state.get(END_KEY),
        "StoppingCondition": spec["StoppingCondition"],
        "CreationTime": record.created_at,
        "LastModifiedTime": record.updated_at,
        "FailureReason": record.failure_reason or None,
        "ModelArtifacts": state.get("ModelArtifacts") or {"S3ModelArtifacts": None},
        "ModelDigests": state.get("ModelDigests"),
        "RoleArn": spec.get("RoleArn"),
        "InputConfig": spec["InputConfig"],
        "OutputConfig": output,
        "CompilationReport": state.get("CompilationReport"),
    }
    report = state.get("CompilationReport") or {}
    if report.get("InputSignature"):
        shapes = {s["Name"]: s["Shape"] for s in report["InputSignature"]}
        body["DerivedInformation"] = {"DerivedDataInputConfig": json.dumps(shapes)}
    return body


def summary(record: ResourceRecord) -> dict[str, Any]:
    output = record.spec["OutputConfig"]
    platform = output.get("TargetPlatform") or {}
    return {
        "CompilationJobName": record.name,
        "CompilationJobArn": record.arn,
        "CreationTime": record.created_at,
        "CompilationStartTime": record.state.get(START_KEY),
        "CompilationEndTime": record.state.get(END_KEY),
        "CompilationTargetDevice": output.get("TargetDevice"),
        "CompilationTargetPlatformOs": platform.get("Os"),
        "CompilationTargetPlatformArch": platform.get("Arch"),
        "LastModifiedTime": record.updated_at,
        "CompilationJobStatus": record.status,
    }
