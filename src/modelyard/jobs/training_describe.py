"""DescribeTrainingJob and TrainingJobSummary shapes, from a catalog record.

Times are timezone-aware UTC datetimes (the API encodes them as ISO 8601).
``SecondaryStatusTransitions`` comes from the record's status events: one entry per
change of secondary status, ``EndTime`` being the start of the next one (the last
entry of an ended job ends when it starts, as SageMaker shows it).
``FinalMetricDataList`` holds each metric's last value.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from modelyard.catalog.base import MetricPoint, ResourceRecord, StatusEvent
from modelyard.jobs.job import ACTIVE_STATUSES, END_KEY, START_KEY

#: SageMaker's StatusMessage for each secondary status (used when nothing more precise is known).
STATUS_MESSAGES: dict[str, str] = {
    "Starting": "Starting the training job",
    "Downloading": "Downloading input data",
    "DownloadingTrainingImage": "Downloading the training image",
    "Training": "Training image download completed. Training in progress.",
    "Uploading": "Uploading generated training model",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Job stopped because max run time has been exceeded",
}

#: Request fields a describe repeats as they were given (with the defaults filled in).
_ECHOED = (
    "AlgorithmSpecification",
    "HyperParameters",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "Environment",
    "CheckpointConfig",
    "RoleArn",
    "VpcConfig",
    "TensorBoardOutputConfig",
    "ExperimentConfig",
    "RetryStrategy",
)


def _time(state: dict[str, Any], key: str) -> datetime | None:
    value = state.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def transitions(events: list[StatusEvent], ended: bool) -> list[dict[str, Any]]:
    """``SecondaryStatusTransitions`` from the status events, oldest first."""
    steps: list[dict[str, Any]] = []
    for event in events:
        if event.secondary_status is None:
            continue
        if steps and steps[-1]["Status"] == event.secondary_status:
            continue
        if steps:
            steps[-1]["EndTime"] = event.at
        steps.append(
            {
                "Status": event.secondary_status,
                "StartTime": event.at,
                "StatusMessage": event.message or STATUS_MESSAGES.get(event.secondary_status, ""),
            }
        )
    if steps and ended:
        steps[-1]["EndTime"] = steps[-1]["StartTime"]
    return steps


def final_metrics(points: list[MetricPoint]) -> list[dict[str, Any]]:
    """The last value of each metric (points come sorted by name, then time)."""
    last: dict[str, MetricPoint] = {}
    for point in points:
        last[point.name] = point
    return [
        {"MetricName": p.name, "Value": p.value, "Timestamp": p.timestamp} for p in last.values()
    ]


def describe(
    record: ResourceRecord, events: list[StatusEvent], points: list[MetricPoint]
) -> dict[str, Any]:
    spec, state = record.spec, record.state
    ended = record.status not in ACTIVE_STATUSES
    start, end = _time(state, START_KEY), _time(state, END_KEY)
    body: dict[str, Any] = {
        "TrainingJobName": record.name,
        "TrainingJobArn": record.arn,
        "TrainingJobStatus": record.status,
        "SecondaryStatus": record.secondary_status,
    }
    if record.failure_reason:
        body["FailureReason"] = record.failure_reason
    if state.get("ModelArtifacts"):
        body["ModelArtifacts"] = {"S3ModelArtifacts": state["ModelArtifacts"]}
    for key in _ECHOED:
        if spec.get(key) is not None:
            body[key] = spec[key]
    body |= {
        "CreationTime": record.created_at,
        "TrainingStartTime": start,
        "TrainingEndTime": end if ended else None,
        "LastModifiedTime": record.updated_at,
        "SecondaryStatusTransitions": transitions(events, ended),
        "FinalMetricDataList": final_metrics(points),
        "EnableNetworkIsolation": bool(spec.get("EnableNetworkIsolation", False)),
        "EnableInterContainerTrafficEncryption": bool(
            spec.get("EnableInterContainerTrafficEncryption", False)
        ),
        "EnableManagedSpotTraining": bool(spec.get("EnableManagedSpotTraining", False)),
    }
    if ended and start is not None and end is not None:
        seconds = max(0, math.ceil((end - start).total_seconds()))
        body["TrainingTimeInSeconds"] = seconds
        body["BillableTimeInSeconds"] = seconds
    return {key: value for key, value in body.items() if value is not None}


def summary(record: ResourceRecord) -> dict[str, Any]:
    """One ``TrainingJobSummary`` of ListTrainingJobs."""
    body: dict[str, Any] = {
        "TrainingJobName": record.name,
        "TrainingJobArn": record.arn,
        "CreationTime": record.created_at,
        "TrainingEndTime": _time(record.state, END_KEY)
        if record.status not in ACTIVE_STATUSES
        else None,
        "LastModifiedTime": record.updated_at,
        "TrainingJobStatus": record.status,
        "SecondaryStatus": record.secondary_status,
    }
    return {key: value for key, value in body.items() if value is not None}
