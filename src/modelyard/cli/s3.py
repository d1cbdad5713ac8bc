"""``modelyard s3``: the object store from the shell, like ``aws s3``.

Every command goes through the control plane's HTTP API. A directory-like
argument (``s3://bucket/data`` with ``--recursive``) means the prefix
``data/``, never ``data-old/``. Transfers draw Rich progress bars on a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from modelyard.cli import common
from modelyard.cli.common import JSON_OPTION, console, err_console, handled, print_listing
from modelyard.errors import ValidationError
from modelyard.sdk import objects
from modelyard.sdk.client import ApiClient
from modelyard.store.transfer import directory_prefix
from modelyard.store.uri import S3Uri, is_s3_uri, parse_s3_uri

app = typer.Typer(
    help="The object store: list, copy and remove objects, make and remove buckets.",
    no_args_is_help=True,
)

RECURSIVE = typer.Option(False, "--recursive", "-r", help="Act on every object under the prefix.")
NO_PROGRESS = typer.Option(False, "--no-progress", help="Draw no progress bar.")


@app.command("ls")
@handled
def ls(
    path: str = typer.Argument("", help="s3://bucket/prefix to list; nothing lists buckets."),
    recursive: bool = RECURSIVE,
    as_json: bool = JSON_OPTION,
) -> None:
    """List buckets, or the objects and prefixes under s3://bucket/prefix."""
    client = common.client()
    if not path:
        buckets = objects.list_buckets(client)
        print_listing(buckets, ["CreationDate", "Name"], as_json=as_json, title="Buckets")
        return
    uri = _s3(path, "Path")
    entries = list(
        objects.list_objects(client, uri.bucket, uri.key, delimiter=None if recursive else "/")
    )
    if as_json:
        print_listing(entries, [], as_json=True)
        return
    rows = [
        {"LastModified": "", "Size": "PRE", "Key": e["Prefix"]}
        if "Prefix" in e
        else {"LastModified": e["LastModified"], "Size": e["Size"], "Key": e["Key"]}
        for e in entries
    ]
    print_listing(rows, ["LastModified", "Size", "Key"], as_json=False, title=str(uri))


@app.command("cp")
@handled
def cp(
    src: str = typer.Argument(..., help="A local path or s3://bucket/key."),
    dst: str = typer.Argument(..., help="A local path or s3://bucket/key."),
    recursive: bool = RECURSIVE,
    no_progress: bool = NO_PROGRESS,
) -> None:
    """Copy local->s3, s3->local or s3->s3 (a tree with --recursive)."""
    client = common.client()
    progress = not no_progress and err_console.is_terminal
    if is_s3_uri(src) and is_s3_uri(dst):
        _copy_remote(client, _s3(src, "Source"), _s3(dst, "Destination"), recursive)
    elif is_s3_uri(dst):
        _upload(client, Path(src), _s3(dst, "Destination"), recursive, progress)
    elif is_s3_uri(src):
        _download(client, _s3(src, "Source"), Path(dst), recursive, progress)
    else:
        raise ValidationError(
            "cp needs an s3:// URI on at least one side; use your shell's cp for local copies",
            field="Source",
        )


@app.command("rm")
@handled
def rm(
    path: str = typer.Argument(..., help="s3://bucket/key, or a prefix with --recursive."),
    recursive: bool = RECURSIVE,
) -> None:
    """Delete an object, or every object under a prefix."""
    client = common.client()
    uri = _s3(path, "Path")
    if not recursive:
        objects.delete_object(client, uri.bucket, uri.key)
        _say(f"delete: {uri}")
        return
    prefix = directory_prefix(uri.key)
    keys = [e["Key"] for e in objects.list_objects(client, uri.bucket, prefix)]
    objects.delete_objects(client, uri.bucket, keys)
    for key in keys:
        _say(f"delete: {S3Uri(uri.bucket, key)}")


@app.command("mb")
@handled
def mb(path: str = typer.Argument(..., help="s3://bucket to create.")) -> None:
    """Make a bucket."""
    uri = _s3(path, "Bucket")
    objects.create_bucket(common.client(), uri.bucket)
    _say(f"make_bucket: {uri.bucket}")


@app.command("rb")
@handled
def rb(
    path: str = typer.Argument(..., help="s3://bucket to remove."),
    force: bool = typer.Option(False, "--force", help="Delete the bucket's objects too."),
) -> None:
    """Remove a bucket (a non-empty one only with --force)."""
    uri = _s3(path, "Bucket")
    objects.delete_bucket(common.client(), uri.bucket, force=force)
    _say(f"remove_bucket: {uri.bucket}")


def _upload(client: ApiClient, src: Path, dst: S3Uri, recursive: bool, progress: bool) -> None:
    if src.is_dir():
        if not recursive:
            raise ValidationError(f"{src} is a directory: add --recursive", field="Source")
        results = objects.upload_directory(client, src, dst.bucket, dst.key, progress=progress)
        prefix = directory_prefix(dst.key)
        for result in results:
            local = src / result["Key"][len(prefix) :]
            _say(f"upload: {local} to {S3Uri(dst.bucket, result['Key'])}")
        return
    if not src.is_file():
        raise ValidationError(f"{src} does not exist", field="Source")
    key = _file_key(dst, src.name)
    objects.upload_file(client, src, dst.bucket, key, progress=progress)
    _say(f"upload: {src} to {S3Uri(dst.bucket, key)}")


def _download(client: ApiClient, src: S3Uri, dst: Path, recursive: bool, progress: bool) -> None:
    if recursive:
        paths = objects.download_directory(client, src.bucket, src.key, dst, progress=progress)
        prefix = directory_prefix(src.key)
        for path in paths:
            key = prefix + path.relative_to(dst).as_posix()
            _say(f"download: {S3Uri(src.bucket, key)} to {path}")
        return
    if str(dst).endswith(("/", "\\")):
        dst.mkdir(parents=True, exist_ok=True)
    written = objects.download_file(client, src.bucket, src.key, dst, progress=progress)
    _say(f"download: {src} to {written}")


def _copy_remote(client: ApiClient, src: S3Uri, dst: S3Uri, recursive: bool) -> None:
    if not recursive:
        key = _file_key(dst, src.name)
        objects.copy_object(client, src.bucket, src.key, dst.bucket, key)
        _say(f"copy: {src} to {S3Uri(dst.bucket, key)}")
        return
    source_prefix = directory_prefix(src.key)
    target_prefix = directory_prefix(dst.key)
    entries: list[dict[str, Any]] = list(objects.list_objects(client, src.bucket, source_prefix))
    for entry in entries:
        key = target_prefix + entry["Key"][len(source_prefix) :]
        objects.copy_object(client, src.bucket, entry["Key"], dst.bucket, key)
        _say(f"copy: {S3Uri(src.bucket, entry['Key'])} to {S3Uri(dst.bucket, key)}")


def _file_key(dst: S3Uri, name: str) -> str:
    """``s3://b/dir/`` (or ``s3://b``) receives the file under its own name."""
    return dst.key + name if dst.key == "" or dst.key.endswith("/") else dst.key


def _say(line: str) -> None:
    """One line of output, unwrapped, with keys printed as they are (no Rich markup)."""
    console.print(line, markup=False, highlight=False, soft_wrap=True)


def _s3(value: str, field: str) -> S3Uri:
    return parse_s3_uri(value, field=field)
