"""The state machines: one per kind, consistent, and in SageMaker's vocabulary."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from botocore.loaders import Loader

from modelyard.catalog.states import (
    BOTOCORE_STATUS_SHAPES,
    STATE_MACHINES,
    TRAINING_SECONDARY_STATUSES,
    StateMachine,
    machine_for,
)
from modelyard.errors import IllegalTransitionError, ValidationError
from modelyard.ids import ResourceKind

MACHINES = sorted(STATE_MACHINES.values(), key=lambda machine: machine.kind.value)


@functools.cache
def sagemaker_shapes() -> dict[str, Any]:
    model: dict[str, Any] = Loader().load_service_model("sagemaker", "service-2")
    return model["shapes"]


def botocore_enum(shape: str) -> set[str]:
    return set(sagemaker_shapes()[shape]["enum"])


def test_every_kind_has_a_machine() -> None:
    assert set(STATE_MACHINES) == set(ResourceKind)
    for kind in ResourceKind:
        assert machine_for(kind).kind is kind


@pytest.mark.parametrize("machine", MACHINES, ids=lambda machine: machine.kind.value)
def test_machine_is_consistent(machine: StateMachine) -> None:
    assert machine.initial, "a kind needs a status to be created in"
    assert set(machine.initial) <= machine.statuses
    for targets in machine.transitions.values():
        assert targets <= machine.statuses, "a transition leads to an unknown status"
    assert machine.progressing <= machine.statuses - machine.terminal
    for status in machine.terminal:
        assert machine.allowed_from(status) == frozenset(), f"terminal {status} has an exit"


@pytest.mark.parametrize("machine", MACHINES, ids=lambda machine: machine.kind.value)
def test_every_status_is_reachable_from_an_initial_one(machine: StateMachine) -> None:
    seen = set(machine.initial)
    frontier = list(machine.initial)
    while frontier:
        for target in machine.allowed_from(frontier.pop()):
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == machine.statuses


@pytest.mark.parametrize(
    ("kind", "shape"), sorted(BOTOCORE_STATUS_SHAPES.items()), ids=lambda value: str(value)
)
def test_statuses_are_sagemakers(kind: ResourceKind, shape: str) -> None:
    assert machine_for(kind).statuses <= botocore_enum(shape)


def test_only_the_image_and_lifecycle_free_kinds_lack_a_botocore_enum() -> None:
    without = set(ResourceKind) - set(BOTOCORE_STATUS_SHAPES)
    assert without == {
        ResourceKind.IMAGE,
        ResourceKind.MODEL,
        ResourceKind.ENDPOINT_CONFIG,
        ResourceKind.DEVICE_FLEET,  # botocore's DescribeDeviceFleet has no status
        ResourceKind.ALARM,  # a CloudWatch alarm's StateValue is evaluated, not stored
    }
    assert machine_for(ResourceKind.MODEL).statuses == {"Created"}
    assert machine_for(ResourceKind.DEVICE_FLEET).statuses == {"Created"}
    assert machine_for(ResourceKind.ENDPOINT_CONFIG).statuses == {"Created"}


def test_training_secondary_statuses_are_sagemakers() -> None:
    assert botocore_enum("SecondaryStatus") == TRAINING_SECONDARY_STATUSES
    assert machine_for(ResourceKind.TRAINING_JOB).secondary_statuses == TRAINING_SECONDARY_STATUSES


def test_training_job_lifecycle() -> None:
    machine = machine_for(ResourceKind.TRAINING_JOB)
    assert machine.default_status == "InProgress"
    assert machine.terminal == {"Completed", "Failed", "Stopped"}
    assert machine.can_transition("InProgress", "InProgress")  # a new secondary status
    assert machine.can_transition("InProgress", "Stopping")
    assert machine.can_transition("Stopping", "Stopped")
    assert not machine.can_transition("InProgress", "Stopped")
    assert not machine.can_transition("Completed", "Completed")
    assert not machine.can_transition("Stopping", "Completed")  # a stop, once recorded, wins


def test_image_can_be_rebuilt() -> None:
    machine = machine_for(ResourceKind.IMAGE)
    assert machine.statuses == {"Building", "Ready", "Failed"}
    assert machine.can_transition("Ready", "Building")
    assert machine.can_transition("Failed", "Building")
    assert not machine.can_transition("Ready", "Failed")


def test_endpoint_lifecycle() -> None:
    machine = machine_for(ResourceKind.ENDPOINT)
    assert machine.default_status == "Creating"
    assert machine.can_transition("InService", "Updating")
    assert machine.can_transition("Updating", "RollingBack")
    assert machine.allowed_from("Failed") == {"Deleting"}
    assert machine.terminal == {"Deleting"}


def test_lifecycle_free_kinds_have_one_status() -> None:
    for kind, status in [
        (ResourceKind.MODEL, "Created"),
        (ResourceKind.ENDPOINT_CONFIG, "Created"),
        (ResourceKind.MODEL_PACKAGE_GROUP, "Completed"),
        (ResourceKind.PIPELINE, "Active"),
    ]:
        machine = machine_for(kind)
        assert machine.statuses == {status}
        assert machine.terminal == {status}


def test_illegal_transition_names_from_to_and_what_is_allowed() -> None:
    machine = machine_for(ResourceKind.TRAINING_JOB)
    with pytest.raises(IllegalTransitionError) as caught:
        machine.check_transition("job-1", "InProgress", "Stopped")
    message = str(caught.value)
    assert "from InProgress to Stopped" in message
    assert "Completed, Failed, InProgress, Stopping" in message
    assert caught.value.http_status == 409

    with pytest.raises(IllegalTransitionError, match="Completed is terminal"):
        machine.check_transition("job-1", "Completed", "InProgress")


def test_unknown_status_and_secondary_status_are_bad_requests() -> None:
    machine = machine_for(ResourceKind.TRAINING_JOB)
    with pytest.raises(ValidationError) as caught:
        machine.check_transition("job-1", "InProgress", "Running")
    assert caught.value.field == "Status"
    with pytest.raises(ValidationError) as caught:
        machine.check_secondary("Thinking")
    assert caught.value.field == "SecondaryStatus"
    with pytest.raises(ValidationError) as caught:
        machine.check_initial("Completed")
    assert caught.value.field == "Status"
    # Kinds without a secondary-status vocabulary take any.
    assert machine_for(ResourceKind.PROCESSING_JOB).check_secondary("Anything") == "Anything"
