"""``modelyard images``: list, register, build (following the log), describe, remove.

Talks to the server over HTTP only; importing this module stays light (no
catalog, no builder) because the ``modelyard`` command imports every group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from modelyard.cli.common import JSON_OPTION, client, console, handled, print_json, print_listing
from modelyard.errors import ServerUnavailableError
from modelyard.sdk.client import ApiClient

app = typer.Typer(no_args_is_help=True)

_COLUMNS = ("Image", "Status", "Framework", "SpecHash", "LastModifiedTime")
_MAX_LOG_RECONNECTS = 20


def _path(name_tag: str) -> str:
    return f"/images/{name_tag}"


@app.command("list")
@handled
def list_images(as_json: bool = JSON_OPTION) -> None:
    """List images and their status (Pending = registered, not built yet)."""
    images: list[dict[str, Any]] = client().get_json("/images")["Images"]
    if as_json:
        print_listing(images, (), as_json=True)
        return
    rows = [
        {
            "Image": f"{image['ImageName']}:{image['ImageTag']}",
            "Status": image["ImageStatus"],
            "Framework": " ".join(
                filter(None, (image.get("Framework"), image.get("FrameworkVersion")))
            ),
            "SpecHash": (image.get("SpecHash") or "")[:12],
            "LastModifiedTime": image.get("LastModifiedTime"),
        }
        for image in images
    ]
    print_listing(rows, _COLUMNS, as_json=False, title="Images")


@app.command()
@handled
def register(
    name_tag: str = typer.Argument(..., help="NAME:TAG of the new image."),
    requirements: Path = typer.Option(
        ..., "--requirements", "-r", exists=True, dir_okay=False, help="A pip requirements file."
    ),
    code_dir: Path | None = typer.Option(
        None, "--code-dir", exists=True, file_okay=False, help="Code copied into the image."
    ),
    entry_point: str | None = typer.Option(None, "--entry-point", help="Script the image runs."),
) -> None:
    """Register your own image from a requirements file (and a code directory)."""
    name, _, tag = name_tag.partition(":")
    body = {
        "Name": name,
        "Tag": tag or "latest",
        "Requirements": requirements.read_text(encoding="utf-8"),
        "CodeDir": str(code_dir.resolve()) if code_dir else None,
        "EntryPoint": entry_point,
    }
    image = client().post_json("/images", {k: v for k, v in body.items() if v is not None})
    console.print(f"registered {image['ImageName']}:{image['ImageTag']} ({image['ImageStatus']})")


@app.command()
@handled
def build(
    name_tag: str = typer.Argument(..., help="NAME:TAG of the image."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Stream the build log."),
) -> None:
    """Build an image (a ready one returns at once); exit code 1 if the build fails."""
    api = client()
    image = api.post_json(f"{_path(name_tag)}/build")
    if follow and image["ImageStatus"] == "Building":
        _stream_log(api, name_tag)
        image = api.get_json(_path(name_tag))
    console.print(f"{image['ImageName']}:{image['ImageTag']}: {image['ImageStatus']}")
    if image["ImageStatus"] == "Failed":
        console.print(image.get("FailureReason") or "", markup=False, highlight=False)
        raise typer.Exit(1)


def _stream_log(api: ApiClient, name_tag: str) -> None:
    """Print the build log as it grows; reconnect when a quiet step outlasts the timeout."""
    seen = 0
    for _ in range(_MAX_LOG_RECONNECTS):
        try:
            params = {"follow": "true", "since_line": seen}
            with api.stream("GET", f"{_path(name_tag)}/logs", params=params) as response:
                for line in response.iter_lines():
                    sys.stdout.write(f"{line}\n")
                    sys.stdout.flush()
                    seen += 1
            return
        except ServerUnavailableError:
            if api.get_json(_path(name_tag))["ImageStatus"] != "Building":
                return


@app.command()
@handled
def describe(name_tag: str = typer.Argument(..., help="NAME:TAG of the image.")) -> None:
    """Print an image's description (JSON)."""
    print_json(client().get_json(_path(name_tag)))


@app.command()
@handled
def rm(name_tag: str = typer.Argument(..., help="NAME:TAG of the image.")) -> None:
    """Remove an image (refused while it builds); the built environment stays cached."""
    client().delete(_path(name_tag))
    console.print(f"removed {name_tag}")
