"""Edge packaging jobs: manifest hashes, Ed25519 signatures the agent verifies in pure Python."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import modelyard_edge as modelyard_edge
import numpy as np
import pytest

from modelyard.errors import NotFoundError, ValidationError
from tests.integration.edge.conftest import Plane
from tests.integration.edge.helpers import compiled_forest, package


def test_a_signed_package_verifies_on_the_agent(plane: Plane, tmp_path: Path) -> None:
    public = plane.client.post_json("/edge/signing-keys", {"KeyName": "fleet-key"})["PublicKey"]
    compiled_forest(plane, tmp_path)
    described = package(plane, "iris-1", "rf", "1.0")
    assert described["ModelArtifact"] == "s3://edge/packages/iris-1.0.tar.gz"
    data = plane.services.store.get_object("edge", "packages/iris-1.0.tar.gz")
    assert described["PackageSha256"] == hashlib.sha256(data).hexdigest()
    archive = tmp_path / "iris.tar.gz"
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert (manifest["Name"], manifest["Version"]) == ("iris", "1.0")
    assert manifest["Inputs"] == [{"Name": "input", "Shape": [None, 4], "Dtype": "float32"}]
    assert set(manifest["Files"]) >= {"model.onnx", "compilation-report.json"}
    assert all(len(entry["Sha256"]) == 64 for entry in manifest["Files"].values())
    assert manifest["Compilation"]["LabelAgreement"] == 1.0
    found = modelyard_edge.open_package(archive, tmp_path / "x", [public])
    assert found.signed_by == described["SigningKeyId"]
    model = modelyard_edge.LoadedModel(found)
    assert model.self_test()["LabelAgreement"] == 1.0
    labels = model.predict(np.asarray([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32))["label"]
    assert list(labels) == ["setosa"]
    keys = plane.client.get_json("/edge/signing-keys")["SigningKeys"]
    assert [k["KeyName"] for k in keys] == ["fleet-key"]


def test_tampered_packages_are_refused_by_the_agent(plane: Plane, tmp_path: Path) -> None:
    public = plane.client.post_json("/edge/signing-keys", {"KeyName": "fleet-key"})["PublicKey"]
    compiled_forest(plane, tmp_path)
    package(plane, "iris-1", "rf", "1")
    data = plane.services.store.get_object("edge", "packages/iris-1.tar.gz")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(tmp_path / "p", filter="data")
    root = tmp_path / "p"
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["Postprocessing"]["Labels"] = ["a", "b", "c"]
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    with pytest.raises(modelyard_edge.TamperedPackageError, match="signature does not verify"):
        modelyard_edge.open_package(root, root, [public])


def test_an_unsigned_package_and_bad_requests(plane: Plane, tmp_path: Path) -> None:
    compiled_forest(plane, tmp_path)
    described = package(plane, "iris-u", "rf", "2", key=None)
    assert described["ModelSignature"] is None
    with pytest.raises(NotFoundError, match="signing key 'nope' does not exist"):
        plane.client.post_json(
            "/edge-packaging-jobs",
            {
                "EdgePackagingJobName": "x",
                "CompilationJobName": "rf",
                "ModelName": "iris",
                "ModelVersion": "3",
                "OutputConfig": {"S3OutputLocation": "s3://edge/p"},
                "ResourceKey": "nope",
            },
        )
    with pytest.raises(ValidationError, match="compilation job 'missing' does not exist"):
        plane.client.post_json(
            "/edge-packaging-jobs",
            {
                "EdgePackagingJobName": "x",
                "CompilationJobName": "missing",
                "ModelName": "iris",
                "ModelVersion": "3",
                "OutputConfig": {"S3OutputLocation": "s3://edge/p"},
            },
        )
    listed = plane.client.get_json("/edge-packaging-jobs")["EdgePackagingJobSummaries"]
    assert [s["EdgePackagingJobName"] for s in listed] == ["iris-u"]
