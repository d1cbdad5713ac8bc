"""Edge packages: a compiled model, its manifest, and an optional Ed25519 signature.

A package is ``<ModelName>-<ModelVersion>.tar.gz`` holding:

``manifest.json``
    ``FormatVersion`` (1), ``Name``, ``Version``, ``CreatedAt``, ``Model`` (the ONNX
    file), ``Framework``, ``Target``, ``Quantization``, ``Inputs`` / ``Outputs``
    (``{Name, Shape, Dtype}``), ``Preprocessing`` (``{"Mean": [...], "Std": [...]}``,
    applied as ``(x - Mean) / Std``), ``Postprocessing`` (``{"Labels": [...]}``: class
    names by label index), ``SelfTest`` (input and expected output ``.npy`` files and
    tolerances), ``Files`` (``{path: {"Sha256", "Size"}}`` for every other file of
    the package) and ``Compilation`` (the job and its verification).
``manifest.sig`` (when signed)
    ``{"Algorithm": "Ed25519", "KeyId", "PublicKey", "Signature"}`` (hex): the
    signature of the exact bytes of ``manifest.json``.
``model.onnx``, ``selftest/inputs/*.npy``, ``selftest/outputs/*.npy``

The edge agent (``edge-agent/``, which imports nothing of modelyard) reads this
format: a change here is a change of ``FormatVersion`` there.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from modelyard.ids import utcnow

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
MODEL = "model.onnx"
#: The self-test's tolerance: the device runs the very model the outputs came from.
SELFTEST_TOLERANCE = {
    "AbsoluteTolerance": 1e-3,
    "RelativeTolerance": 1e-3,
    "MinLabelAgreement": 1.0,
}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(
    package_dir: Path,
    *,
    name: str,
    version: str,
    report: dict[str, Any],
    compilation_job: str | None = None,
    preprocessing: dict[str, Any] | None = None,
    postprocessing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of the files in ``package_dir`` (a compiled model's output directory)."""
    files = {
        path.relative_to(package_dir).as_posix(): {
            "Sha256": sha256_file(path),
            "Size": path.stat().st_size,
        }
        for path in sorted(package_dir.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, SIGNATURE)
    }
    if MODEL not in files:
        raise ValueError(f"no {MODEL} in {package_dir}: is it a compiled model?")
    selftest_inputs = {
        Path(p).stem: p for p in files if p.startswith("selftest/inputs/") and p.endswith(".npy")
    }
    selftest_outputs = {
        Path(p).stem: p for p in files if p.startswith("selftest/outputs/") and p.endswith(".npy")
    }
    verification = report.get("Verification") or {}
    return {
        "FormatVersion": FORMAT_VERSION,
        "Name": name,
        "Version": version,
        "CreatedAt": utcnow().isoformat(),
        "Model": MODEL,
        "Framework": report.get("Framework"),
        "Target": report.get("Target"),
        "Quantization": report.get("Quantization", "none"),
        "Inputs": report.get("InputSignature") or [],
        "Outputs": report.get("OutputSignature") or [],
        "Preprocessing": preprocessing or {},
        "Postprocessing": postprocessing or {},
        "SelfTest": {"Inputs": selftest_inputs, "Outputs": selftest_outputs, **SELFTEST_TOLERANCE},
        "Files": files,
        "Compilation": {
            "JobName": compilation_job,
            "MaxAbsoluteError": verification.get("MaxAbsoluteError"),
            "LabelAgreement": verification.get("LabelAgreement"),
        },
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical bytes that are written and signed."""
    return json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def write_package(
    package_dir: Path,
    manifest: dict[str, Any],
    target: Path,
    signature: dict[str, str] | None = None,
) -> Path:
    """Tar ``package_dir``'s files with the manifest (and signature) into ``target``."""
    data = manifest_bytes(manifest)
    with tarfile.open(target, "w:gz") as tar:
        _add_bytes(tar, MANIFEST, data)
        if signature is not None:
            _add_bytes(tar, SIGNATURE, json.dumps(signature, indent=2).encode("utf-8"))
        for relative in manifest["Files"]:
            tar.add(package_dir / relative, arcname=relative, recursive=False)
    return target


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
