"""``modelyard models`` and ``modelyard endpoint-configs``: create from a JSON body, list,
describe, delete, with SageMaker's request and response shapes (over HTTP only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from modelyard.cli.common import JSON_OPTION, client, console, handled, print_json, print_listing
from modelyard.errors import ValidationError

models_app = typer.Typer(no_args_is_help=True)
configs_app = typer.Typer(no_args_is_help=True)

BODY_HELP = "The request (JSON), SageMaker's {} shape."


def read_body(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{path} is not JSON: {exc}", field="body") from exc
    if not isinstance(found, dict):
        raise ValidationError(f"{path} must hold a JSON object", field="body")
    return found


@models_app.command("create")
@handled
def create_model(
    body: Path = typer.Option(
        ..., "--body", exists=True, dir_okay=False, help=BODY_HELP.format("CreateModel")
    ),
) -> None:
    """Create a model (image + model data + environment)."""
    console.print(client().post_json("/models", read_body(body))["ModelArn"], highlight=False)


@models_app.command("list")
@handled
def list_models(
    name_contains: str | None = typer.Option(None, "--name-contains", help="Part of the name."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List models, newest first."""
    found = client().get_json("/models", NameContains=name_contains)
    print_listing(found["Models"], ("ModelName", "CreationTime"), as_json=as_json, title="Models")


@models_app.command("describe")
@handled
def describe_model(name: str = typer.Argument(..., help="The model's name.")) -> None:
    """Print DescribeModel's JSON."""
    print_json(client().get_json(f"/models/{name}"))


@models_app.command("delete")
@handled
def delete_model(name: str = typer.Argument(..., help="The model's name.")) -> None:
    """Delete a model (endpoints serving it keep serving)."""
    client().delete(f"/models/{name}")
    console.print(f"deleted model {name}", highlight=False)


@configs_app.command("create")
@handled
def create_config(
    body: Path = typer.Option(
        ..., "--body", exists=True, dir_okay=False, help=BODY_HELP.format("CreateEndpointConfig")
    ),
) -> None:
    """Create an endpoint config (production variants, shadow variant, data capture)."""
    arn = client().post_json("/endpoint-configs", read_body(body))["EndpointConfigArn"]
    console.print(arn, highlight=False)


@configs_app.command("list")
@handled
def list_configs(
    name_contains: str | None = typer.Option(None, "--name-contains", help="Part of the name."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List endpoint configs, newest first."""
    found = client().get_json("/endpoint-configs", NameContains=name_contains)
    print_listing(
        found["EndpointConfigs"],
        ("EndpointConfigName", "CreationTime"),
        as_json=as_json,
        title="Endpoint configs",
    )


@configs_app.command("describe")
@handled
def describe_config(name: str = typer.Argument(..., help="The endpoint config's name.")) -> None:
    """Print DescribeEndpointConfig's JSON."""
    print_json(client().get_json(f"/endpoint-configs/{name}"))


@configs_app.command("delete")
@handled
def delete_config(name: str = typer.Argument(..., help="The endpoint config's name.")) -> None:
    """Delete an endpoint config (endpoints deployed from it keep serving)."""
    client().delete(f"/endpoint-configs/{name}")
    console.print(f"deleted endpoint config {name}", highlight=False)
