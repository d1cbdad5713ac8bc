"""``/edge/fleets`` and ``/edge/devices``: Edge Manager's fleets and devices, and the agents' sync.

Agents call ``POST /edge/devices/{name}/heartbeat``, ``POST /edge/devices/{name}/captures``
and ``GET /edge/fleets/{fleet}/deployment``, then download the package through the
objects API. Rules live in :class:`modelyard.edge.fleets.FleetController`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query

from modelyard.api.deps import ServicesDep

router = APIRouter()


@router.post("/edge/fleets", status_code=201)
def create_device_fleet(services: ServicesDep, body: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """CreateDeviceFleet."""
    record = services.edge.fleets.create_fleet(body)
    return {"DeviceFleetArn": record.arn}


@router.get("/edge/fleets")
def list_device_fleets(services: ServicesDep) -> dict[str, Any]:
    """ListDeviceFleets (with each fleet's deployed model version)."""
    return services.edge.fleets.list_fleets()


@router.get("/edge/fleets/{fleet}")
def describe_device_fleet(fleet: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeDeviceFleet, with the deployment and device counts by status."""
    return services.edge.fleets.describe_fleet(fleet)


@router.delete("/edge/fleets/{fleet}", status_code=204)
def delete_device_fleet(fleet: str, services: ServicesDep) -> None:
    services.edge.fleets.delete_fleet(fleet)


@router.post("/edge/fleets/{fleet}/devices")
def register_devices(
    fleet: str, services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """RegisterDevices: ``{"Devices": [{"DeviceName", "Description"}]}``."""
    services.edge.fleets.register(fleet, list(body.get("Devices") or []))
    return {}


@router.put("/edge/fleets/{fleet}/deployment")
def deploy_to_fleet(
    fleet: str, services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Approve a package (``EdgePackagingJobName`` or ``PackageUri``) for the fleet."""
    return services.edge.fleets.deploy(fleet, body)


@router.get("/edge/fleets/{fleet}/deployment")
def fleet_deployment(fleet: str, services: ServicesDep) -> dict[str, Any]:
    """The fleet's approved package (``{}`` when none)."""
    return services.edge.fleets.deployment(fleet)


@router.get("/edge/devices")
def list_devices(
    services: ServicesDep, fleet: str | None = Query(None, alias="DeviceFleetName")
) -> dict[str, Any]:
    """ListDevices (of one fleet with ``DeviceFleetName``)."""
    return services.edge.fleets.list_devices(fleet)


@router.get("/edge/devices/{name}")
def describe_device(name: str, services: ServicesDep) -> dict[str, Any]:
    """DescribeDevice, with metrics, capture counts and any failed update."""
    return services.edge.fleets.describe_device(name)


@router.delete("/edge/devices/{name}", status_code=204)
def deregister_device(name: str, services: ServicesDep) -> None:
    services.edge.fleets.deregister(name)


@router.post("/edge/devices/{name}/heartbeat")
def device_heartbeat(
    name: str, services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """An agent's heartbeat (registers the device in its fleet the first time)."""
    return services.edge.fleets.heartbeat(name, body)


@router.post("/edge/devices/{name}/captures")
def device_captures(
    name: str, services: ServicesDep, body: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """A batch of captured records from an agent (stored as one JSON Lines object)."""
    return services.edge.fleets.captures(name, body)
