"""DescribeEndpoint and EndpointSummary shapes, from the record and what runs.

Each variant's summary has SageMaker's fields: ``DeployedImages``, ``CurrentWeight`` /
``DesiredWeight``, ``CurrentInstanceCount`` (replicas in service) /
``DesiredInstanceCount`` and, while it is not settled, ``VariantStatus``
(``Creating``, ``Updating``, ``Deleting``) with a message; a variant whose model failed
to load says so in its ``VariantStatus`` message. ``PendingDeploymentSummary`` shows an
update in progress: the new fleet's variants with the traffic they take now
(``CurrentWeight``) and their status (``Creating`` while it starts, ``ActivatingTraffic``
while traffic shifts, ``Baking`` after). ``LastDeploymentConfig`` is the last
DeploymentConfig given; ``DeploymentHistory`` (modelyard's) lists the endpoint's past
deployments, each with its outcome (``Succeeded``, ``RolledBack``, ``Failed``) and reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modelyard.catalog.base import ResourceRecord
from modelyard.hosting.deployment import Phase, Rollout
from modelyard.hosting.deployments import Deployment, EndpointState
from modelyard.hosting.endpoint_configs import shadow_variants_of, variants_of
from modelyard.hosting.models import containers_of


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _images(deployment: Deployment, variant: dict[str, Any]) -> list[dict[str, Any]]:
    model = deployment.models.get(variant["ModelName"], {})
    resolved = deployment.launches or {}
    launch = resolved.get(variant["VariantName"])
    images = []
    for index, container in enumerate(containers_of(model.get("Spec") or {})):
        entry: dict[str, Any] = {"SpecifiedImage": container.get("Image")}
        if launch is not None:
            # an inference pipeline's containers each have their own image
            root = launch.containers[index].image_root if launch.containers else launch.image_root
            entry["ResolvedImage"] = f"{container.get('Image')}@{root.name}"
            entry["ResolutionTime"] = _time(deployment.start_time)
        images.append(entry)
    return images


def variant_summary(
    deployment: Deployment,
    variant: dict[str, Any],
    status: str | None,
    current_weight: float | None = None,
    detail: str = "",
) -> dict[str, Any]:
    name = variant["VariantName"]
    replica_set = deployment.sets.get(name)
    running = replica_set.running_count if replica_set is not None else 0
    if current_weight is None:
        current_weight = deployment.weights.get(name, 1.0) if status is None else 0.0
    summary: dict[str, Any] = {
        "VariantName": name,
        "DeployedImages": _images(deployment, variant),
        "CurrentWeight": current_weight,
        "DesiredWeight": deployment.weights.get(name, 1.0),
        "CurrentInstanceCount": running,
        "DesiredInstanceCount": deployment.desired.get(name, 0),
    }
    statuses: list[dict[str, Any]] = []
    if status is not None:
        statuses.append(
            {
                "Status": status,
                "StatusMessage": f"{running} of {deployment.desired.get(name, 0)} replicas in "
                f"service{detail}",
                "StartTime": _time(deployment.start_time),
            }
        )
    elif replica_set is not None and running < deployment.desired.get(name, 0):
        statuses.append(
            {
                "Status": "Updating",
                "StatusMessage": f"replacing replicas: {running} of "
                f"{deployment.desired.get(name, 0)} in service"
                + (f" ({replica_set.last_failure})" if replica_set.last_failure else ""),
            }
        )
    model_error = replica_set.model_error if replica_set is not None else None
    if model_error:
        statuses.append(
            {
                "Status": "Creating" if status == "Creating" else "Updating",
                "StatusMessage": f"the model failed to load; every invocation answers 424 "
                f"ModelError: {model_error}"[:1024],
            }
        )
    if statuses:
        summary["VariantStatus"] = statuses
    return summary


def _capture_summary(config: dict[str, Any]) -> dict[str, Any] | None:
    capture = config.get("DataCaptureConfig")
    if not capture:
        return None
    enabled = bool(capture.get("EnableCapture", True))
    return {
        "EnableCapture": enabled,
        "CaptureStatus": "Started" if enabled else "Stopped",
        "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
        "DestinationS3Uri": capture["DestinationS3Uri"],
    }


def describe(record: ResourceRecord, runtime: EndpointState | None) -> dict[str, Any]:
    """DescribeEndpoint's response."""
    status = record.status
    body: dict[str, Any] = {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
    }
    active = runtime.active if runtime is not None else None
    pending = runtime.pending if runtime is not None else None
    if active is None and record.state.get("Active"):
        active = Deployment.from_state(record.state["Active"])
    shown = active or pending
    if shown is None and record.state.get("Pending"):
        shown = Deployment.from_state(record.state["Pending"])
    if shown is not None:
        variant_status = (
            "Creating" if status == "Creating" else ("Deleting" if status == "Deleting" else None)
        )
        weights = _current_weights(runtime, shown)
        body["EndpointConfigName"] = shown.config_name
        body["ProductionVariants"] = [
            variant_summary(shown, v, variant_status, weights.get(v["VariantName"]))
            for v in variants_of(shown.config)
        ]
        shadows = shadow_variants_of(shown.config)
        if shadows:
            body["ShadowProductionVariants"] = [
                variant_summary(shown, v, variant_status) for v in shadows
            ]
        capture = _capture_summary(shown.config)
        if capture is not None:
            body["DataCaptureConfig"] = capture
    body["EndpointStatus"] = status
    if record.failure_reason:
        body["FailureReason"] = record.failure_reason
    body["CreationTime"] = record.created_at
    body["LastModifiedTime"] = record.updated_at
    if pending is not None and active is not None:
        weights = _current_weights(runtime, pending)
        rollout = runtime.rollout if runtime is not None else None
        pending_status = _PENDING_STATUS[rollout.phase] if rollout is not None else "Creating"
        detail = _rollout_detail(rollout) if rollout is not None else ""
        body["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending.config_name,
            "ProductionVariants": [
                variant_summary(
                    pending, v, pending_status, weights.get(v["VariantName"], 0.0), detail
                )
                for v in variants_of(pending.config)
            ],
            "StartTime": _time(pending.start_time),
        }
    if record.state.get("LastDeploymentConfig"):
        body["LastDeploymentConfig"] = record.state["LastDeploymentConfig"]
    if record.state.get("DeploymentHistory"):
        body["DeploymentHistory"] = [
            {**entry, "StartTime": _time(entry["StartTime"]), "EndTime": _time(entry["EndTime"])}
            for entry in record.state["DeploymentHistory"]
        ]
    return body


_PENDING_STATUS = {
    Phase.LAUNCHING: "Creating",
    Phase.SHIFTING: "ActivatingTraffic",
    Phase.BAKING: "Baking",
}


def _rollout_detail(rollout: Rollout) -> str:
    """Where a blue/green update stands, for its variants' status messages."""
    policy = rollout.policy
    if rollout.phase is Phase.SHIFTING:
        return (
            f"; {rollout.new_share:.0%} of the traffic ({policy.routing} step {rollout.step + 1} "
            f"of {len(rollout.shares)}), the next in {policy.wait_s:g} s from "
            f"{_wall_time(rollout.step_at)}"
        )
    if rollout.phase is Phase.BAKING:
        return (
            f"; all the traffic, baking {policy.termination_wait_s:g} s from "
            f"{_wall_time(rollout.step_at)} while the old fleet is kept warm"
        )
    return ""


def _wall_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


def _current_weights(runtime: EndpointState | None, deployment: Deployment) -> dict[str, float]:
    """The weights the router applies now to ``deployment``'s variants, during an update.

    Outside an update this is empty: each variant's weight is its own.
    """
    if runtime is None or runtime.rollout is None or runtime.published is None:
        return {}
    keys = runtime.fleet(deployment)
    routed = {v.metrics_name: v.weight for v in runtime.published.variants}
    return {name: routed.get(key, 0.0) for name, key in keys.items()}


def summary(record: ResourceRecord) -> dict[str, Any]:
    """One ``EndpointSummary`` of ListEndpoints."""
    return {
        "EndpointName": record.name,
        "EndpointArn": record.arn,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.updated_at,
        "EndpointStatus": record.status,
    }


def replica_rows(state: EndpointState) -> list[dict[str, Any]]:
    """Every replica of the endpoint: id, variant, config, phase, port, pid (for operators)."""
    found: list[dict[str, Any]] = []
    for replica_id, (deployment_id, variant) in state.owners.items():
        deployment = state.deployment(deployment_id)
        replica_set = deployment.sets.get(variant) if deployment else None
        replica = replica_set.replicas.get(replica_id) if replica_set else None
        process = state.processes.get(replica_id)
        found.append(
            {
                "ReplicaId": replica_id,
                "VariantName": variant,
                "EndpointConfigName": deployment.config_name if deployment else None,
                "Status": replica.phase.value if replica else "Stopped",
                "ModelError": replica.model_error if replica else None,
                "Port": process.target.port if process else None,
                "Pid": process.pid() if process else None,
                "HandleId": process.handle_id if process else None,
                "LaunchedAt": state.launched_at.get(replica_id),
            }
        )
    return found
