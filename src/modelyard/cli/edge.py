"""``modelyard edge``: fleets, devices, deployments, packaging and signing keys.

    modelyard edge fleets create kiosks [--output s3://bucket/edge]
    modelyard edge fleets list
    modelyard edge devices list [--fleet kiosks]
    modelyard edge package --name iris-2 --compilation-job rf-arm --model iris --version 2 \\
        --output s3://bucket/packages --key fleet-key --wait
    modelyard edge deploy --fleet kiosks --package s3://bucket/packages/iris-2.tar.gz
    modelyard edge keys create fleet-key
"""

from __future__ import annotations

import time
from typing import Any

import typer

from modelyard.cli import common
from modelyard.cli.common import JSON_OPTION, console, handled, print_json, print_listing
from modelyard.errors import ModelyardError, ValidationError

app = typer.Typer(no_args_is_help=True)
fleets = typer.Typer(no_args_is_help=True, help="Device fleets.")
devices = typer.Typer(no_args_is_help=True, help="Devices and their heartbeats.")
keys = typer.Typer(no_args_is_help=True, help="Ed25519 signing keys for packages.")
app.add_typer(fleets, name="fleets")
app.add_typer(devices, name="devices")
app.add_typer(keys, name="keys")


@fleets.command("create")
@handled
def create_fleet(
    name: str = typer.Argument(..., help="DeviceFleetName."),
    output: str | None = typer.Option(None, "--output", help="S3OutputLocation for captures."),
    description: str | None = typer.Option(None, "--description"),
) -> None:
    """Create a device fleet."""
    body: dict[str, Any] = {"DeviceFleetName": name}
    if output:
        body["OutputConfig"] = {"S3OutputLocation": output}
    if description:
        body["Description"] = description
    console.print(
        common.client().post_json("/edge/fleets", body)["DeviceFleetArn"], highlight=False
    )


@fleets.command("list")
@handled
def list_fleets(as_json: bool = JSON_OPTION) -> None:
    """List device fleets and what each has deployed."""
    rows = common.client().get_json("/edge/fleets")["DeviceFleetSummaries"]
    print_listing(
        rows,
        ("DeviceFleetName", "DeployedModelVersion", "CreationTime"),
        as_json=as_json,
        title="Device fleets",
    )


@fleets.command("describe")
@handled
def describe_fleet(name: str = typer.Argument(...)) -> None:
    """Print a fleet: its deployment and device counts by status."""
    print_json(common.client().get_json(f"/edge/fleets/{name}"))


@devices.command("list")
@handled
def list_devices(
    fleet: str | None = typer.Option(None, "--fleet", help="Only this fleet's devices."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List devices: last heartbeat, model versions, capture counts."""
    rows = common.client().get_json("/edge/devices", DeviceFleetName=fleet)["DeviceSummaries"]
    for row in rows:
        row["ModelVersions"] = ",".join(str(m.get("ModelVersion")) for m in row.get("Models") or [])
    print_listing(
        rows,
        (
            "DeviceName",
            "DeviceFleetName",
            "DeviceDeploymentStatus",
            "ModelVersions",
            "LatestHeartbeat",
            "CaptureCount",
        ),
        as_json=as_json,
        title="Devices",
    )


@devices.command("describe")
@handled
def describe_device(name: str = typer.Argument(...)) -> None:
    """Print a device (DescribeDevice, with metrics and any failed update)."""
    print_json(common.client().get_json(f"/edge/devices/{name}"))


@devices.command("register")
@handled
def register_devices(
    names: list[str] = typer.Argument(..., help="Device names."),
    fleet: str = typer.Option(..., "--fleet"),
) -> None:
    """Register devices in a fleet (agents also register themselves on first heartbeat)."""
    body = {"Devices": [{"DeviceName": name} for name in names]}
    common.client().post_json(f"/edge/fleets/{fleet}/devices", body)
    console.print(f"registered {len(names)} device(s) in {fleet}", highlight=False)


@devices.command("deregister")
@handled
def deregister_device(name: str = typer.Argument(...)) -> None:
    common.client().delete(f"/edge/devices/{name}")
    console.print(f"deregistered {name}", highlight=False)


@app.command()
@handled
def deploy(
    fleet: str = typer.Option(..., "--fleet", help="The device fleet."),
    package: str | None = typer.Option(None, "--package", help="S3 URI of an edge package."),
    packaging_job: str | None = typer.Option(None, "--packaging-job", help="Or its packaging job."),
) -> None:
    """Approve a package for a fleet: its agents switch to it at their next sync."""
    if not (package or packaging_job):
        raise ValidationError("give --package or --packaging-job")
    body = {"PackageUri": package} if package else {"EdgePackagingJobName": packaging_job}
    deployment = (
        common.client().request("PUT", f"/edge/fleets/{fleet}/deployment", json=body).json()
    )
    console.print(
        f"{fleet}: {deployment['ModelName']} {deployment['ModelVersion']} "
        f"({deployment['PackageUri']}, sha256 {deployment['PackageSha256'][:16]}...)",
        highlight=False,
    )


@app.command()
@handled
def package(
    name: str = typer.Option(..., "--name", help="EdgePackagingJobName."),
    compilation_job: str = typer.Option(..., "--compilation-job"),
    model: str = typer.Option(..., "--model", help="ModelName."),
    version: str = typer.Option(..., "--version", help="ModelVersion."),
    output: str = typer.Option(..., "--output", help="S3OutputLocation."),
    key: str | None = typer.Option(None, "--key", help="Signing key (ResourceKey)."),
    wait: bool = typer.Option(False, "--wait"),
) -> None:
    """Package a compiled model (CreateEdgePackagingJob)."""
    body: dict[str, Any] = {
        "EdgePackagingJobName": name,
        "CompilationJobName": compilation_job,
        "ModelName": model,
        "ModelVersion": version,
        "OutputConfig": {"S3OutputLocation": output},
    }
    if key:
        body["ResourceKey"] = key
    api = common.client()
    console.print(
        api.post_json("/edge-packaging-jobs", body)["EdgePackagingJobArn"], highlight=False
    )
    if wait:
        while True:
            described = api.get_json(f"/edge-packaging-jobs/{name}")
            status = described["EdgePackagingJobStatus"]
            if status not in ("STARTING", "INPROGRESS", "STOPPING"):
                break
            time.sleep(0.2)
        if status != "COMPLETED":
            reason = described.get("EdgePackagingJobStatusMessage")
            raise ModelyardError(f"packaging job {name} ended {status}: {reason}")
        console.print(f"COMPLETED: {described['ModelArtifact']}", highlight=False)


@keys.command("create")
@handled
def create_key(name: str = typer.Argument(...)) -> None:
    """Create a signing key; prints its public key (give it to devices: --trusted-key)."""
    created = common.client().post_json("/edge/signing-keys", {"KeyName": name})
    console.print(created["PublicKey"], highlight=False)


@keys.command("list")
@handled
def list_keys(as_json: bool = JSON_OPTION) -> None:
    rows = common.client().get_json("/edge/signing-keys")["SigningKeys"]
    print_listing(rows, ("KeyName", "KeyId", "PublicKey"), as_json=as_json, title="Signing keys")
