"""The lifecycle of every resource kind, as data.

A :class:`StateMachine` names the statuses a kind may be created in, the
transitions the catalog accepts, and the terminal statuses (no exit at all).
Statuses are SageMaker's enum values (botocore's SageMaker API model is the
reference), so a Describe* response can show them unchanged; the image is our
container registry's own resource (Building, Ready, Failed).

Kinds without a lifecycle (model, endpoint config, model package group,
pipeline) have one status they are created in and never leave. A model
package's approval (``ModelApprovalStatus``) is not a status here: it lives in
the record's ``state`` and changes independently of ``ModelPackageStatus``.

A self-transition (same status, new secondary status or new state) is allowed
only in the ``progressing`` statuses: a training job moves through its
secondary statuses Starting -> Downloading -> Training -> Uploading while it
stays InProgress.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelyard.errors import IllegalTransitionError, ValidationError
from modelyard.ids import ResourceKind


@dataclass(frozen=True)
class StateMachine:
    """Allowed statuses and moves of one resource kind.

    ``initial[0]`` is the status a resource gets when created without one.
    ``secondary_statuses`` is empty when any secondary status is accepted.
    """

    kind: ResourceKind
    initial: tuple[str, ...]
    transitions: Mapping[str, frozenset[str]]
    progressing: frozenset[str] = frozenset()
    secondary_statuses: frozenset[str] = frozenset()

    @property
    def default_status(self) -> str:
        return self.initial[0]

    @property
    def statuses(self) -> frozenset[str]:
        return frozenset(self.transitions)

    @property
    def terminal(self) -> frozenset[str]:
        """Statuses with no exit: once there, a resource only gets deleted."""
        return frozenset(s for s, targets in self.transitions.items() if not targets)

    def allowed_from(self, status: str) -> frozenset[str]:
        """Every status reachable from ``status`` in one step, itself included if allowed."""
        targets = self.transitions.get(status, frozenset())
        return targets | {status} if status in self.progressing else targets

    def can_transition(self, current: str, target: str) -> bool:
        return target in self.allowed_from(current)

    def check_initial(self, status: str) -> str:
        """Return ``status`` if a resource may be created in it, else raise (400)."""
        if status not in self.initial:
            raise ValidationError(
                f"a {self.kind.value} cannot be created with status {status!r}; "
                f"use one of {_listed(self.initial)}",
                field="Status",
            )
        return status

    def check_status(self, status: str, *, field: str = "Status") -> str:
        """Return ``status`` if it is a status of this kind at all, else raise (400)."""
        if status not in self.transitions:
            raise ValidationError(
                f"{status!r} is not a {self.kind.value} status; "
                f"use one of {_listed(sorted(self.transitions))}",
                field=field,
            )
        return status

    def check_secondary(self, secondary_status: str | None) -> str | None:
        if (
            secondary_status is not None
            and self.secondary_statuses
            and secondary_status not in self.secondary_statuses
        ):
            raise ValidationError(
                f"{secondary_status!r} is not a {self.kind.value} secondary status; "
                f"use one of {_listed(sorted(self.secondary_statuses))}",
                field="SecondaryStatus",
            )
        return secondary_status

    def check_transition(self, name: str, current: str, target: str) -> None:
        """Raise :class:`IllegalTransitionError` (409) unless ``current -> target`` is allowed."""
        self.check_status(target)
        if self.can_transition(current, target):
            return
        allowed = sorted(self.allowed_from(current))
        hint = (
            f"allowed from {current}: {_listed(allowed)}"
            if allowed
            else f"{current} is terminal: nothing is allowed from it"
        )
        raise IllegalTransitionError(
            f"{self.kind.value} {name!r} cannot go from {current} to {target}; {hint}",
            field="Status",
        )


def _listed(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def _machine(
    kind: ResourceKind,
    initial: tuple[str, ...],
    transitions: dict[str, set[str]],
    *,
    progressing: set[str] | None = None,
    secondary_statuses: frozenset[str] | None = None,
) -> StateMachine:
    return StateMachine(
        kind=kind,
        initial=initial,
        transitions={status: frozenset(targets) for status, targets in transitions.items()},
        progressing=frozenset(progressing or ()),
        secondary_statuses=frozenset(secondary_statuses or ()),
    )


def _job(kind: ResourceKind, *, secondary_statuses: frozenset[str] | None = None) -> StateMachine:
    """Processing, training, tuning and transform jobs: SageMaker's job lifecycle.

    A stop is final once recorded: a job that finishes while Stopping ends
    Stopped (its artifacts are kept, as SageMaker keeps them), so a race of
    "completed" against "stop" has exactly one winner.
    """
    return _machine(
        kind,
        ("InProgress",),
        {
            "InProgress": {"Completed", "Failed", "Stopping"},
            "Stopping": {"Stopped", "Failed"},
            "Completed": set(),
            "Failed": set(),
            "Stopped": set(),
        },
        progressing={"InProgress", "Stopping"},
        secondary_statuses=secondary_statuses,
    )


def _packaging_job(kind: ResourceKind) -> StateMachine:
    """Compilation and edge packaging jobs (upper-case statuses, as SageMaker has them)."""
    return _machine(
        kind,
        ("STARTING", "INPROGRESS"),
        {
            "STARTING": {"INPROGRESS", "COMPLETED", "FAILED", "STOPPING"},
            "INPROGRESS": {"COMPLETED", "FAILED", "STOPPING"},
            "STOPPING": {"STOPPED", "FAILED"},
            "COMPLETED": set(),
            "FAILED": set(),
            "STOPPED": set(),
        },
        progressing={"STARTING", "INPROGRESS", "STOPPING"},
    )


def _static(kind: ResourceKind, status: str) -> StateMachine:
    """A kind without a lifecycle: created in ``status`` and never leaving it."""
    return _machine(kind, (status,), {status: set()})


#: SageMaker's ``SecondaryStatus`` enum: what a training job reports while InProgress.
TRAINING_SECONDARY_STATUSES = frozenset(
    {
        "Starting",
        "LaunchingMLInstances",
        "PreparingTrainingStack",
        "Downloading",
        "DownloadingTrainingImage",
        "Training",
        "Uploading",
        "Stopping",
        "Stopped",
        "MaxRuntimeExceeded",
        "Completed",
        "Failed",
        "Interrupted",
        "MaxWaitTimeExceeded",
        "Updating",
        "Restarting",
        "Pending",
    }
)

_MACHINES: dict[ResourceKind, StateMachine] = {
    machine.kind: machine
    for machine in (
        _machine(
            ResourceKind.IMAGE,
            ("Building",),
            {
                "Building": {"Ready", "Failed"},
                "Ready": {"Building"},
                "Failed": {"Building"},
            },
            progressing={"Building"},
        ),
        _job(ResourceKind.PROCESSING_JOB),
        _job(ResourceKind.TRAINING_JOB, secondary_statuses=TRAINING_SECONDARY_STATUSES),
        _job(ResourceKind.TUNING_JOB),
        _job(ResourceKind.TRANSFORM_JOB),
        _packaging_job(ResourceKind.COMPILATION_JOB),
        _packaging_job(ResourceKind.EDGE_PACKAGING_JOB),
        _static(ResourceKind.MODEL, "Created"),
        _static(ResourceKind.ENDPOINT_CONFIG, "Created"),
        _static(ResourceKind.MODEL_PACKAGE_GROUP, "Completed"),
        _static(ResourceKind.PIPELINE, "Active"),
        # A CloudWatch alarm's StateValue is evaluated when read, never stored.
        _static(ResourceKind.ALARM, "Created"),
        # botocore's DescribeDeviceFleet has no status: a fleet just exists.
        _static(ResourceKind.DEVICE_FLEET, "Created"),
        # A device's status is its deployment's (botocore's DeviceDeploymentStatus), set from
        # its heartbeats: no deployment yet, updating, serving the fleet's package, failed.
        _machine(
            ResourceKind.DEVICE,
            ("READYTODEPLOY",),
            {
                "READYTODEPLOY": {"INPROGRESS", "DEPLOYED", "FAILED"},
                "INPROGRESS": {"READYTODEPLOY", "DEPLOYED", "FAILED"},
                "DEPLOYED": {"READYTODEPLOY", "INPROGRESS", "FAILED"},
                "FAILED": {"READYTODEPLOY", "INPROGRESS", "DEPLOYED"},
            },
            progressing={"READYTODEPLOY", "INPROGRESS", "DEPLOYED", "FAILED"},
        ),
        _machine(
            ResourceKind.ENDPOINT,
            ("Creating",),
            {
                "Creating": {"InService", "Failed", "Deleting"},
                "InService": {"Updating", "SystemUpdating", "OutOfService", "Failed", "Deleting"},
                "Updating": {"InService", "RollingBack", "Failed", "Deleting"},
                "SystemUpdating": {"InService", "Failed"},
                "RollingBack": {"InService", "UpdateRollbackFailed", "Failed"},
                # Serving a mix of old and new configs: UpdateEndpoint repairs it.
                "UpdateRollbackFailed": {"Updating", "InService", "Deleting"},
                "OutOfService": {"InService", "Updating", "Failed", "Deleting"},
                # DeleteEndpoint is the only operation a failed endpoint accepts.
                "Failed": {"Deleting"},
                "Deleting": set(),
            },
            progressing={"Creating", "Updating", "SystemUpdating", "RollingBack"},
        ),
        _machine(
            ResourceKind.MODEL_PACKAGE,
            ("Pending", "InProgress", "Completed"),
            {
                "Pending": {"InProgress", "Completed", "Failed"},
                "InProgress": {"Completed", "Failed"},
                "Completed": set(),
                "Failed": set(),
            },
            progressing={"Pending", "InProgress"},
        ),
        _machine(
            ResourceKind.MONITORING_SCHEDULE,
            ("Pending", "Scheduled"),
            {
                "Pending": {"Scheduled", "Failed"},
                "Scheduled": {"Stopped", "Failed"},
                "Stopped": {"Scheduled"},
                "Failed": set(),
            },
        ),
        _machine(
            ResourceKind.PIPELINE_EXECUTION,
            ("Executing",),
            {
                # RetryPipelineExecution resumes a Failed execution.
                "Executing": {"Succeeded", "Failed", "CompletedWithFailures", "Stopping"},
                "Stopping": {"Stopped", "Failed"},
                "Failed": {"Executing"},
                "Succeeded": set(),
                "Stopped": set(),
                "CompletedWithFailures": set(),
            },
            progressing={"Executing", "Stopping"},
        ),
    )
}

#: botocore's SageMaker enum shape that holds each kind's statuses; the image has none.
BOTOCORE_STATUS_SHAPES: dict[ResourceKind, str] = {
    ResourceKind.PROCESSING_JOB: "ProcessingJobStatus",
    ResourceKind.TRAINING_JOB: "TrainingJobStatus",
    ResourceKind.TUNING_JOB: "HyperParameterTuningJobStatus",
    ResourceKind.TRANSFORM_JOB: "TransformJobStatus",
    ResourceKind.COMPILATION_JOB: "CompilationJobStatus",
    ResourceKind.EDGE_PACKAGING_JOB: "EdgePackagingJobStatus",
    ResourceKind.ENDPOINT: "EndpointStatus",
    ResourceKind.MODEL_PACKAGE_GROUP: "ModelPackageGroupStatus",
    ResourceKind.MODEL_PACKAGE: "ModelPackageStatus",
    ResourceKind.MONITORING_SCHEDULE: "ScheduleStatus",
    ResourceKind.PIPELINE: "PipelineStatus",
    ResourceKind.PIPELINE_EXECUTION: "PipelineExecutionStatus",
    ResourceKind.DEVICE: "DeviceDeploymentStatus",
}

STATE_MACHINES: Mapping[ResourceKind, StateMachine] = _MACHINES


def machine_for(kind: ResourceKind) -> StateMachine:
    """The state machine of ``kind`` (every :class:`ResourceKind` has one)."""
    return _MACHINES[kind]


__all__ = [
    "BOTOCORE_STATUS_SHAPES",
    "STATE_MACHINES",
    "TRAINING_SECONDARY_STATUSES",
    "StateMachine",
    "machine_for",
]
