"""Real replicas: ``python -m modelyard.container.serving`` in the real framework images.

Images come from the machine's image cache through :class:`VenvBuilder` (built once if
missing; ``ensure_built`` also points them at the toolkit sources under test). Models
are trained by the image's own Python, so their pickles match its library versions.
Replicas bind port 0 and the test reads the port from the supervisor's log; readiness
is polled, never slept for.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.images import VenvBuilder, resolve

READY_TIMEOUT_S = 120.0
TRAIN_TIMEOUT_S = 300.0


@pytest.fixture(scope="session")
def image_python() -> Callable[[str, str], Path]:
    """``image_python("sklearn", "1.5")`` -> the image's interpreter (built if needed)."""
    builder = VenvBuilder(Settings().images_dir)
    built: dict[tuple[str, str], Path] = {}

    def get(framework: str, version: str) -> Path:
        key = (framework, version)
        if key not in built:
            env = builder.ensure_built(resolve(framework, version).image_spec())
            built[key] = env / "bin" / "python"
        return built[key]

    return get


def run_in_image(python: Path, script: str, cwd: Path) -> str:
    """Run a script with the image's Python (e.g. to train a model); its stdout."""
    completed = subprocess.run(
        [str(python), "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=_clean_env(cwd),
        capture_output=True,
        text=True,
        timeout=TRAIN_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def _clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Replica:
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def connection(self, timeout_s: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout_s: float = 30.0,
    ) -> Reply:
        conn = self.connection(timeout_s)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return Reply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def invoke(self, body: bytes, content_type: str, accept: str | None = None) -> Reply:
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        return self.request("POST", "/invocations", body, headers)

    def raw(self, data: bytes, *, timeout_s: float = 10.0) -> bytes:
        """Send raw bytes; everything the replica answers until it closes or goes quiet."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s) as sock:
            sock.sendall(data)
            chunks = []
            sock.settimeout(1.0)
            while True:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    def worker_pids(self) -> list[int]:
        pids = re.findall(r"worker \d+ started \(pid (\d+)\)", self.logs())
        return [int(pid) for pid in pids]

    def wait_for_log(self, pattern: str, timeout_s: float = READY_TIMEOUT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(pattern, self.logs())
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the replica's log:\n{self.logs()}")

    def wait_ready(self, workers: int) -> None:
        """Until every worker has loaded its model (or failed to) and is accepting."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if len(re.findall(r"ready: serving on", self.logs())) >= workers:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"the replica did not become ready:\n{self.logs()}")

    def stop(self, timeout_s: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


StartReplica = Callable[..., Replica]


@pytest.fixture
def start_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartReplica]:
    """``start_replica(python, base_dir, workers=1, **env)`` -> a ready replica."""
    yield from _replica_starter(tmp_path_factory)


@pytest.fixture(scope="module")
def module_replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartReplica]:
    """The same, for replicas shared by a module's tests."""
    yield from _replica_starter(tmp_path_factory)


def _replica_starter(factory: pytest.TempPathFactory) -> Iterator[StartReplica]:
    started: list[Replica] = []

    def start(python: Path, base_dir: Path, *, workers: int = 1, **env: str) -> Replica:
        log_path = factory.mktemp("replica") / "replica.log"
        environ = _clean_env(
            base_dir,
            {
                "SAGEMAKER_BASE_DIR": str(base_dir),
                "SAGEMAKER_BIND_TO_PORT": "0",
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
                **env,
            },
        )
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [str(python), "-m", "modelyard.container.serving", "serve"],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=base_dir,
            )
        replica = Replica(process, log_path)
        started.append(replica)
        port = replica.wait_for_log(r"on 127\.0\.0\.1:(\d+) with")
        replica.port = int(port.group(1))
        replica.wait_ready(workers)
        return replica

    yield start
    for replica in started:
        replica.stop()


def write_inference(base_dir: Path, source: str, name: str = "inference.py") -> None:
    code = base_dir / "model" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / name).write_text(textwrap.dedent(source))
