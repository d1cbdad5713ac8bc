"""The edge agent: serves the current package, switches packages atomically, syncs when it can.

On disk under ``root``::

    packages/<name>-<version>/   verified, extracted packages (the last few kept)
    current.json                 the package in use (written atomically after a switch)
    captures/                    the capture buffer (:mod:`modelyard_edge.buffer`)
    downloads/                   packages being fetched

**Switching** (:meth:`EdgeAgent.install`): the new package is verified (hashes,
signature), loaded into its own onnxruntime session and self-tested *beside* the
one serving; only then is the model pointer swapped (one assignment: a request
runs wholly on the old or wholly on the new model). A package that fails any step
is refused, the previous one keeps serving, and the failed version is reported in
the next heartbeat.

**Offline**: serving never touches the network. :meth:`EdgeAgent.sync_once` does
one round with the control plane (heartbeat, deployment check and update, capture
upload); the sync thread repeats it every ``heartbeat_interval_s`` and backs off
exponentially while the control plane is unreachable.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelyard_edge import __version__
from modelyard_edge.buffer import CaptureBuffer
from modelyard_edge.model import LoadedModel
from modelyard_edge.package import PackageError, open_package
from modelyard_edge.sync import Backoff, ControlPlane, ControlPlaneUnavailableError

log = logging.getLogger("modelyard_edge")
CURRENT_FILE = "current.json"
KEEP_PACKAGES = 3


class NoModelError(RuntimeError):
    """No package is loaded yet."""


class UpdateRejectedError(PackageError):
    """A package was refused; the previous one still serves."""


@dataclass
class AgentConfig:
    root: Path
    device: str = field(default_factory=socket.gethostname)
    fleet: str | None = None
    control_plane: str | None = None
    token: str | None = None
    trusted_keys: list[str] = field(default_factory=list)
    require_signature: bool = False
    capture_percentage: float = 100.0
    buffer_max_bytes: int = 16 << 20
    buffer_segment_bytes: int = 256 << 10
    heartbeat_interval_s: float = 30.0
    max_backoff_s: float = 300.0
    upload_batch_segments: int = 8
    threads: int = 1


@dataclass
class _Metrics:
    requests: int = 0
    errors: int = 0
    latency_total_ms: float = 0.0
    latency_max_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, latency_ms: float, ok: bool) -> None:
        with self.lock:
            self.requests += 1
            self.errors += 0 if ok else 1
            self.latency_total_ms += latency_ms
            self.latency_max_ms = max(self.latency_max_ms, latency_ms)

    def snapshot(self) -> dict[str, float]:
        with self.lock:
            mean = self.latency_total_ms / self.requests if self.requests else 0.0
            return {
                "Invocations": self.requests,
                "InvocationErrors": self.errors,
                "ModelLatencyMeanMs": round(mean, 3),
                "ModelLatencyMaxMs": round(self.latency_max_ms, 3),
            }


class EdgeAgent:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.root = config.root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "packages").mkdir(exist_ok=True)
        (self.root / "downloads").mkdir(exist_ok=True)
        self.buffer = CaptureBuffer(
            self.root / "captures",
            max_bytes=config.buffer_max_bytes,
            segment_bytes=config.buffer_segment_bytes,
        )
        self.metrics = _Metrics()
        self._model: LoadedModel | None = None
        self._install_lock = threading.Lock()
        self.failed_update: dict[str, Any] | None = None
        self._failed_digests: set[str] = set()
        self.last_sync: dict[str, Any] = {}
        self.control_plane = (
            ControlPlane(config.control_plane, token=config.token) if config.control_plane else None
        )
        self._stop = threading.Event()
        self._sync_thread: threading.Thread | None = None

    # -- the model in use --------------------------------------------------------

    @property
    def model(self) -> LoadedModel:
        model = self._model
        if model is None:
            raise NoModelError("no package is loaded: install one, or wait for the control plane")
        return model

    @property
    def version(self) -> str | None:
        model = self._model
        return model.version if model is not None else None

    def load_current(self) -> bool:
        """Serve the package ``current.json`` names (after a restart); False if there is none."""
        try:
            current = json.loads((self.root / CURRENT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        package = open_package(
            Path(current["Path"]),
            self.root / "unused",
            self.config.trusted_keys,
            require_signature=self.config.require_signature,
        )
        self._model = LoadedModel(package, threads=self.config.threads)
        return True

    def install(self, source: Path) -> LoadedModel:
        """Verify, load and self-test ``source``; switch to it, or raise and keep the old one."""
        with self._install_lock:
            staging = self.root / "packages" / f".staging-{uuid.uuid4().hex[:8]}"
            try:
                if source.is_dir():  # a copy: the agent owns what it serves
                    shutil.copytree(source, staging)
                package = open_package(
                    staging if source.is_dir() else source,
                    staging,
                    self.config.trusted_keys,
                    require_signature=self.config.require_signature,
                )
                final = self.root / "packages" / f"{package.name}-{package.version}"
                if final.exists():  # reinstalled: never touch the directory in use
                    final = final.with_name(f"{final.name}-{uuid.uuid4().hex[:8]}")
                if package.root == staging:
                    staging.rename(final)
                    package = open_package(
                        final,
                        final,
                        self.config.trusted_keys,
                        require_signature=self.config.require_signature,
                    )
                candidate = LoadedModel(package, threads=self.config.threads)
                report = candidate.self_test()
            except (PackageError, OSError) as exc:
                shutil.rmtree(staging, ignore_errors=True)
                self.failed_update = {"Source": str(source), "Reason": str(exc), "Time": _now()}
                log.error(
                    "package %s refused, %s keeps serving: %s",
                    source,
                    self.version or "nothing",
                    exc,
                )
                raise UpdateRejectedError(str(exc)) from exc
            previous = self._model
            self._model = candidate  # the switch: one reference assignment
            self._write_current(package.root, package.name, package.version)
            self.failed_update = None
            log.info("now serving %s %s (self-test %s)", package.name, package.version, report)
            self._prune(keep={package.root, previous.package.root if previous else package.root})
            return candidate

    def _write_current(self, path: Path, name: str, version: str) -> None:
        target = self.root / CURRENT_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps({"Path": str(path), "Name": name, "Version": version}))
        temporary.replace(target)

    def _prune(self, keep: set[Path]) -> None:
        found = sorted(
            (p for p in (self.root / "packages").iterdir() if p.is_dir() and p not in keep),
            key=lambda p: p.stat().st_mtime,
        )
        for old in found[: max(0, len(found) - (KEEP_PACKAGES - len(keep)))]:
            shutil.rmtree(old, ignore_errors=True)

    # -- predicting --------------------------------------------------------------

    def predict(self, data: Any) -> dict[str, Any]:
        """Outputs by name; the request is captured (as configured) and measured."""
        model = self.model
        started = time.perf_counter()
        try:
            outputs = model.predict(data)
        except Exception:
            self.metrics.record((time.perf_counter() - started) * 1000, ok=False)
            raise
        latency_ms = (time.perf_counter() - started) * 1000
        self.metrics.record(latency_ms, ok=True)
        if self.config.capture_percentage >= 100 or (
            random.random() * 100 < self.config.capture_percentage
        ):
            self._capture(model.version, data, outputs, latency_ms)
        return outputs

    def _capture(self, version: str, data: Any, outputs: dict[str, Any], latency_ms: float) -> None:
        try:
            self.buffer.append(
                {
                    "Type": "capture",
                    "Time": _now(),
                    "ModelVersion": version,
                    "Input": data,
                    "Output": outputs,
                    "LatencyMs": round(latency_ms, 3),
                }
            )
        except OSError:
            log.warning("capture not buffered (disk)", exc_info=True)

    # -- syncing -----------------------------------------------------------------

    def heartbeat_report(self) -> dict[str, Any]:
        model = self._model
        return {
            "DeviceName": self.config.device,
            "DeviceFleetName": self.config.fleet,
            "AgentVersion": __version__,
            "Models": [{"ModelName": model.package.name, "ModelVersion": model.version}]
            if model
            else [],
            "Metrics": self.metrics.snapshot(),
            "CapturesPending": self.buffer.pending_records(),
            "CapturesDropped": self.buffer.dropped,
            "FailedUpdate": self.failed_update,
            "Time": _now(),
        }

    def sync_once(self) -> dict[str, Any]:
        """One round: heartbeat, update to the fleet's deployment, upload captures."""
        if self.control_plane is None:
            raise ControlPlaneUnavailableError("no control plane is configured")
        self.buffer.append({"Type": "metrics", "Time": _now(), **self.metrics.snapshot()})
        result: dict[str, Any] = {
            "Heartbeat": self.control_plane.heartbeat(self.config.device, self.heartbeat_report())
        }
        if self.config.fleet:
            deployment = self.control_plane.deployment(self.config.fleet)
            result["Deployment"] = deployment
            if deployment and self._wants(deployment):
                result["Update"] = self._update(deployment)
        result["Uploaded"] = self._upload()
        self.last_sync = {"Time": _now(), **{k: v for k, v in result.items() if k != "Heartbeat"}}
        return result

    def _wants(self, deployment: dict[str, Any]) -> bool:
        digest = str(deployment.get("PackageSha256") or deployment.get("PackageUri"))
        return deployment.get("ModelVersion") != self.version and digest not in self._failed_digests

    def _update(self, deployment: dict[str, Any]) -> str:
        assert self.control_plane is not None
        digest = str(deployment.get("PackageSha256") or deployment.get("PackageUri"))
        target = self.root / "downloads" / f"package-{uuid.uuid4().hex[:8]}.tar.gz"
        try:
            self.control_plane.download(
                str(deployment["PackageUri"]), target, deployment.get("PackageSha256")
            )
        except ControlPlaneUnavailableError as exc:
            if "sha256" in str(exc):  # the bytes are wrong, not the network
                self._failed_digests.add(digest)
                self.failed_update = {
                    "ModelVersion": deployment.get("ModelVersion"),
                    "Reason": str(exc),
                    "Time": _now(),
                }
            raise
        try:
            self.install(target)
            return "switched"
        except UpdateRejectedError as exc:
            self._failed_digests.add(digest)
            self.failed_update = {
                "ModelVersion": deployment.get("ModelVersion"),
                "Reason": str(exc),
                "Time": _now(),
            }
            return f"rejected: {exc}"
        finally:
            target.unlink(missing_ok=True)

    def _upload(self) -> int:
        assert self.control_plane is not None
        sent = 0
        for segment in self.buffer.take()[: self.config.upload_batch_segments]:
            records = self.buffer.read(segment)
            self.control_plane.upload_captures(self.config.device, records, self.buffer.dropped)
            self.buffer.ack(segment)
            sent += len(records)
        return sent

    def start_sync(self) -> None:
        """Sync in a background thread until :meth:`stop`."""
        if self.control_plane is None or self._sync_thread is not None:
            return
        self._sync_thread = threading.Thread(target=self._sync_loop, name="edge-sync", daemon=True)
        self._sync_thread.start()

    def _sync_loop(self) -> None:
        backoff = Backoff(
            base_s=min(1.0, self.config.heartbeat_interval_s), max_s=self.config.max_backoff_s
        )
        while not self._stop.is_set():
            try:
                self.sync_once()
                backoff.success()
                delay = self.config.heartbeat_interval_s
            except ControlPlaneUnavailableError as exc:
                delay = backoff.failure()
                log.warning("control plane unreachable (retry in %.1f s): %s", delay, exc)
            except Exception:
                delay = backoff.failure()
                log.exception("sync failed (retry in %.1f s)", delay)
            self._stop.wait(delay)

    def stop(self) -> None:
        self._stop.set()
        if self._sync_thread is not None:
            self._sync_thread.join(timeout=10)
            self._sync_thread = None
        self.buffer.close()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
