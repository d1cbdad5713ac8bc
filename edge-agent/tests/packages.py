"""Build edge packages for the agent's tests, in the format modelyard's packaging jobs write."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime

from modelyard_edge import ed25519

DATA = Path(__file__).parent / "data"
#: A fixed test key (RFC 8032's test 1 secret).
SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC_HEX = ed25519.public_key(SECRET).hex()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_dir(
    root: Path,
    *,
    model: str = "linear-a",
    version: str = "1",
    selftest_model: str | None = None,
    secret: bytes | None = SECRET,
    labels: list[str] | None = None,
) -> Path:
    """A package directory; ``selftest_model`` records another model's outputs (a bad self-test)."""
    root.mkdir(parents=True)
    shutil.copy(DATA / f"{model}.onnx", root / "model.onnx")
    rows = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    (root / "selftest" / "inputs").mkdir(parents=True)
    (root / "selftest" / "outputs").mkdir(parents=True)
    np.save(root / "selftest" / "inputs" / "input.npy", rows)
    session = onnxruntime.InferenceSession(str(DATA / f"{selftest_model or model}.onnx"))
    for name, values in zip(
        ["label", "probabilities"],
        session.run(["label", "probabilities"], {"input": rows}),
        strict=True,
    ):
        np.save(root / "selftest" / "outputs" / f"{name}.npy", values)
    files = {
        p.relative_to(root).as_posix(): {"Sha256": _sha(p), "Size": p.stat().st_size}
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    manifest: dict[str, Any] = {
        "FormatVersion": 1,
        "Name": "iris",
        "Version": version,
        "Model": "model.onnx",
        "Inputs": [{"Name": "input", "Shape": [None, 4], "Dtype": "float32"}],
        "Outputs": [],
        "Preprocessing": {},
        "Postprocessing": {"Labels": labels} if labels else {},
        "SelfTest": {
            "Inputs": {"input": "selftest/inputs/input.npy"},
            "Outputs": {
                "label": "selftest/outputs/label.npy",
                "probabilities": "selftest/outputs/probabilities.npy",
            },
            "AbsoluteTolerance": 1e-4,
            "RelativeTolerance": 1e-4,
            "MinLabelAgreement": 1.0,
        },
        "Files": files,
    }
    data = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    (root / "manifest.json").write_bytes(data)
    if secret is not None:
        signature = {
            "Algorithm": "Ed25519",
            "PublicKey": ed25519.public_key(secret).hex(),
            "KeyId": "test",
            "Signature": ed25519.sign(secret, data).hex(),
        }
        (root / "manifest.sig").write_text(json.dumps(signature))
    return root


def tarball(directory: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            tar.add(path, arcname=path.relative_to(directory).as_posix(), recursive=False)
    return target


def build(tmp: Path, name: str = "pkg", **kwargs: Any) -> Path:
    """A package tarball ``<tmp>/<name>.tar.gz``."""
    directory = build_dir(tmp / f"{name}-dir", **kwargs)
    return tarball(directory, tmp / f"{name}.tar.gz")


def evil_tarball(target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        data = b"gotcha"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return target
