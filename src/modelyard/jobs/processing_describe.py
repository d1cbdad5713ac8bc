"""DescribeProcessingJob and ProcessingJobSummary shapes, from a catalog record.

Secrets never leave: a ``RedshiftDatasetDefinition.ClusterId`` given as a SQLAlchemy URL
is shown with its password masked (:func:`public_spec`), here and in the
``processingjobconfig.json`` the container reads.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from modelyard.catalog.base import ResourceRecord
from modelyard.data.datasets import REDSHIFT
from modelyard.data.datasets.warehouse import mask
from modelyard.jobs.job import ACTIVE_STATUSES, END_KEY, START_KEY

EXIT_MESSAGE_KEY = "ExitMessage"

#: Request fields a describe repeats as they were given (with the defaults filled in).
_ECHOED = (
    "ProcessingInputs",
    "ProcessingOutputConfig",
    "ProcessingResources",
    "StoppingCondition",
    "AppSpecification",
    "Environment",
    "NetworkConfig",
    "RoleArn",
    "ExperimentConfig",
)


def public_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with every secret masked (database URLs' passwords)."""
    shown = copy.deepcopy(spec)
    for item in shown.get("ProcessingInputs") or []:
        definition = (item.get("DatasetDefinition") or {}).get(REDSHIFT)
        if definition and isinstance(definition.get("ClusterId"), str):
            definition["ClusterId"] = mask(definition["ClusterId"])
    return shown


def _time(state: dict[str, Any], key: str) -> datetime | None:
    value = state.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def describe(record: ResourceRecord) -> dict[str, Any]:
    spec, state = public_spec(record.spec), record.state
    ended = record.status not in ACTIVE_STATUSES
    body: dict[str, Any] = {
        "ProcessingJobName": record.name,
        "ProcessingJobArn": record.arn,
        "ProcessingJobStatus": record.status,
    }
    for key in _ECHOED:
        if spec.get(key) is not None:
            body[key] = spec[key]
    if state.get(EXIT_MESSAGE_KEY):
        body["ExitMessage"] = state[EXIT_MESSAGE_KEY]
    if record.failure_reason:
        body["FailureReason"] = record.failure_reason
    body |= {
        "ProcessingStartTime": _time(state, START_KEY),
        "ProcessingEndTime": _time(state, END_KEY) if ended else None,
        "LastModifiedTime": record.updated_at,
        "CreationTime": record.created_at,
    }
    return {key: value for key, value in body.items() if value is not None}


def summary(record: ResourceRecord) -> dict[str, Any]:
    """One ``ProcessingJobSummary`` of ListProcessingJobs."""
    body: dict[str, Any] = {
        "ProcessingJobName": record.name,
        "ProcessingJobArn": record.arn,
        "CreationTime": record.created_at,
        "ProcessingEndTime": _time(record.state, END_KEY)
        if record.status not in ACTIVE_STATUSES
        else None,
        "LastModifiedTime": record.updated_at,
        "ProcessingJobStatus": record.status,
        "FailureReason": record.failure_reason or None,
        "ExitMessage": record.state.get(EXIT_MESSAGE_KEY),
    }
    return {key: value for key, value in body.items() if value is not None}
