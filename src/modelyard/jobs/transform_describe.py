"""DescribeTransformJob and TransformJobSummary shapes, from a catalog record.

The batch parameters a describe shows are those the job used: the request's, or what
the model's container proposed (``/execution-parameters``) once it ran. modelyard adds
``TransformProgress`` (objects, records and input bytes done, out of the totals),
which SageMaker's describe does not have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelyard.catalog.base import ResourceRecord
from modelyard.jobs.job import ACTIVE_STATUSES, END_KEY, START_KEY
from modelyard.jobs.transform_progress import PROGRESS_KEY

PARAMETERS_KEY = "Parameters"

#: Request fields a describe repeats as they were given.
_ECHOED = (
    "ModelName",
    "MaxConcurrentTransforms",
    "ModelClientConfig",
    "MaxPayloadInMB",
    "BatchStrategy",
    "Environment",
    "TransformInput",
    "TransformOutput",
    "TransformResources",
    "DataProcessing",
    "ExperimentConfig",
)


def _time(state: dict[str, Any], key: str) -> datetime | None:
    value = state.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def describe(record: ResourceRecord) -> dict[str, Any]:
    spec, state = record.spec, record.state
    ended = record.status not in ACTIVE_STATUSES
    body: dict[str, Any] = {
        "TransformJobName": record.name,
        "TransformJobArn": record.arn,
        "TransformJobStatus": record.status,
    }
    if record.failure_reason:
        body["FailureReason"] = record.failure_reason
    for key in _ECHOED:
        if spec.get(key) is not None:
            body[key] = spec[key]
    body |= state.get(PARAMETERS_KEY) or {}
    body |= {
        "CreationTime": record.created_at,
        "TransformStartTime": _time(state, START_KEY),
        "TransformEndTime": _time(state, END_KEY) if ended else None,
        "LastModifiedTime": record.updated_at,
        "TransformProgress": state.get(PROGRESS_KEY),
    }
    return {key: value for key, value in body.items() if value is not None}


def summary(record: ResourceRecord) -> dict[str, Any]:
    """One ``TransformJobSummary`` of ListTransformJobs."""
    body: dict[str, Any] = {
        "TransformJobName": record.name,
        "TransformJobArn": record.arn,
        "CreationTime": record.created_at,
        "TransformEndTime": _time(record.state, END_KEY)
        if record.status not in ACTIVE_STATUSES
        else None,
        "LastModifiedTime": record.updated_at,
        "TransformJobStatus": record.status,
        "FailureReason": record.failure_reason or None,
    }
    return {key: value for key, value in body.items() if value is not None}
