"""Script-mode code: ``entry_point`` + ``source_dir`` + ``dependencies`` -> ``sourcedir.tar.gz``.

As sagemaker's ``fw_utils.tar_and_upload_dir``: with a ``source_dir``, every entry of
that directory goes to the archive's root and the entry point is named relative to
it; without one, the entry point file alone is archived and named by its base name.
Each dependency (a file or directory) goes to the root under its base name. Links are
followed (``dereference``), as sagemaker does. The archive is uploaded to
``<code location>/<job name>/source/sourcedir.tar.gz`` and its URI becomes the
``sagemaker_submit_directory`` hyperparameter.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from modelyard.sdk import objects
from modelyard.sdk.client import ApiClient
from modelyard.store.uri import parse_s3_uri

SOURCE_TARBALL = "sourcedir.tar.gz"


@dataclass(frozen=True)
class UploadedCode:
    """Where the code went (sagemaker's ``UploadedCode``): ``s3_prefix`` is the tarball's URI."""

    s3_prefix: str
    script_name: str


def _source_files(entry_point: str, source_dir: str | None) -> list[Path]:
    if source_dir is None:
        script = Path(entry_point)
        if not script.is_file():
            raise ValueError(f'No file named "{entry_point}" was found.')
        return [script]
    directory = Path(source_dir)
    if not directory.is_dir():
        raise ValueError(f'source_dir "{source_dir}" is not a directory.')
    if not (directory / entry_point).is_file():
        raise ValueError(f'No file named "{entry_point}" was found in directory "{source_dir}".')
    return [directory / name for name in sorted(os.listdir(directory))]


def pack(
    entry_point: str,
    source_dir: str | None,
    dependencies: list[str] | None,
    target: Path,
) -> str:
    """Write the tarball to ``target``; the script's name inside it."""
    files = _source_files(entry_point, source_dir)
    for dependency in dependencies or []:
        if not Path(dependency).exists():
            raise ValueError(f'Dependency "{dependency}" does not exist.')
        files.append(Path(dependency))
    with tarfile.open(target, mode="w:gz", dereference=True) as archive:
        for path in files:
            if path.name == "__pycache__":
                continue
            archive.add(path, arcname=path.name)
    return entry_point if source_dir else Path(entry_point).name


def upload(
    client: ApiClient,
    code_location: str,
    job_name: str,
    entry_point: str,
    source_dir: str | None,
    dependencies: list[str] | None,
) -> UploadedCode:
    """Pack the code and upload it under ``<code_location>/<job_name>/source/``."""
    base = parse_s3_uri(code_location)
    uri = base.child(job_name, "source", SOURCE_TARBALL)
    with tempfile.TemporaryDirectory(prefix="modelyard-source-") as scratch:
        tarball = Path(scratch) / SOURCE_TARBALL
        script = pack(entry_point, source_dir, dependencies, tarball)
        objects.upload_file(client, tarball, uri.bucket, uri.key)
    return UploadedCode(s3_prefix=str(uri), script_name=script)
