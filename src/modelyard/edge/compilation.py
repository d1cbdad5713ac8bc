"""The compilation controller: CreateCompilationJob to a verified ONNX model.

Lifecycle (SageMaker's ``CompilationJobStatus``; each status written before its
side effect):

``STARTING``
    the request was validated (shape, framework, target, buckets, the artifact and
    sample objects exist) and the row written.
``INPROGRESS``
    the compile image (``<framework>-onnx:<version>``, :mod:`.compile_images`) is
    made ready (built once per machine); the artifact is fetched to
    ``<home>/jobs/compilation/<job>/model/`` (a ``model.tar.gz`` is extracted, any
    other object copied as it is); then ``python -m modelyard.edge.compile_entry``
    runs in the image through the Runtime (its handle id recorded), which converts,
    quantises, optimises and verifies (:mod:`.compile`).
``COMPLETED``
    ``model.onnx``, the self-test and the report, tarred to
    ``<S3OutputLocation>/<job>/model-<target>.tar.gz`` (``ModelArtifacts``); the report
    also as ``compilation-report.json`` beside it and in DescribeCompilationJob's
    ``CompilationReport``.
``FAILED``
    with the reason the entry point wrote (``ClientError: ... exceeds the tolerance
    ... by ...``) or ours.
``STOPPING`` / ``STOPPED``
    StopCompilationJob, or ``MaxRuntimeInSeconds`` passed.

This controller has its own small worker rather than :class:`modelyard.jobs.base.
JobController`, whose status vocabulary is the training job's (``InProgress``...): a
compilation is one process on one host. On a restart, jobs whose process was
launched are re-adopted and supervised again; the others fail with a reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import modelyard
from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.container.files import tar_directory
from modelyard.edge import compile_images
from modelyard.edge.compilation_describe import END_KEY, START_KEY, describe, summary
from modelyard.edge.compile import REPORT_FILE
from modelyard.edge.compile_entry import FAILURE_FILE
from modelyard.edge.compile_spec import (
    compiler_options,
    validate_compilation_request,
)
from modelyard.edge.compile_workdir import prepare_job_dir
from modelyard.errors import (
    AlreadyExistsError,
    ConflictError,
    IllegalTransitionError,
    ModelyardError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind, utcnow
from modelyard.images.registry import ImageRegistry
from modelyard.runtime.base import ContainerSpec, Handle, Runtime
from modelyard.store.base import Store
from modelyard.store.transfer import upload_file
from modelyard.store.uri import join, parse_s3_uri

log = logging.getLogger(__name__)

KIND = ResourceKind.COMPILATION_JOB
STARTING, INPROGRESS, COMPLETED, FAILED = "STARTING", "INPROGRESS", "COMPLETED", "FAILED"
STOPPING, STOPPED = "STOPPING", "STOPPED"
ACTIVE = (STARTING, INPROGRESS, STOPPING)
HANDLE_KEY = "Handle"
ENTRY_COMMAND = ["python", "-m", "modelyard.edge.compile_entry"]


class _StoppedError(Exception):
    pass


class CompilationController:
    """Runs compilation jobs (see the module doc); one per control-plane process."""

    def __init__(
        self,
        catalog: Catalog,
        store: Store,
        runtime: Runtime,
        images: ImageRegistry,
        settings: Settings,
        *,
        poll_interval_s: float = 0.1,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.runtime = runtime
        self.images = images
        self.settings = settings
        self.poll_interval_s = poll_interval_s
        self.jobs_dir = settings.home / "jobs" / "compilation"
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._shutdown = threading.Event()

    # -- the API's operations ------------------------------------------------

    def create(self, body: object) -> ResourceRecord:
        spec = validate_compilation_request(body)
        name = spec["CompilationJobName"]
        self._check_objects(spec)
        try:
            record = self.catalog.create(KIND, name, spec=spec, status=STARTING)
        except AlreadyExistsError as exc:
            raise AlreadyExistsError(
                f"compilation job {name!r} already exists", field="CompilationJobName"
            ) from exc
        self._start(name, resumed=False)
        return record

    def get(self, name: str) -> ResourceRecord:
        return self.catalog.get(KIND, name)

    def describe(self, name: str) -> dict[str, Any]:
        """DescribeCompilationJob's shape, plus ``CompilationReport`` (our verification)."""
        return describe(self.get(name))

    def list_summaries(self, **filters: Any) -> dict[str, Any]:
        page = self.catalog.list(KIND, **filters)
        body: dict[str, Any] = {"CompilationJobSummaries": [summary(r) for r in page.records]}
        if page.next_token:
            body["NextToken"] = page.next_token
        return body

    def stop(self, name: str) -> ResourceRecord:
        record = self.get(name)
        if record.status == STOPPING:
            return record
        try:
            return self.catalog.transition(KIND, name, STOPPING, message="Stop requested")
        except IllegalTransitionError as exc:
            raise ConflictError(
                f"compilation job {name!r} is {record.status}: only a running job can be stopped",
                field="CompilationJobStatus",
            ) from exc

    def delete(self, name: str) -> None:
        record = self.get(name)
        if record.status in ACTIVE:
            raise ConflictError(f"compilation job {name!r} is {record.status}: stop it first")
        self.catalog.delete(KIND, name)

    def logs(self, name: str) -> list[str]:
        handle_id = self.get(name).state.get(HANDLE_KEY)
        if not handle_id:
            return []
        try:
            return list(self.runtime.adopt(handle_id).logs())
        except NotFoundError:
            return []

    def wait(self, name: str, timeout_s: float = 600.0) -> ResourceRecord:
        """Block until the job has ended (for tests and the CLI's ``--wait``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            record = self.get(name)
            if record.status not in ACTIVE or time.monotonic() > deadline:
                return record
            time.sleep(0.2)

    # -- checks --------------------------------------------------------------

    def _check_objects(self, spec: dict[str, Any]) -> None:
        uri = parse_s3_uri(spec["InputConfig"]["S3Uri"], field="InputConfig.S3Uri")
        self._check_object(uri.bucket, uri.key, "InputConfig.S3Uri")
        output = parse_s3_uri(spec["OutputConfig"]["S3OutputLocation"])
        if not self.store.bucket_exists(output.bucket):
            raise ValidationError(
                f"OutputConfig.S3OutputLocation: the bucket {output.bucket!r} does not exist",
                field="OutputConfig.S3OutputLocation",
            )
        sample = compiler_options(spec["OutputConfig"].get("CompilerOptions")).get("Sample")
        if sample:
            parsed = parse_s3_uri(str(sample))
            self._check_object(parsed.bucket, parsed.key, "OutputConfig.CompilerOptions.Sample")

    def _check_object(self, bucket: str, key: str, field: str) -> None:
        try:
            self.store.head_object(bucket, key)
        except NotFoundError as exc:
            raise ValidationError(
                f"{field}: no object s3://{bucket}/{key} ({exc.message})", field=field
            ) from exc

    # -- the worker ----------------------------------------------------------

    def _start(self, name: str, *, resumed: bool) -> None:
        with self._lock:
            if name in self._threads:
                return
            thread = threading.Thread(
                target=self._work, args=(name, resumed), name=f"compile-{name}", daemon=True
            )
            self._threads[name] = thread
        thread.start()

    def _work(self, name: str, resumed: bool) -> None:
        try:
            handle = self._resume_handle(name) if resumed else self._prepare_and_launch(name)
            self._supervise(name, handle)
        except _StoppedError:
            self._end(name, STOPPED, None, {})
        except _ShuttingDownError:
            pass
        except ModelyardError as exc:
            self._end(name, FAILED, f"ClientError: {exc.message}", {})
        except Exception as exc:
            log.exception("compilation job %s failed in the platform", name)
            self._end(name, FAILED, f"InternalServerError: {type(exc).__name__}: {exc}", {})
        finally:
            with self._lock:
                self._threads.pop(name, None)

    def _check_stop(self, name: str) -> ResourceRecord:
        if self._shutdown.is_set():
            raise _ShuttingDownError
        record = self.get(name)
        if record.status == STOPPING:
            raise _StoppedError
        return record

    def _prepare_and_launch(self, name: str) -> Handle:
        record = self._check_stop(name)
        spec = record.spec
        try:
            self.catalog.transition(
                KIND,
                name,
                INPROGRESS,
                message="Preparing the compile image and the model",
                state_updates={START_KEY: utcnow().isoformat()},
            )
        except IllegalTransitionError as exc:
            raise _StoppedError from exc
        framework = spec["InputConfig"]["Framework"].lower()
        framework = {"scikit-learn": "sklearn", "torch": "pytorch"}.get(framework, framework)
        image_spec = compile_images.compile_image_spec(
            framework, spec["InputConfig"].get("FrameworkVersion")
        )
        tag = compile_images.ensure_registered(self.images, image_spec)
        image_root = self._image_root(name, tag)
        job_dir = self.jobs_dir / name
        config_path = prepare_job_dir(self.store, spec, framework, job_dir)
        self._check_stop(name)
        source_root = Path(modelyard.__file__ or "").resolve().parent.parent
        handle = self.runtime.launch(
            ContainerSpec(
                name=f"compilation-{name}",
                command=[*ENTRY_COMMAND, str(config_path)],
                image_root=image_root,
                env={"PYTHONPATH": str(source_root), "OMP_NUM_THREADS": "1"},
                workdir=job_dir,
                labels={"modelyard.kind": KIND.value, "modelyard.job": name},
            )
        )
        self.catalog.update(KIND, name, state_updates={HANDLE_KEY: handle.id})
        return handle

    def _image_root(self, name: str, tag: str) -> Path:
        while True:
            self._check_stop(name)
            try:
                return self.images.ensure_ready(tag, timeout_s=1.0)
            except ModelyardError:
                if self.images.get(tag).status != "Building":
                    raise

    def _resume_handle(self, name: str) -> Handle:
        handle_id = self.get(name).state.get(HANDLE_KEY)
        if not handle_id:
            raise RuntimeError("the server restarted before the compilation was launched")
        return self.runtime.adopt(handle_id)

    def _supervise(self, name: str, handle: Handle) -> None:
        record = self.get(name)
        limit_s = float(record.spec["StoppingCondition"]["MaxRuntimeInSeconds"])
        started = record.state.get(START_KEY)
        start = time.time() if not started else _epoch(started)
        while True:
            code = handle.wait(self.poll_interval_s)
            if code is not None:
                break
            if self._shutdown.is_set():
                raise _ShuttingDownError
            current = self.get(name)
            if current.status == STOPPING or time.time() - start > limit_s:
                if current.status != STOPPING:
                    with contextlib.suppress(IllegalTransitionError):
                        self.catalog.transition(
                            KIND,
                            name,
                            STOPPING,
                            message=f"MaxRuntimeInSeconds ({limit_s:g} s) exceeded",
                        )
                handle.stop(self.settings.stop_grace_s)
                raise _StoppedError
        self._collect(name, code)

    def _collect(self, name: str, exit_code: int) -> None:
        record = self.get(name)
        if record.status == STOPPING:
            raise _StoppedError
        out_dir = self.jobs_dir / name / "output"
        report = _read_json(out_dir / REPORT_FILE)
        failure = out_dir / FAILURE_FILE
        if exit_code != 0 or failure.exists():
            reason = (
                failure.read_text(encoding="utf-8").strip()
                if failure.exists()
                else f"PlatformError: the compiler exited with code {exit_code}"
            )
            self._end(name, FAILED, reason, {"CompilationReport": report} if report else {})
            return
        spec = record.spec
        target = report.get("Target", "onnx")
        archive = self.jobs_dir / name / f"model-{target}.tar.gz"
        tar_directory(out_dir, archive)
        base = join(spec["OutputConfig"]["S3OutputLocation"], name)
        artifact_uri = join(base, archive.name)
        upload_file(self.store, archive, artifact_uri, content_type="application/gzip")
        upload_file(
            self.store,
            out_dir / REPORT_FILE,
            join(base, REPORT_FILE),
            content_type="application/json",
        )
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        self._end(
            name,
            COMPLETED,
            None,
            {
                "ModelArtifacts": {"S3ModelArtifacts": artifact_uri},
                "ModelDigests": {"ArtifactDigest": f"sha256:{digest}"},
                "CompilationReport": report,
            },
        )

    def _end(self, name: str, status: str, reason: str | None, state: dict[str, Any]) -> None:
        state = {**state, END_KEY: utcnow().isoformat()}
        for _ in range(20):
            record = self.get(name)
            if record.status not in ACTIVE:
                return
            chosen = STOPPED if record.status == STOPPING and status == COMPLETED else status
            if record.status != STOPPING and chosen == STOPPED:
                self.catalog.transition(KIND, name, STOPPING, message="Stop requested")
                continue
            try:
                self.catalog.transition(
                    KIND,
                    name,
                    chosen,
                    failure_reason=reason[:1024] if reason else None,
                    state_updates=state,
                    expected_version=record.version,
                )
                return
            except (IllegalTransitionError, ModelyardError):
                continue

    # -- restarting ----------------------------------------------------------

    def reconcile(self) -> None:
        """Re-adopt launched compilations; fail the ones caught before their launch."""
        for status in ACTIVE:
            token = None
            while True:
                page = self.catalog.list(KIND, status=status, next_token=token)
                for record in page.records:
                    if record.state.get(HANDLE_KEY):
                        self._start(record.name, resumed=True)
                    elif record.status == STOPPING:
                        self._end(record.name, STOPPED, None, {})
                    else:
                        self._end(
                            record.name,
                            FAILED,
                            "InternalServerError: the server restarted before the compilation "
                            "was launched; create it again",
                            {},
                        )
                token = page.next_token
                if not token:
                    break

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop the workers (never the compilations: the next server re-adopts them)."""
        self._shutdown.set()
        with self._lock:
            threads = list(self._threads.values())
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


class _ShuttingDownError(Exception):
    pass


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, json.JSONDecodeError):
        return {}
