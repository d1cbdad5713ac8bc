"""``modelyard endpoints`` and ``modelyard invoke``: real-time endpoints from the shell.

``endpoints create NAME --config CONFIG [--wait]``, ``update``, ``list``, ``describe``,
``delete``, ``replicas``, ``metrics``, ``shadow-report``; ``invoke NAME --body FILE``
sends the file to ``POST /endpoints/NAME/invocations`` and writes the answer to stdout
(or ``--output``); the variant that answered goes to stderr. Over HTTP only.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

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


@app.command()
@handled
def update(
    name: str = typer.Argument(..., help="The endpoint's name."),
    config: str = typer.Option(..., "--config", help="The endpoint config to deploy now."),
    wait: bool = typer.Option(False, "--wait", help="Return once it is InService again."),
) -> None:
    """Deploy another endpoint config to an endpoint."""
    api = client()
    api.post_json(f"/endpoints/{name}/update", {"EndpointConfigName": config})
    if wait:
        wait_for_endpoint(api, name)
    console.print(f"{name} updated to {config}", highlight=False)


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
