"""The image registry from Python, over HTTP: register, build, describe, list."""

from __future__ import annotations

from typing import Any

from modelyard.errors import AlreadyExistsError
from modelyard.sdk.client import ApiClient


def register_image(
    client: ApiClient,
    name_tag: str,
    *,
    packages: list[str] | None = None,
    requirements: str | None = None,
    entry_point: str | None = None,
    exist_ok: bool = False,
) -> dict[str, Any]:
    """Register ``name:tag``; nothing is built until :func:`build` or first use."""
    name, _, tag = name_tag.partition(":")
    body: dict[str, Any] = {"Name": name, "Tag": tag or "latest", "Packages": packages or []}
    if requirements is not None:
        body["Requirements"] = requirements
    if entry_point is not None:
        body["EntryPoint"] = entry_point
    try:
        registered: dict[str, Any] = client.post_json("/images", body)
    except AlreadyExistsError:
        if not exist_ok:
            raise
        return describe_image(client, name_tag)
    return registered


def build(client: ApiClient, name_tag: str, *, wait: bool = True) -> dict[str, Any]:
    """Build ``name:tag`` (instant when its environment is already built)."""
    response = client.request("POST", f"/images/{name_tag}/build", params={"wait": wait})
    built: dict[str, Any] = response.json()
    return built


def describe_image(client: ApiClient, name_tag: str) -> dict[str, Any]:
    described: dict[str, Any] = client.get_json(f"/images/{name_tag}")
    return described


def list_images(client: ApiClient) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = client.get_json("/images")["Images"]
    return images


def framework_image_uri(client: ApiClient, framework: str, version: str) -> str:
    """The server's image ``name:tag`` for a framework version (registered if needed)."""
    found = client.get_json(f"/frameworks/{framework}/versions/{version}/image")
    return str(found["TrainingImage"])
