"""Device fleets and devices: registration, heartbeats, captures and deployments.

Shapes are SageMaker Edge Manager's (botocore): CreateDeviceFleet, RegisterDevices,
DescribeDeviceFleet, DescribeDevice (``LatestHeartbeat``, ``Models``,
``AgentVersion``), ListDevices; a device's status is its deployment's
(``DeviceDeploymentStatus``). Ours on top:

* a **deployment** per fleet: the approved package the fleet's agents pull
  (``PUT /edge/fleets/{fleet}/deployment`` with an ``EdgePackagingJobName`` or a
  ``PackageUri``): ``PackageUri``, ``ModelName``, ``ModelVersion``, ``PackageSha256``;
* a **heartbeat** registers an unknown device in the fleet it names and records
  its models, metrics, capture counts and any failed update; the device's status
  follows (READYTODEPLOY: no deployment; DEPLOYED: it serves the deployed version;
  FAILED: it refused that version; INPROGRESS: not there yet);
* **captures** uploaded by agents go to ``<fleet's S3OutputLocation>/captures/<device>/``
  (default ``s3://<default bucket>/edge-captures/<fleet>/``) as JSON Lines objects.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import io
import json
import tarfile
import uuid
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.edge.package import MANIFEST
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind, utcnow, validate_name
from modelyard.store.base import Store
from modelyard.store.uri import join, parse_s3_uri

FLEET = ResourceKind.DEVICE_FLEET
DEVICE = ResourceKind.DEVICE
MAX_CAPTURE_RECORDS = 10_000


class FleetController:
    def __init__(self, catalog: Catalog, store: Store, settings: Settings) -> None:
        self.catalog = catalog
        self.store = store
        self.settings = settings

    # -- fleets --------------------------------------------------------------

    def create_fleet(self, body: object) -> ResourceRecord:
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object")
        name = validate_name(body.get("DeviceFleetName"), FLEET, field="DeviceFleetName")
        output = body.get("OutputConfig") or {}
        if output.get("S3OutputLocation"):
            parse_s3_uri(output["S3OutputLocation"], field="OutputConfig.S3OutputLocation")
        spec = {
            k: body[k]
            for k in (
                "DeviceFleetName",
                "RoleArn",
                "Description",
                "OutputConfig",
                "Tags",
                "EnableIotRoleAlias",
            )
            if k in body
        }
        try:
            return self.catalog.create(FLEET, name, spec=spec, state={"Deployment": None})
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"device fleet {name!r} already exists", field="DeviceFleetName"
            ) from exc

    def fleet(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(FLEET, name)
        except NotFoundError as exc:
            raise NotFoundError(
                f"device fleet {name!r} does not exist", field="DeviceFleetName"
            ) from exc

    def describe_fleet(self, name: str) -> dict[str, Any]:
        record = self.fleet(name)
        devices = self._devices(name)
        return {
            "DeviceFleetName": record.name,
            "DeviceFleetArn": record.arn,
            "OutputConfig": record.spec.get("OutputConfig") or {},
            "Description": record.spec.get("Description"),
            "CreationTime": record.created_at,
            "LastModifiedTime": record.updated_at,
            "RoleArn": record.spec.get("RoleArn"),
            "Deployment": record.state.get("Deployment"),
            "DeviceCount": len(devices),
            "DeviceStatusCounts": _counts(d.status for d in devices),
        }

    def list_fleets(self) -> dict[str, Any]:
        return {
            "DeviceFleetSummaries": [
                {
                    "DeviceFleetArn": r.arn,
                    "DeviceFleetName": r.name,
                    "CreationTime": r.created_at,
                    "LastModifiedTime": r.updated_at,
                    "DeployedModelVersion": (r.state.get("Deployment") or {}).get("ModelVersion"),
                }
                for r in self._all(FLEET)
            ]
        }

    def delete_fleet(self, name: str) -> None:
        self.fleet(name)
        if self._devices(name):
            raise ConflictError(f"device fleet {name!r} still has devices: deregister them first")
        self.catalog.delete(FLEET, name)

    # -- deployments ---------------------------------------------------------

    def deploy(self, fleet: str, body: dict[str, Any]) -> dict[str, Any]:
        """Approve a package for ``fleet``: its agents switch to it at their next sync."""
        self.fleet(fleet)
        job_name = body.get("EdgePackagingJobName")
        if job_name:
            try:
                job = self.catalog.get(ResourceKind.EDGE_PACKAGING_JOB, str(job_name))
            except NotFoundError as exc:
                raise ValidationError(
                    f"edge packaging job {job_name!r} does not exist", field="EdgePackagingJobName"
                ) from exc
            if job.status != "COMPLETED":
                raise ValidationError(
                    f"edge packaging job {job_name!r} is {job.status}", field="EdgePackagingJobName"
                )
            uri = str(job.state["ModelArtifact"])
        elif body.get("PackageUri"):
            uri = str(body["PackageUri"])
        else:
            raise ValidationError("give EdgePackagingJobName or PackageUri", field="PackageUri")
        parsed = parse_s3_uri(uri, field="PackageUri")
        try:
            data = self.store.get_object(parsed.bucket, parsed.key)
        except NotFoundError as exc:
            raise ValidationError(f"no package at {uri}", field="PackageUri") from exc
        manifest = _manifest_of(data, uri)
        deployment = {
            "PackageUri": uri,
            "ModelName": manifest.get("Name"),
            "ModelVersion": manifest.get("Version"),
            "PackageSha256": hashlib.sha256(data).hexdigest(),
            "PackageSizeBytes": len(data),
            "EdgePackagingJobName": job_name,
            "DeployedAt": utcnow().isoformat(),
        }
        record = self.fleet(fleet)
        history = [*(record.state.get("DeploymentHistory") or []), deployment][-20:]
        self.catalog.update(
            FLEET, fleet, state_updates={"Deployment": deployment, "DeploymentHistory": history}
        )
        for device in self._devices(fleet):
            self._set_status(device, self._status(device.state, deployment))
        return deployment

    def deployment(self, fleet: str) -> dict[str, Any]:
        found: dict[str, Any] = self.fleet(fleet).state.get("Deployment") or {}
        return found

    # -- devices -------------------------------------------------------------

    def register(self, fleet: str, devices: builtins.list[dict[str, Any]]) -> None:
        """RegisterDevices."""
        self.fleet(fleet)
        for entry in devices:
            name = validate_name(entry.get("DeviceName"), DEVICE, field="Devices.DeviceName")
            spec = {
                "DeviceName": name,
                "DeviceFleetName": fleet,
                "Description": entry.get("Description"),
            }
            try:
                self.catalog.create(
                    DEVICE, name, spec=spec, state={"RegistrationTime": utcnow().isoformat()}
                )
            except AlreadyExistsError as exc:
                raise AlreadyExistsError(
                    f"device {name!r} is already registered", field="DeviceName"
                ) from exc

    def device(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(DEVICE, name)
        except NotFoundError as exc:
            raise NotFoundError(f"device {name!r} is not registered", field="DeviceName") from exc

    def describe_device(self, name: str) -> dict[str, Any]:
        return _device_shape(self.device(name), full=True)

    def list_devices(self, fleet: str | None = None) -> dict[str, Any]:
        records = self._devices(fleet) if fleet else self._all(DEVICE)
        return {"DeviceSummaries": [_device_shape(r, full=False) for r in records]}

    def deregister(self, name: str) -> None:
        self.device(name)
        self.catalog.delete(DEVICE, name)

    def heartbeat(self, name: str, report: dict[str, Any]) -> dict[str, Any]:
        """Record a device's heartbeat (registering it in its fleet the first time)."""
        try:
            record = self.catalog.get(DEVICE, name)
        except NotFoundError:
            fleet = report.get("DeviceFleetName")
            if not fleet:
                raise NotFoundError(
                    f"device {name!r} is not registered and its heartbeat names no fleet",
                    field="DeviceName",
                ) from None
            with contextlib.suppress(AlreadyExistsError):
                self.register(str(fleet), [{"DeviceName": name}])
            record = self.catalog.get(DEVICE, name)
        now = utcnow().isoformat()
        models = [
            {
                "ModelName": m.get("ModelName"),
                "ModelVersion": m.get("ModelVersion"),
                "LatestSampleTime": now,
            }
            for m in report.get("Models") or []
            if isinstance(m, dict)
        ]
        state = {
            "LatestHeartbeat": now,
            "Models": models,
            "AgentVersion": report.get("AgentVersion"),
            "Metrics": report.get("Metrics") or {},
            "CapturesPending": report.get("CapturesPending"),
            "CapturesDropped": report.get("CapturesDropped"),
            "FailedUpdate": report.get("FailedUpdate"),
        }
        record = self.catalog.update(DEVICE, name, state_updates=state)
        deployment = self.deployment(record.spec["DeviceFleetName"])
        record = self._set_status(record, self._status(record.state, deployment or None))
        return {
            "DeviceName": name,
            "DeviceDeploymentStatus": record.status,
            "Deployment": deployment or None,
        }

    def captures(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Store a batch of captured records as one JSON Lines object."""
        record = self.device(name)
        records = body.get("Records")
        if not isinstance(records, list) or len(records) > MAX_CAPTURE_RECORDS:
            raise ValidationError(
                f"Records must be a list of at most {MAX_CAPTURE_RECORDS}", field="Records"
            )
        fleet = self.fleet(record.spec["DeviceFleetName"])
        base = (fleet.spec.get("OutputConfig") or {}).get("S3OutputLocation")
        if base:
            prefix = join(base, "captures", name)
        else:
            bucket = self.settings.default_bucket
            self.store.create_bucket(bucket, exist_ok=True)
            prefix = f"s3://{bucket}/edge-captures/{fleet.name}/{name}"
        uri = join(prefix, f"{utcnow().strftime('%Y/%m/%d/%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl")
        data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
        parsed = parse_s3_uri(uri)
        self.store.put_object(parsed.bucket, parsed.key, data)
        captures = sum(1 for r in records if isinstance(r, dict) and r.get("Type") == "capture")
        count = int(record.state.get("CaptureCount") or 0) + captures
        self.catalog.update(
            DEVICE,
            name,
            state_updates={
                "CaptureCount": count,
                "CapturesDropped": body.get("DroppedRecords", record.state.get("CapturesDropped")),
                "LatestCaptureUri": uri,
            },
        )
        return {"CaptureUri": uri, "Records": len(records), "CaptureCount": count}

    # -- helpers -------------------------------------------------------------

    @staticmethod
    def _status(state: dict[str, Any], deployment: dict[str, Any] | None) -> str:
        if not deployment:
            return "READYTODEPLOY"
        version = deployment.get("ModelVersion")
        served = {m.get("ModelVersion") for m in state.get("Models") or []}
        if version in served:
            return "DEPLOYED"
        failed = state.get("FailedUpdate") or {}
        if failed.get("ModelVersion") == version:
            return "FAILED"
        return "INPROGRESS"

    def _set_status(self, record: ResourceRecord, status: str) -> ResourceRecord:
        if record.status == status:
            return record
        with contextlib.suppress(IllegalTransitionError):
            return self.catalog.transition(DEVICE, record.name, status)
        return record

    def _all(self, kind: ResourceKind) -> builtins.list[ResourceRecord]:
        found: builtins.list[ResourceRecord] = []
        token = None
        while True:
            page = self.catalog.list(kind, sort_by="Name", sort_order="Ascending", next_token=token)
            found.extend(page.records)
            token = page.next_token
            if not token:
                return found

    def _devices(self, fleet: str | None) -> builtins.list[ResourceRecord]:
        return [r for r in self._all(DEVICE) if r.spec.get("DeviceFleetName") == fleet]


def _manifest_of(data: bytes, uri: str) -> dict[str, Any]:
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.load(member)
    except (tarfile.TarError, KeyError, ValueError, OSError) as exc:
        raise ValidationError(f"{uri} is not an edge package ({exc})", field="PackageUri") from exc
    return manifest


def _counts(statuses: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def _device_shape(record: ResourceRecord, *, full: bool) -> dict[str, Any]:
    state = record.state
    shape: dict[str, Any] = {
        "DeviceName": record.name,
        "DeviceArn": record.arn,
        "Description": record.spec.get("Description"),
        "DeviceFleetName": record.spec["DeviceFleetName"],
        "RegistrationTime": state.get("RegistrationTime") or record.created_at,
        "LatestHeartbeat": state.get("LatestHeartbeat"),
        "Models": state.get("Models") or [],
        "AgentVersion": state.get("AgentVersion"),
        "DeviceDeploymentStatus": record.status,
        "CaptureCount": int(state.get("CaptureCount") or 0),
    }
    if full:
        shape.update(
            {
                "Metrics": state.get("Metrics") or {},
                "CapturesPending": state.get("CapturesPending"),
                "CapturesDropped": state.get("CapturesDropped"),
                "FailedUpdate": state.get("FailedUpdate"),
                "LatestCaptureUri": state.get("LatestCaptureUri"),
            }
        )
    return shape
