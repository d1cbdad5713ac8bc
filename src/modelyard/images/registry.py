"""The image registry: ``name:tag`` -> spec, status and built environment.

Images are catalog resources of kind ``image``. Statuses: ``Building`` (with the
secondary status ``Pending`` while registered but never built: describe shows
``ImageStatus: Pending``), ``Ready`` and ``Failed``.

Catalog names cannot hold ``:``, and both an image name and a tag may contain
``-`` and ``.``, so no separator makes ``name-tag`` reversible. The catalog name is
therefore a *function* of ``name:tag``, never parsed back: ``<name>-<tag>-<first 8
hex of sha256("name:tag")>`` (sanitized to the image-name pattern, at most 63
characters, e.g. ``sklearn-1.5-3f0c2a91``); the real name and tag are kept in the
spec (``ImageName``, ``ImageTag``).

A build is a container (``python -m modelyard.images.build``) launched through the
Runtime; its handle id is recorded in the catalog *after* the record says
``Building``, so a server restart loses nothing: :meth:`ImageRegistry.reconcile`
adopts builds still running, and a finished one is marked ``Ready`` / ``Failed``
(the reason being the tail of its build log) by whoever looks at it next
(:meth:`get`, :meth:`list`, :meth:`ensure_ready`...).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from modelyard.catalog.base import Catalog, ResourceRecord
from modelyard.config import Settings
from modelyard.errors import (
    AlreadyExistsError,
    ConcurrentUpdateError,
    ConflictError,
    IllegalTransitionError,
    ImageBuildError,
    ModelyardError,
    NotFoundError,
    ValidationError,
)
from modelyard.ids import ResourceKind, utcnow
from modelyard.images import frameworks
from modelyard.images.base import ImageBuilder
from modelyard.images.spec import ImageSpec, parse_name_tag
from modelyard.runtime.base import ContainerSpec, Handle, Runtime
from modelyard.runtime.logfile import read_log_lines, tail_lines

KIND = ResourceKind.IMAGE
BUILDING = "Building"
READY = "Ready"
FAILED = "Failed"
#: Secondary status of an image registered but not built yet.
PENDING = "Pending"
#: SageMaker's limit on ``FailureReason``.
MAX_FAILURE_REASON = 1024


def catalog_name(name: str, tag: str) -> str:
    """The catalog name of ``name:tag`` (see the module doc)."""
    suffix = hashlib.sha256(f"{name}:{tag}".encode()).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9.]", "-", f"{name}-{tag}")
    base = re.sub(r"[-.]{2,}", "-", base).strip("-.")
    base = base[: 63 - len(suffix) - 1].rstrip("-.")
    return f"{base}-{suffix}" if base else suffix


class ImageRegistry:
    """Registers, builds and finds images; one per control-plane process."""

    def __init__(
        self, catalog: Catalog, runtime: Runtime, builder: ImageBuilder, settings: Settings
    ) -> None:
        self.catalog = catalog
        self.runtime = runtime
        self.builder = builder
        self.settings = settings

    # -- registering -------------------------------------------------------

    def register(self, spec: ImageSpec) -> ResourceRecord:
        """Record a new image (no build yet); ``AlreadyExistsError`` if the name:tag is taken.

        A spec whose environment is already in the machine's image cache is
        ``Ready`` at once.
        """
        self.builder.check_buildable(spec)
        if spec.code_dir is not None and spec.code_digest is None:
            snapshot, digest = self.builder.snapshot_code(spec.code_dir)
            spec = spec.model_copy(update={"code_dir": snapshot, "code_digest": digest})
        name = catalog_name(spec.name, spec.tag)
        if self._find(name) is not None:
            raise AlreadyExistsError(
                f"image {spec.name_tag} already exists: remove it first", field="ImageTag"
            )
        record = self.catalog.create(
            KIND, name, spec=spec.to_request(), status=BUILDING, state=self._state_of(spec)
        )
        return self._mark_registered(record, spec)

    def register_request(self, body: dict[str, Any]) -> ResourceRecord:
        """:meth:`register` from an API request body (``Name``, ``Tag``, ``Packages``...)."""
        return self.register(ImageSpec.from_request(body))

    def register_from_requirements(
        self,
        name: str,
        tag: str,
        requirements_file: Path,
        code_dir: Path | None = None,
        *,
        entry_point: str | None = None,
    ) -> ResourceRecord:
        """A user's image: a requirements file plus, optionally, a code directory."""
        try:
            requirements = Path(requirements_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(
                f"cannot read the requirements file {requirements_file}: {exc}",
                field="Requirements",
            ) from exc
        spec = ImageSpec.parse(
            {
                "name": name,
                "tag": tag,
                "requirements": requirements,
                "code_dir": code_dir,
                "entry_point": entry_point,
            }
        )
        return self.register(spec)

    def framework_image(self, framework: str, version: str) -> str:
        """The ``name:tag`` of a framework image (``sklearn:1.5``), registered if needed.

        Refuses versions that cannot install on the server's Python, naming those that can.
        """
        chosen = frameworks.resolve(framework, version)
        spec = chosen.image_spec()
        name = catalog_name(spec.name, spec.tag)
        record = self._find(name)
        if record is None:
            with contextlib.suppress(AlreadyExistsError):
                self.register(spec)
        elif record.state.get("SpecHash") != spec.spec_hash and not self._is_building(record):
            # The pins of this framework version changed (a newer modelyard).
            record = self.catalog.update(KIND, name, spec=spec.to_request())
            record = self.catalog.transition(
                KIND,
                name,
                BUILDING,
                secondary_status=PENDING,
                failure_reason="",
                state_updates=self._state_of(spec),
                message="framework pins changed",
            )
            self._mark_registered(record, spec)
        return chosen.name_tag

    def register_frameworks(self) -> builtins.list[str]:
        """Register every framework image that installs here (cheap: nothing is built)."""
        return [self.framework_image(fv.framework, fv.version) for fv in frameworks.all_buildable()]

    # -- reading -----------------------------------------------------------

    def get(self, name_tag: str) -> ResourceRecord:
        """The image's record, its build status brought up to date first."""
        name, tag = parse_name_tag(name_tag)
        record = self._find(catalog_name(name, tag))
        if record is None:
            raise NotFoundError(f"image {name}:{tag} does not exist")
        return self._refresh(record)

    def list(self) -> builtins.list[ResourceRecord]:
        """Every image, by name, build statuses brought up to date."""
        records: builtins.list[ResourceRecord] = []
        token = None
        while True:
            page = self.catalog.list(
                KIND, sort_by="Name", sort_order="Ascending", max_results=100, next_token=token
            )
            records.extend(self._refresh(r) for r in page.records)
            token = page.next_token
            if not token:
                return records

    def spec_of(self, record: ResourceRecord) -> ImageSpec:
        return ImageSpec.from_request(record.spec)

    def describe(self, name_tag: str) -> dict[str, Any]:
        return self.describe_record(self.get(name_tag))

    def describe_record(self, record: ResourceRecord) -> dict[str, Any]:
        """The describe shape (PascalCase) of an image record."""
        spec = self.spec_of(record)
        spec_hash = spec.spec_hash
        ready = record.status == READY
        info = self.builder.ready_info(spec_hash) if ready else None
        return {
            "ImageName": spec.name,
            "ImageTag": spec.tag,
            "ImageArn": record.arn,
            "ImageStatus": status_of(record),
            "FailureReason": record.failure_reason or None,
            "Packages": list(spec.packages),
            "Requirements": spec.requirements,
            "PythonVersion": spec.python_version,
            "IncludeToolkit": spec.include_toolkit,
            "EntryPoint": spec.entry_point,
            "CodeDir": str(spec.code_dir) if spec.code_dir else None,
            "Framework": spec.framework,
            "FrameworkVersion": spec.framework_version,
            "SpecHash": spec_hash,
            "EnvironmentPath": str(self.builder.env_dir(spec_hash)) if ready else None,
            "BuildDurationSeconds": info.get("duration_s") if info else None,
            "CreationTime": record.created_at,
            "LastModifiedTime": record.updated_at,
            "BuildLogPath": str(self.builder.log_path(spec_hash)),
        }

    def logs(self, name_tag: str, *, follow: bool = False, since_line: int = 0) -> Iterator[str]:
        """The build log's lines; ``follow`` streams them until the running build ends."""
        record = self.get(name_tag)
        spec_hash = self.spec_of(record).spec_hash
        handle = self._build_handle(record)

        def running() -> bool:
            if handle is None:
                return False
            try:
                return handle.is_running()
            except ModelyardError:  # the finished build's container was cleaned up
                return False

        return read_log_lines(
            self.builder.log_path(spec_hash),
            since_line=since_line,
            follow=follow,
            is_running=running,
        )

    # -- building ----------------------------------------------------------

    def build(self, name_tag: str, *, wait: bool = False) -> ResourceRecord:
        """Build the image's environment in a build container; a ready one returns at once.

        With ``wait`` the call returns when the build has ended (``Ready`` or
        ``Failed``); otherwise right after the build was launched.
        """
        record = self.get(name_tag)
        spec = self.spec_of(record)
        if not self._is_building(record):
            if record.status == READY and self.builder.is_ready(spec):
                return record
            try:
                record = self._start_build(record, spec)
            except ConcurrentUpdateError:
                record = self.get(name_tag)  # somebody else started it: join that build
        return self._wait(name_tag) if wait else record

    def ensure_ready(self, name_tag: str, *, timeout_s: float | None = None) -> Path:
        """The image's environment root, built on first use; ``ImageBuildError`` if it fails."""
        record = self.get(name_tag)
        spec = self.spec_of(record)
        if not (record.status == READY and self.builder.is_ready(spec)):
            self.build(name_tag)
            record = self._wait(name_tag, timeout_s=timeout_s)
        if record.status != READY:
            if self._is_building(record):
                raise ImageBuildError(f"image {name_tag} is still building after {timeout_s} s")
            raise ImageBuildError(
                f"image {name_tag} could not be built: {record.failure_reason or 'unknown'}"
            )
        return self.builder.ensure_built(spec)  # ready: only refreshes the toolkit link

    def remove(self, name_tag: str) -> None:
        """Forget an image (its environment stays in the shared cache); 409 while building."""
        record = self.get(name_tag)
        if self._is_building(record):
            raise ConflictError(
                f"image {name_tag} is being built: wait for the build to end before removing it"
            )
        self.catalog.delete(KIND, record.name)

    def reconcile(self) -> None:
        """Make the catalog match reality after a (re)start.

        Framework images are registered; builds still running are adopted (their
        handle id is in the catalog); finished ones become Ready or Failed; a build
        whose container was never recorded (the server died while launching it) is
        launched again: the builder's lock makes it join any build still running.
        """
        self.register_frameworks()
        for record in self.list():
            if not self._is_building(record) or record.state.get("BuildHandle"):
                continue
            spec = self.spec_of(record)
            if self.builder.is_ready(spec):
                self._finish(record, exit_code=0, handle_id=None)
            else:
                with contextlib.suppress(ConcurrentUpdateError):
                    self._start_build(record, spec)

    # -- internals ---------------------------------------------------------

    def _find(self, name: str) -> ResourceRecord | None:
        try:
            return self.catalog.get(KIND, name)
        except NotFoundError:
            return None

    def _state_of(self, spec: ImageSpec) -> dict[str, Any]:
        return {"SpecHash": spec.spec_hash, "BuildHandle": None}

    def _mark_registered(self, record: ResourceRecord, spec: ImageSpec) -> ResourceRecord:
        if self.builder.is_ready(spec):
            return self._finish(record, exit_code=0, handle_id=None)
        return self.catalog.transition(
            KIND, record.name, BUILDING, secondary_status=PENDING, message="registered"
        )

    @staticmethod
    def _is_building(record: ResourceRecord) -> bool:
        return record.status == BUILDING and record.secondary_status != PENDING

    def _build_handle(self, record: ResourceRecord) -> Handle | None:
        handle_id = record.state.get("BuildHandle")
        if not handle_id:
            return None
        try:
            return self.runtime.adopt(handle_id)
        except NotFoundError:
            return None

    def _start_build(self, record: ResourceRecord, spec: ImageSpec) -> ResourceRecord:
        """Say ``Building`` first, then launch the build container, then record its handle."""
        command = self.builder.build_command(spec)
        record = self.catalog.transition(
            KIND,
            record.name,
            BUILDING,
            secondary_status=BUILDING,
            state_updates={"BuildHandle": None, "BuildStartedAt": utcnow().isoformat()},
            message="build started",
            expected_version=record.version,
        )
        container = ContainerSpec(
            name=f"image-build-{record.name}",
            command=command,
            env=self.builder.build_env(),
            labels={"modelyard.kind": "image-build", "modelyard.image": spec.name_tag},
        )
        try:
            handle = self.runtime.launch(container)
        except Exception as exc:
            self.catalog.transition(
                KIND, record.name, FAILED, failure_reason=f"the build could not start: {exc}"
            )
            raise
        return self.catalog.update(KIND, record.name, state_updates={"BuildHandle": handle.id})

    def _wait(self, name_tag: str, *, timeout_s: float | None = None) -> ResourceRecord:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            record = self.get(name_tag)
            if not self._is_building(record):
                return record
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return record
            handle = self._build_handle(record)
            if handle is None:
                time.sleep(0.05)  # the launch is being recorded
            else:
                handle.wait(remaining)

    def _refresh(self, record: ResourceRecord) -> ResourceRecord:
        """Finish the record of a build that has ended (its exit code is known)."""
        if not self._is_building(record):
            return record
        handle_id = record.state.get("BuildHandle")
        if not handle_id:
            return record
        try:
            exit_code = self.runtime.adopt(handle_id).exit_code()
        except NotFoundError:
            # The build container's state is gone: judge by the environment itself.
            exit_code = 0 if self.builder.is_ready(self.spec_of(record)) else -1
        if exit_code is None:
            return record
        return self._finish(record, exit_code=exit_code, handle_id=handle_id)

    def _finish(
        self, record: ResourceRecord, *, exit_code: int, handle_id: str | None
    ) -> ResourceRecord:
        spec = self.spec_of(record)
        try:
            if exit_code == 0 and self.builder.is_ready(spec):
                record = self.catalog.transition(
                    KIND,
                    record.name,
                    READY,
                    secondary_status=READY,
                    failure_reason="",
                    state_updates={"BuildHandle": None, "LastBuildHandle": handle_id},
                    message="built",
                    expected_version=record.version,
                )
            else:
                record = self.catalog.transition(
                    KIND,
                    record.name,
                    FAILED,
                    secondary_status=FAILED,
                    failure_reason=self._failure_reason(spec, exit_code, handle_id),
                    state_updates={"BuildHandle": None, "LastBuildHandle": handle_id},
                    message="build failed",
                    expected_version=record.version,
                )
        except (ConcurrentUpdateError, IllegalTransitionError):
            return self.catalog.get(KIND, record.name)  # somebody else finished it
        if handle_id is not None and exit_code == 0:
            with contextlib.suppress(ModelyardError):
                self.runtime.remove(handle_id)
        return record

    def _failure_reason(self, spec: ImageSpec, exit_code: int, handle_id: str | None) -> str:
        lines = tail_lines(self.builder.log_path(spec.spec_hash), 25)
        if not lines and handle_id is not None:
            with contextlib.suppress(ModelyardError):
                lines = list(self.runtime.adopt(handle_id).logs())[-25:]
        text = "\n".join(lines) or "no build log was written"
        head = f"build exited with code {exit_code}; end of its log:\n"
        room = MAX_FAILURE_REASON - len(head)
        if len(text) > room:
            text = "..." + text[-(room - 3) :]
        return head + text


def status_of(record: ResourceRecord) -> str:
    """``ImageStatus``: the catalog status, or ``Pending`` for a never-built image."""
    if record.status == BUILDING and record.secondary_status == PENDING:
        return PENDING
    return record.status
