"""Reading and verifying edge packages (the format of modelyard's ``edge/package.py``).

A package is a ``.tar.gz`` (or its extracted directory) with ``manifest.json``,
optionally ``manifest.sig``, the ONNX model and the self-test's ``.npy`` files.
:func:`open_package` extracts safely (regular files only, no path leaving the
directory), checks that every file listed in the manifest has its sha256 and that
no unlisted file is present, and checks the signature against the trusted keys.
Anything wrong raises :class:`TamperedPackageError`: a refused package is never
loaded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from modelyard_edge import ed25519

SUPPORTED_FORMATS = (1,)
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"


class PackageError(Exception):
    """The package cannot be used (unreadable, unsupported)."""


class TamperedPackageError(PackageError):
    """The package's files, manifest or signature do not verify."""


@dataclass(frozen=True)
class Package:
    """A verified package, extracted in ``root``."""

    root: Path
    manifest: dict[str, Any]
    signed_by: str | None

    @property
    def name(self) -> str:
        return str(self.manifest["Name"])

    @property
    def version(self) -> str:
        return str(self.manifest["Version"])

    @property
    def model_path(self) -> Path:
        return self.root / str(self.manifest["Model"])


def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def safe_extract(archive: Path, target: Path) -> None:
    """Extract regular files and directories only, all inside ``target``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                path = PurePosixPath(member.name)
                if path.is_absolute() or ".." in path.parts:
                    raise TamperedPackageError(f"the package holds an unsafe path {member.name!r}")
                if not (member.isfile() or member.isdir()):
                    raise TamperedPackageError(
                        f"the package holds {member.name!r}, which is not a regular file"
                    )
            target.mkdir(parents=True, exist_ok=True)
            for member in members:
                destination = target.joinpath(*PurePosixPath(member.name).parts)
                if member.isdir():
                    destination.mkdir(parents=True, exist_ok=True)
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                if source is None:
                    raise TamperedPackageError(f"{member.name!r} cannot be read")
                with source, destination.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise TamperedPackageError(f"the package is not a readable archive: {exc}") from exc


def verify_directory(
    root: Path, trusted_keys: list[str] | None = None, *, require_signature: bool = False
) -> Package:
    """Check an extracted package (see the module doc); the verified :class:`Package`."""
    manifest_path = root / MANIFEST
    try:
        raw = manifest_path.read_bytes()
        manifest: dict[str, Any] = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise TamperedPackageError(f"the package has no readable {MANIFEST}: {exc}") from exc
    if manifest.get("FormatVersion") not in SUPPORTED_FORMATS:
        raise PackageError(
            f"package format {manifest.get('FormatVersion')!r} is not supported "
            f"(this agent reads {SUPPORTED_FORMATS})"
        )
    signed_by = _check_signature(root, raw, trusted_keys or [], require_signature)
    files: dict[str, dict[str, Any]] = manifest.get("Files") or {}
    for relative, entry in files.items():
        path = root.joinpath(*PurePosixPath(relative).parts)
        if not path.is_file():
            raise TamperedPackageError(f"{relative} is listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != entry.get("Sha256"):
            raise TamperedPackageError(
                f"{relative} does not match the manifest: sha256 {actual[:16]}... "
                f"instead of {str(entry.get('Sha256'))[:16]}..."
            )
    present = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE)
    }
    extra = sorted(present - set(files))
    if extra:
        raise TamperedPackageError(f"files not in the manifest: {', '.join(extra[:5])}")
    if str(manifest.get("Model")) not in files:
        raise TamperedPackageError("the manifest's model file is not among its files")
    return Package(root=root, manifest=manifest, signed_by=signed_by)


def _check_signature(
    root: Path, manifest_bytes: bytes, trusted_keys: list[str], require_signature: bool
) -> str | None:
    signature_path = root / SIGNATURE
    if not signature_path.exists():
        if require_signature or trusted_keys:
            raise TamperedPackageError("the package is not signed, and this agent requires it")
        return None
    try:
        document = json.loads(signature_path.read_text(encoding="utf-8"))
        public = bytes.fromhex(str(document["PublicKey"]))
        signature = bytes.fromhex(str(document["Signature"]))
    except (OSError, ValueError, KeyError) as exc:
        raise TamperedPackageError(f"{SIGNATURE} is unreadable: {exc}") from exc
    if document.get("Algorithm") != "Ed25519":
        raise TamperedPackageError(f"signature algorithm {document.get('Algorithm')!r} unknown")
    trusted = {key.lower() for key in trusted_keys}
    if trusted and public.hex() not in trusted:
        raise TamperedPackageError(
            f"the package is signed by key {key_id(public)}, which this agent does not trust"
        )
    if not ed25519.verify(public, manifest_bytes, signature):
        raise TamperedPackageError("the manifest's signature does not verify: it was altered")
    return key_id(public)


def open_package(
    source: Path,
    work_dir: Path,
    trusted_keys: list[str] | None = None,
    *,
    require_signature: bool = False,
) -> Package:
    """Extract ``source`` (a .tar.gz, or a directory used in place) and verify it."""
    if source.is_dir():
        return verify_directory(source, trusted_keys, require_signature=require_signature)
    if work_dir.exists():
        shutil.rmtree(work_dir)
    safe_extract(source, work_dir)
    try:
        return verify_directory(work_dir, trusted_keys, require_signature=require_signature)
    except PackageError:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
