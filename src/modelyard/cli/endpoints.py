"""``modelyard endpoints`` and ``modelyard invoke``: real-time endpoints from the shell.

``endpoints create NAME --config CONFIG [--wait]``, ``update`` (blue/green with
``--traffic CANARY --step 10 --wait-interval 60 --bake 300 --alarm NAME`` or a whole
``--deployment-config``), ``rollback``, ``list``, ``describe``, ``delete``, ``replicas``,
``metrics``, ``shadow-report``; ``invoke NAME --body FILE``
sends the file to ``POST /endpoints/NAME/invocations`` and writes the answer to stdout
(or ``--output``); the variant that answered goes to stderr. Over HTTP only.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import typer

from modelyard.cli.common import (
    JSON_OPTION,
    client,
    console,
    err_console,
    handled,
    print_json,
    print_listing,
)
from modelyard.sdk.hosting import wait_for_endpoint

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("EndpointName", "EndpointStatus", "CreationTime", "LastModifiedTime")


@app.command()
@handled
def create(
    name: str = typer.Argument(..., help="The endpoint's name."),
    config: str = typer.Option(..., "--config", help="The endpoint config to deploy."),
    wait: bool = typer.Option(False, "--wait", help="Return once it is InService."),
) -> None:
    """Create an endpoint from an endpoint config."""
    api = client()
    found = api.post_json("/endpoints", {"EndpointName": name, "EndpointConfigName": config})
    console.print(found["EndpointArn"], highlight=False)
    if wait:
        wait_for_endpoint(api, name)
        console.print(f"{name} is InService", highlight=False)


def _deployment_config(
    given: str | None,
    traffic: str | None,
    step: int | None,
    wait_interval: int,
    bake: int,
    alarms: list[str],
) -> dict[str, Any] | None:
    """``--deployment-config`` (JSON, or a JSON file), else the one the flags describe."""
    if given:
        path = Path(given)
        text = path.read_text() if path.is_file() else given
        try:
            found: dict[str, Any] = json.loads(text)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(
                f"not JSON, nor a JSON file: {exc}", param_hint="--deployment-config"
            ) from exc
        return found
    if traffic is None and not alarms and not bake:
        return None
    kind = (traffic or "ALL_AT_ONCE").upper()
    routing: dict[str, Any] = {"Type": kind, "WaitIntervalInSeconds": wait_interval}
    if kind in ("CANARY", "LINEAR"):
        if step is None:
            raise typer.BadParameter(f"{kind} needs --step PERCENT", param_hint="--step")
        key = "CanarySize" if kind == "CANARY" else "LinearStepSize"
        routing[key] = {"Type": "CAPACITY_PERCENT", "Value": step}
    config: dict[str, Any] = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": routing,
            "TerminationWaitInSeconds": bake,
        }
    }
    if alarms:
        config["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": a} for a in alarms]}
    return config


def _settled(api: Any, name: str, wanted: str) -> None:
    """Wait, then say whether ``wanted`` serves or the update was rolled back (exit 1)."""
    described = wait_for_endpoint(api, name)
    if described.get("EndpointConfigName") != wanted:
        err_console.print(
            f"{name} still serves {described.get('EndpointConfigName')}: "
            f"{described.get('FailureReason', 'the update did not finish')}",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
@handled
def update(
    name: str = typer.Argument(..., help="The endpoint's name."),
    config: str = typer.Option(..., "--config", help="The endpoint config to deploy now."),
    wait: bool = typer.Option(False, "--wait", help="Return once it is InService again."),
    traffic: str | None = typer.Option(
        None, "--traffic", help="Blue/green traffic shifting: ALL_AT_ONCE, CANARY or LINEAR."
    ),
    step: int | None = typer.Option(
        None, "--step", help="CANARY's first share or LINEAR's step, in percent of capacity."
    ),
    wait_interval: int = typer.Option(0, "--wait-interval", help="Seconds between steps."),
    bake: int = typer.Option(0, "--bake", help="Seconds the old fleet stays warm after."),
    alarm: list[str] = typer.Option([], "--alarm", help="An alarm that rolls back (repeat)."),
    deployment_config: str | None = typer.Option(
        None, "--deployment-config", help="SageMaker's DeploymentConfig as JSON or a JSON file."
    ),
    retain_deployment_config: bool = typer.Option(
        False, "--retain-deployment-config", help="Reuse the last DeploymentConfig."
    ),
) -> None:
    """Deploy another endpoint config to an endpoint (blue/green, with a bake and alarms)."""
    api = client()
    body: dict[str, Any] = {"EndpointConfigName": config}
    chosen = _deployment_config(deployment_config, traffic, step, wait_interval, bake, alarm)
    if chosen is not None:
        body["DeploymentConfig"] = chosen
    if retain_deployment_config:
        body["RetainDeploymentConfig"] = True
    api.post_json(f"/endpoints/{name}/update", body)
    if wait:
        _settled(api, name, config)
        console.print(f"{name} updated to {config}", highlight=False)
    else:
        console.print(f"updating {name} to {config}", highlight=False)


@app.command()
@handled
def rollback(
    name: str = typer.Argument(..., help="The endpoint's name."),
    wait: bool = typer.Option(False, "--wait", help="Return once it is InService again."),
) -> None:
    """Back to the previous config: at once during an update, else by redeploying it."""
    api = client()
    answer = api.post_json(f"/endpoints/{name}/rollback")
    target = str(answer["EndpointConfigName"])
    how = "traffic is back on" if answer["RollbackType"] == "TrafficShift" else "redeploying"
    console.print(f"{name}: {how} {target}", highlight=False)
    if wait:
        _settled(api, name, target)
        console.print(f"{name} serves {target}", highlight=False)


@app.command("list")
@handled
def list_endpoints(
    name_contains: str | None = typer.Option(None, "--name-contains", help="Part of the name."),
    status: str | None = typer.Option(None, "--status", help="InService, Creating, ..."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List endpoints, newest first."""
    found = client().get_json("/endpoints", NameContains=name_contains, StatusEquals=status)
    print_listing(found["Endpoints"], _COLUMNS, as_json=as_json, title="Endpoints")


@app.command()
@handled
def describe(name: str = typer.Argument(..., help="The endpoint's name.")) -> None:
    """Print DescribeEndpoint's JSON (variants' weights, replica counts, status)."""
    print_json(client().get_json(f"/endpoints/{name}"))


@app.command()
@handled
def delete(
    name: str = typer.Argument(..., help="The endpoint's name."),
    wait: bool = typer.Option(False, "--wait", help="Return once it is gone."),
) -> None:
    """Delete an endpoint (its replicas are stopped)."""
    api = client()
    api.delete(f"/endpoints/{name}")
    if wait:
        from modelyard.errors import NotFoundError

        while True:
            try:
                api.get_json(f"/endpoints/{name}")
            except NotFoundError:
                break
            time.sleep(0.1)
    console.print(f"deleting {name}", highlight=False)


@app.command()
@handled
def replicas(
    name: str = typer.Argument(..., help="The endpoint's name."), as_json: bool = JSON_OPTION
) -> None:
    """The endpoint's replicas: variant, status, port, process id."""
    found = client().get_json(f"/endpoints/{name}/replicas")["Replicas"]
    columns = ("ReplicaId", "VariantName", "Status", "Port", "Pid", "ModelError")
    print_listing(found, columns, as_json=as_json, title=f"Replicas of {name}")


@app.command()
@handled
def metrics(
    name: str = typer.Argument(..., help="The endpoint's name."),
    metric: str | None = typer.Option(None, "--metric", help="One metric, e.g. ModelLatency."),
    variant: str | None = typer.Option(None, "--variant", help="One variant."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Per-minute datapoints of SageMaker's endpoint metrics."""
    found = client().get_json(f"/endpoints/{name}/metrics", MetricName=metric, VariantName=variant)
    columns = ("Timestamp", "VariantName", "MetricName", "Value")
    print_listing(found["Metrics"], columns, as_json=as_json, title=f"Metrics of {name}")


@app.command("shadow-report")
@handled
def shadow_report(name: str = typer.Argument(..., help="The endpoint's name.")) -> None:
    """Production vs shadow: agreement rate, latency p50/p99, error counts (JSON)."""
    print_json(client().get_json(f"/endpoints/{name}/shadow-report"))


@handled
def invoke(
    name: str = typer.Argument(..., help="The endpoint's name."),
    body: Path = typer.Option(
        ..., "--body", exists=True, dir_okay=False, help="The file to send as the body."
    ),
    content_type: str = typer.Option("text/csv", "--content-type", help="The body's MIME type."),
    accept: str | None = typer.Option(None, "--accept", help="The answer's MIME type."),
    target_variant: str | None = typer.Option(None, "--target-variant", help="A variant."),
    custom_attributes: str | None = typer.Option(
        None, "--custom-attributes", help="X-Amzn-SageMaker-Custom-Attributes."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the answer here."),
) -> None:
    """Invoke an endpoint with a file (InvokeEndpoint); the answer goes to stdout."""
    headers: dict[str, str] = {"Content-Type": content_type}
    for header, value in (
        ("Accept", accept),
        ("X-Amzn-SageMaker-Target-Variant", target_variant),
        ("X-Amzn-SageMaker-Custom-Attributes", custom_attributes),
    ):
        if value:
            headers[header] = value
    response = client().request(
        "POST", f"/endpoints/{name}/invocations", content=body.read_bytes(), headers=headers
    )
    variant = response.headers.get("x-amzn-invoked-production-variant", "")
    err_console.print(
        f"{response.headers.get('content-type', '')} from variant {variant}", highlight=False
    )
    if output is not None:
        output.write_bytes(response.content)
        return
    sys.stdout.buffer.write(response.content)
    if not response.content.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
