"""Image environments as virtualenvs of the server's interpreter, built once per spec hash.

Layout under ``images_dir`` (shared by every modelyard home on the machine):

=========================  ====================================================
``<spec hash>/env/``       the virtualenv (the image root); ``env/code/`` holds
                           the user's code when the spec has a code directory
``<spec hash>/build.log``  what ``venv`` and ``pip`` printed
``<spec hash>/READY``      written last, atomically: build metadata (JSON); a
                           directory without it is a crashed build and is rebuilt
``locks/<spec hash>.lock`` ``flock``-ed while building: concurrent builders of
                           one spec build it once, the others wait and reuse it
``toolkit/<hash>/``        the in-image toolkit layer (:mod:`.toolkit`)
``code/<digest>/``         snapshots of users' code directories
``specs/<spec hash>.json`` specs handed to build processes
=========================  ====================================================

A build is ``python -m venv --without-pip`` and then the *server's* pip installing
into it (``python -m pip --python <env python> install ...``, pip >= 22.3): no
pip is bootstrapped into each environment, which saves seconds and megabytes
per image. pip's own configuration (index, find-links, constraints) applies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import modelyard
from modelyard.errors import ImageBuildError, ValidationError
from modelyard.images.base import ImageBuilder
from modelyard.images.spec import IGNORED_NAMES, ImageSpec, digest_directory, server_python_version
from modelyard.images.toolkit import ensure_toolkit, link_toolkit, site_packages, unlink_toolkit
from modelyard.runtime.logfile import tail_lines
from modelyard.runtime.supervisor import write_atomic

READY_FILE = "READY"
BUILD_LOG = "build.log"
FAILURE_TAIL_LINES = 25


class VenvBuilder(ImageBuilder):
    """Builds and finds image environments under ``images_dir`` (see the module doc)."""

    def __init__(self, images_dir: Path, *, python: str | None = None) -> None:
        self.images_dir = Path(images_dir).expanduser()
        self.python = python or sys.executable

    # -- where things are --------------------------------------------------

    def build_dir(self, spec_hash: str) -> Path:
        return self.images_dir / spec_hash

    def env_dir(self, spec_hash: str) -> Path:
        return self.build_dir(spec_hash) / "env"

    def log_path(self, spec_hash: str) -> Path:
        return self.build_dir(spec_hash) / BUILD_LOG

    def spec_path(self, spec_hash: str) -> Path:
        return self.images_dir / "specs" / f"{spec_hash}.json"

    def ready_info(self, spec_hash: str) -> dict[str, Any] | None:
        """The build metadata of a finished build, ``None`` if not (completely) built."""
        try:
            info: dict[str, Any] = json.loads(
                (self.build_dir(spec_hash) / READY_FILE).read_text(encoding="utf-8")
            )
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return info

    def failure_tail(self, spec_hash: str, lines: int = FAILURE_TAIL_LINES) -> str:
        return "\n".join(tail_lines(self.log_path(spec_hash), lines))

    # -- checks and inputs -------------------------------------------------

    @staticmethod
    def check_buildable(spec: ImageSpec) -> None:
        """Refuse what this builder cannot make: an interpreter other than its own."""
        here = server_python_version()
        if spec.python_version != here:
            raise ValidationError(
                f"image {spec.name_tag} wants Python {spec.python_version}, but images are "
                f"virtualenvs of the server's interpreter, Python {here}: set PythonVersion "
                f"to {here!r} (or leave it out)",
                field="PythonVersion",
            )

    def snapshot_code(self, code_dir: Path) -> tuple[Path, str]:
        """Copy a user's code directory to ``code/<digest>/`` (once); its path and digest."""
        source = Path(code_dir).expanduser().resolve()
        if not source.is_dir():
            raise ValidationError(f"code directory {source} does not exist", field="CodeDir")
        digest = digest_directory(source)
        target = self.images_dir / "code" / digest
        if not target.exists():
            staging = target.with_name(f".{digest}.{os.getpid()}.tmp")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(source, staging, ignore=shutil.ignore_patterns(*IGNORED_NAMES, "*.pyc"))
            try:
                staging.rename(target)
            except OSError:
                shutil.rmtree(staging, ignore_errors=True)
        return target, digest

    def write_spec(self, spec: ImageSpec) -> Path:
        """The spec as a file, for a build process to read."""
        path = self.spec_path(spec.spec_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, spec.to_json())
        return path

    def build_command(self, spec: ImageSpec) -> list[str]:
        """``python -m modelyard.images.build <spec.json> <images_dir>`` (this interpreter)."""
        spec_path = self.write_spec(spec)
        return [self.python, "-m", "modelyard.images.build", str(spec_path), str(self.images_dir)]

    def build_env(self) -> dict[str, str]:
        """``PYTHONPATH`` = where this ``modelyard`` is, installed or run from a checkout."""
        return {"PYTHONPATH": str(Path(modelyard.__file__ or "").resolve().parent.parent)}

    # -- building ----------------------------------------------------------

    def ensure_built(self, spec: ImageSpec, *, out: IO[str] | None = None) -> Path:
        """The environment of ``spec``, built first if needed; returns the image root.

        A ready environment returns at once (only its toolkit link is refreshed).
        Concurrent callers for one spec, in any process, build it once.
        ``out`` receives progress lines (the build log has pip's output).
        """
        self.check_buildable(spec)
        spec_hash = spec.spec_hash
        if self.ready_info(spec_hash) is None:
            with self._lock(spec_hash, out):
                if self.ready_info(spec_hash) is None:
                    self._build(spec, out)
        self._refresh_toolkit(spec)
        return self.env_dir(spec_hash)

    def remove(self, spec_hash: str) -> None:
        """Delete a built environment (waits for a build of it to finish first)."""
        with self._lock(spec_hash, None):
            shutil.rmtree(self.build_dir(spec_hash), ignore_errors=True)

    @contextlib.contextmanager
    def _lock(self, spec_hash: str, out: IO[str] | None) -> Iterator[None]:
        lock_path = self.images_dir / "locks" / f"{spec_hash}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _say(out, f"another process is building {spec_hash[:12]}: waiting for it")
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _refresh_toolkit(self, spec: ImageSpec) -> None:
        env = self.env_dir(spec.spec_hash)
        if spec.include_toolkit:
            link_toolkit(env, spec.python_version, ensure_toolkit(self.images_dir))
        else:
            unlink_toolkit(env, spec.python_version)

    def _build(self, spec: ImageSpec, out: IO[str] | None) -> None:
        spec_hash = spec.spec_hash
        build_dir = self.build_dir(spec_hash)
        if build_dir.exists():
            _say(out, f"removing the unfinished build in {build_dir}")
            shutil.rmtree(build_dir)
        build_dir.mkdir(parents=True)
        env = self.env_dir(spec_hash)
        started = time.monotonic()
        _say(out, f"building {spec.name_tag} ({spec_hash[:12]}) in {build_dir}")
        with open(self.log_path(spec_hash), "w", encoding="utf-8") as log:
            _run(log, [self.python, "-m", "venv", "--without-pip", str(env)], "creating the venv")
            lines = spec.requirement_lines()
            if lines:
                requirements = build_dir / "requirements.txt"
                requirements.write_text("\n".join(lines) + "\n", encoding="utf-8")
                pip = [self.python, "-m", "pip", "--python", str(env / "bin" / "python")]
                install = ["install", "--no-input", "--progress-bar", "off"]
                _run(log, [*pip, *install, "-r", str(requirements)], "pip install")
            if spec.code_dir is not None:
                self._copy_code(spec, env, log)
            duration_s = time.monotonic() - started
            log.write(f"modelyard: built in {duration_s:.1f} s\n")
        info = {
            "spec_hash": spec_hash,
            "environment": spec.environment(),
            "python": self.python,
            "built_at": time.time(),
            "duration_s": round(duration_s, 3),
            "packages": _installed(site_packages(env, spec.python_version)),
        }
        write_atomic(build_dir / READY_FILE, json.dumps(info, indent=2))
        _say(out, f"built {spec.name_tag} in {duration_s:.1f} s")

    def _copy_code(self, spec: ImageSpec, env: Path, log: IO[str]) -> None:
        assert spec.code_dir is not None
        source = Path(spec.code_dir)
        if spec.code_digest is not None and digest_directory(source) != spec.code_digest:
            raise ImageBuildError(
                f"the code directory {source} changed since image {spec.name_tag} was "
                "registered: register the image again"
            )
        log.write(f"modelyard: copying code from {source} to {env / 'code'}\n")
        log.flush()
        shutil.copytree(source, env / "code", ignore=shutil.ignore_patterns(*IGNORED_NAMES))


def _say(out: IO[str] | None, message: str) -> None:
    if out is not None:
        out.write(f"{message}\n")
        out.flush()


def _run(log: IO[str], argv: list[str], what: str) -> None:
    log.write(f"$ {' '.join(argv)}\n")
    log.flush()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    try:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
        )
    except OSError as exc:
        raise ImageBuildError(f"{what} could not start: {exc}") from exc
    if result.returncode != 0:
        log.write(f"modelyard: {what} failed with exit code {result.returncode}\n")
        log.flush()
        raise ImageBuildError(f"{what} failed with exit code {result.returncode}")


def _installed(site: Path) -> dict[str, str]:
    """``{distribution: version}`` read from the ``*.dist-info`` directories."""
    found = {}
    for entry in sorted(site.glob("*.dist-info")):
        name, _, version = entry.name[: -len(".dist-info")].partition("-")
        found[name] = version
    return found
