"""The user's source bundle (``sagemaker_submit_directory``): checked, then staged.

The SDK packs ``entry_point`` + ``source_dir`` into ``sourcedir.tar.gz``, uploads it and
names it in the ``sagemaker_submit_directory`` hyperparameter, as sagemaker does. The
controller checks at create time that the bundle exists, is a safe archive and holds the
``sagemaker_program`` file (a job that cannot start is refused with 400 before anything
runs), and before launch downloads it once per job and extracts it into every host's
``code/`` directory with the standard library's ``data`` filter (no absolute names, no
``..``, no links leading out, no device files).

A ``file://`` or plain-path submit directory is left to the in-image toolkit, which copies
it itself (:func:`modelyard.container.files.stage_source_dir`); it is still checked here.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from modelyard.container.errors import SourceDirError
from modelyard.container.files import extract_tarball
from modelyard.errors import NotFoundError, ValidationError
from modelyard.jobs.training_spec import (
    PROGRAM_HP,
    SUBMIT_DIR_HP,
    entry_point,
    submit_directory,
)
from modelyard.store.base import Store
from modelyard.store.transfer import download_file
from modelyard.store.uri import is_s3_uri, parse_s3_uri, validate_key

PROGRAM_FIELD = f"HyperParameters.{PROGRAM_HP}"
SUBMIT_FIELD = f"HyperParameters.{SUBMIT_DIR_HP}"


class SourceBundleError(Exception):
    """The bundle could not be staged; the job fails with this as its reason."""


def check_entry_point(
    store: Store, spec: Mapping[str, Any], *, image_entry_point: str | None
) -> None:
    """Refuse (400) a job whose entry point cannot be found before anything runs."""
    if spec["AlgorithmSpecification"].get("ContainerEntrypoint"):
        return  # the request names its own command
    program = entry_point(spec)
    submit = submit_directory(spec)
    if submit is None:
        if program is None and image_entry_point is None:
            raise ValidationError(
                f"no entry point: set the {PROGRAM_HP} hyperparameter (and "
                f"{SUBMIT_DIR_HP} with the source bundle), or "
                "AlgorithmSpecification.ContainerEntrypoint, or use an image with an entry point",
                field=PROGRAM_FIELD,
            )
        return
    if program is None:
        raise ValidationError(
            f"{SUBMIT_DIR_HP} is set but {PROGRAM_HP} is not: name the script to run",
            field=PROGRAM_FIELD,
        )
    members = _bundle_members(store, submit)
    wanted = _normalized(program)
    if wanted not in members:
        shown = ", ".join(sorted(members)[:10]) or "nothing"
        raise ValidationError(
            f"entry point {program!r} is not in the source bundle {submit} (it holds {shown})",
            field=PROGRAM_FIELD,
        )


def _normalized(name: str) -> str:
    return PurePosixPath(name.lstrip("/")).as_posix().removeprefix("./")


def _bundle_members(store: Store, submit: str) -> set[str]:
    """The regular files of a bundle, by relative name; unsafe members are refused."""
    if is_s3_uri(submit):
        uri = parse_s3_uri(submit, field=SUBMIT_FIELD)
        validate_key(uri.key, field=SUBMIT_FIELD)
        try:
            stream = store.open_object(uri.bucket, uri.key)
        except NotFoundError as exc:
            raise ValidationError(
                f"the source bundle {submit} does not exist", field=SUBMIT_FIELD
            ) from exc
        with stream:
            return _tar_members(stream, submit)
    local = _local_path(submit)
    if local.is_dir():
        return {
            Path(root, name).relative_to(local).as_posix()
            for root, _dirs, files in os.walk(local)
            for name in files
        }
    if local.is_file() and tarfile.is_tarfile(local):
        with open(local, "rb") as stream:
            return _tar_members(stream, submit)
    if local.is_file():
        return {local.name}
    raise ValidationError(f"the source directory {submit} does not exist", field=SUBMIT_FIELD)


def _tar_members(stream: Any, submit: str) -> set[str]:
    names: set[str] = set()
    try:
        with tarfile.open(fileobj=stream, mode="r:*") as archive:
            for member in archive:
                name = member.name
                parts = PurePosixPath(name).parts
                if name.startswith("/") or ".." in parts:
                    raise ValidationError(
                        f"the source bundle {submit} holds the unsafe member {name!r}",
                        field=SUBMIT_FIELD,
                    )
                if member.isfile():
                    names.add(_normalized(name))
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValidationError(
            f"the source bundle {submit} is not a readable tarball: {exc}", field=SUBMIT_FIELD
        ) from exc
    return names


def _local_path(submit: str) -> Path:
    parts = urlsplit(submit)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        raise ValidationError(
            f"{SUBMIT_DIR_HP}={submit!r}: use an s3:// URI, a file:// URL or a path",
            field=SUBMIT_FIELD,
        )
    return Path(submit)


def fetch_bundle(store: Store, spec: Mapping[str, Any], job_dir: Path) -> Path | None:
    """Download an ``s3://`` bundle once per job (``<job dir>/source/``); None otherwise."""
    submit = submit_directory(spec)
    if submit is None or not is_s3_uri(submit):
        return None
    target = job_dir / "source"
    target.mkdir(parents=True, exist_ok=True)
    return download_file(store, submit, target / "sourcedir.tar.gz")


def safe_extract(tarball: Path, code_dir: Path) -> None:
    """Extract the bundle into ``code_dir``; an unsafe or broken one raises SourceBundleError."""
    try:
        extract_tarball(tarball, code_dir)
    except SourceDirError as exc:
        raise SourceBundleError(str(exc)) from exc
