"""The edge packaging controller: CreateEdgePackagingJob to a signed, versioned package.

Request (botocore's shape): ``EdgePackagingJobName``, ``CompilationJobName`` (a
COMPLETED compilation job), ``ModelName``, ``ModelVersion``, ``RoleArn``,
``OutputConfig {S3OutputLocation, ...}``, ``ResourceKey`` (here: the name of a
signing key, :mod:`.signing`; without it the package is unsigned), ``Tags``; ours:
``Processing {Preprocessing, Postprocessing}`` (see :mod:`.package`).

The job runs in a worker thread of the server (no framework is needed):
``STARTING`` -> ``INPROGRESS`` (compiled artifact fetched, manifest built with the
sha256 of every file, signed) -> ``COMPLETED`` with the package at
``<S3OutputLocation>/<ModelName>-<ModelVersion>.tar.gz`` (``ModelArtifact``), its
``ModelSignature`` and ``PackageSha256``; or ``FAILED`` with a reason. A restart
runs unfinished jobs again (every step is idempotent).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.container.files import extract_tarball
from modelyard.edge.compile import REPORT_FILE
from modelyard.edge.package import build_manifest, manifest_bytes, sha256_file, write_package
from modelyard.edge.signing import SigningKeys
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    IllegalTransitionError,
    ModelyardError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind, validate_name
from modelyard.store.base import Store
from modelyard.store.transfer import download_file, upload_file
from modelyard.store.uri import join, parse_s3_uri

log = logging.getLogger(__name__)

KIND = ResourceKind.EDGE_PACKAGING_JOB
ACTIVE = ("STARTING", "INPROGRESS", "STOPPING")
MODEL_VERSION = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9.])*")
_KNOWN = {
    "EdgePackagingJobName",
    "CompilationJobName",
    "ModelName",
    "ModelVersion",
    "RoleArn",
    "OutputConfig",
    "ResourceKey",
    "Tags",
    "Processing",
}


def validate_packaging_request(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    unknown = sorted(set(body) - _KNOWN)
    if unknown:
        raise ValidationError(
            f"unknown field {unknown[0]!r}; use {', '.join(sorted(_KNOWN))}", field=unknown[0]
        )
    validate_name(body.get("EdgePackagingJobName"), KIND, field="EdgePackagingJobName")
    validate_name(
        body.get("CompilationJobName"), ResourceKind.COMPILATION_JOB, field="CompilationJobName"
    )
    validate_name(body.get("ModelName"), KIND, field="ModelName")
    version = body.get("ModelVersion")
    if not isinstance(version, str) or not MODEL_VERSION.fullmatch(version) or len(version) > 20:
        raise ValidationError(
            f"ModelVersion={version!r}: use 1-20 letters, digits, '.' and '-'", field="ModelVersion"
        )
    output = body.get("OutputConfig")
    if not isinstance(output, dict) or not output.get("S3OutputLocation"):
        raise ValidationError(
            "OutputConfig.S3OutputLocation is required", field="OutputConfig.S3OutputLocation"
        )
    parse_s3_uri(output["S3OutputLocation"], field="OutputConfig.S3OutputLocation")
    processing = body.get("Processing") or {}
    if not isinstance(processing, dict) or set(processing) - {"Preprocessing", "Postprocessing"}:
        raise ValidationError(
            "Processing takes Preprocessing and Postprocessing objects", field="Processing"
        )
    return dict(body)


class PackagingController:
    def __init__(self, catalog: Catalog, store: Store, settings: Settings) -> None:
        self.catalog = catalog
        self.store = store
        self.settings = settings
        self.keys = SigningKeys(settings.home / "edge" / "keys")
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def create(self, body: object) -> ResourceRecord:
        spec = validate_packaging_request(body)
        name = spec["EdgePackagingJobName"]
        compilation = self._compilation(spec["CompilationJobName"])
        if compilation.status != "COMPLETED":
            raise ValidationError(
                f"compilation job {compilation.name!r} is {compilation.status}: only a COMPLETED "
                "one can be packaged",
                field="CompilationJobName",
            )
        if spec.get("ResourceKey"):
            self.keys.public_key(str(spec["ResourceKey"]))  # exists?
        bucket = parse_s3_uri(spec["OutputConfig"]["S3OutputLocation"]).bucket
        if not self.store.bucket_exists(bucket):
            raise ValidationError(
                f"the bucket {bucket!r} does not exist", field="OutputConfig.S3OutputLocation"
            )
        try:
            record = self.catalog.create(KIND, name, spec=spec, status="STARTING")
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"edge packaging job {name!r} already exists", field="EdgePackagingJobName"
            ) from exc
        self._start(name)
        return record

    def _compilation(self, name: str) -> ResourceRecord:
        try:
            return self.catalog.get(ResourceKind.COMPILATION_JOB, name)
        except NotFoundError as exc:
            raise ValidationError(
                f"compilation job {name!r} does not exist", field="CompilationJobName"
            ) from exc

    def get(self, name: str) -> ResourceRecord:
        return self.catalog.get(KIND, name)

    def describe(self, name: str) -> dict[str, Any]:
        return describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {"EdgePackagingJobSummaries": [summary(r) for r in page.records]}
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def stop(self, name: str) -> None:
        try:
            self.catalog.transition(KIND, name, "STOPPING", message="Stop requested")
        except IllegalTransitionError as exc:
            raise ConflictError(f"edge packaging job {name!r} is not running") from exc

    def wait(self, name: str, timeout_s: float = 60.0) -> ResourceRecord:
        import time

        deadline = time.monotonic() + timeout_s
        while True:
            record = self.get(name)
            if record.status not in ACTIVE or time.monotonic() > deadline:
                return record
            time.sleep(0.05)

    def reconcile(self) -> None:
        for status in ACTIVE:
            for record in self.catalog.list(KIND, status=status).records:
                self._start(record.name)

    def _start(self, name: str) -> None:
        with self._lock:
            if name in self._threads:
                return
            thread = threading.Thread(
                target=self._work, args=(name,), daemon=True, name=f"package-{name}"
            )
            self._threads[name] = thread
        thread.start()

    def _work(self, name: str) -> None:
        try:
            record = self.get(name)
            if record.status == "STARTING":
                record = self.catalog.transition(
                    KIND, name, "INPROGRESS", message="Building the package"
                )
            if record.status == "STOPPING":
                self.catalog.transition(KIND, name, "STOPPED")
                return
            state = self._package(record)
            self._end(name, "COMPLETED", None, state)
        except ModelyardError as exc:
            self._end(name, "FAILED", f"ClientError: {exc.message}", {})
        except Exception as exc:
            log.exception("edge packaging job %s failed", name)
            self._end(name, "FAILED", f"InternalServerError: {type(exc).__name__}: {exc}", {})
        finally:
            with self._lock:
                self._threads.pop(name, None)

    def _package(self, record: ResourceRecord) -> dict[str, Any]:
        spec = record.spec
        compilation = self._compilation(spec["CompilationJobName"])
        artifact = (compilation.state.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if not artifact:
            raise ValidationError(f"compilation job {compilation.name!r} has no artifact")
        with tempfile.TemporaryDirectory(prefix="modelyard-package-") as scratch:
            work = Path(scratch)
            tarball = download_file(self.store, artifact, work / "compiled.tar.gz")
            content = work / "content"
            extract_tarball(tarball, content)
            report = json.loads((content / REPORT_FILE).read_text(encoding="utf-8"))
            processing = spec.get("Processing") or {}
            manifest = build_manifest(
                content,
                name=spec["ModelName"],
                version=spec["ModelVersion"],
                report=report,
                compilation_job=compilation.name,
                preprocessing=processing.get("Preprocessing"),
                postprocessing=processing.get("Postprocessing"),
            )
            key = spec.get("ResourceKey")
            signature = self.keys.sign(str(key), manifest_bytes(manifest)) if key else None
            file_name = f"{spec['ModelName']}-{spec['ModelVersion']}.tar.gz"
            package = write_package(content, manifest, work / file_name, signature)
            uri = join(spec["OutputConfig"]["S3OutputLocation"], file_name)
            upload_file(self.store, package, uri, content_type="application/gzip")
            digest = sha256_file(package)
            size = package.stat().st_size
        return {
            "ModelArtifact": uri,
            "ModelSignature": signature["Signature"] if signature else None,
            "SigningKeyId": signature["KeyId"] if signature else None,
            "PackageSha256": digest,
            "PackageSizeBytes": size,
            "Manifest": {k: v for k, v in manifest.items() if k != "Files"},
        }

    def _end(self, name: str, status: str, reason: str | None, state: dict[str, Any]) -> None:
        with contextlib.suppress(ModelyardError):
            current = self.get(name).status
            if current == "STOPPING":
                status = "STOPPED" if status == "COMPLETED" else status
            self.catalog.transition(KIND, name, status, failure_reason=reason, state_updates=state)


def describe(record: ResourceRecord) -> dict[str, Any]:
    spec, state = record.spec, record.state
    return {
        "EdgePackagingJobArn": record.arn,
        "EdgePackagingJobName": record.name,
        "CompilationJobName": spec["CompilationJobName"],
        "ModelName": spec["ModelName"],
        "ModelVersion": spec["ModelVersion"],
        "RoleArn": spec.get("RoleArn"),
        "OutputConfig": spec["OutputConfig"],
        "ResourceKey": spec.get("ResourceKey"),
        "EdgePackagingJobStatus": record.status,
        "EdgePackagingJobStatusMessage": record.failure_reason or None,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.updated_at,
        "ModelArtifact": state.get("ModelArtifact"),
        "ModelSignature": state.get("ModelSignature"),
        "SigningKeyId": state.get("SigningKeyId"),
        "PackageSha256": state.get("PackageSha256"),
        "PackageSizeBytes": state.get("PackageSizeBytes"),
        "Manifest": state.get("Manifest"),
    }


def summary(record: ResourceRecord) -> dict[str, Any]:
    return {
        "EdgePackagingJobArn": record.arn,
        "EdgePackagingJobName": record.name,
        "EdgePackagingJobStatus": record.status,
        "CompilationJobName": record.spec["CompilationJobName"],
        "ModelName": record.spec["ModelName"],
        "ModelVersion": record.spec["ModelVersion"],
        "CreationTime": record.created_at,
        "LastModifiedTime": record.updated_at,
    }
