"""A real-time endpoint through modelyard's router vs its replica alone, MLflow and Ray Serve.

    .venv/bin/python benchmarks/endpoint.py [--seconds 5] [--only modelyard] [--client auto]

One small scikit-learn model (LogisticRegression, 30 float features, trained once in the
sklearn:1.5 image, one row of JSON per request) is served four ways on loopback:

- **router**: a modelyard control plane (its own process) with an endpoint of one replica,
  invoked at ``POST /endpoints/bench/invocations``;
- **replica**: the same replica's ``POST /invocations``, bypassing the router;
- **mlflow**: ``mlflow models serve -w 1`` (MLflow 3.17) of the same pickled model;
- **ray-serve**: a Ray Serve 2.60 deployment of the same pickled model (``ray.init`` with
  this machine's CPUs, dashboard off, ``RAY_AUTH_MODE=disabled``).

MLflow and Ray are heavy and are never dependencies of modelyard: on first run each gets
a virtualenv of its own under ``~/.cache/modelyard/bench-venvs`` (pinned versions, the
image's scikit-learn, ``pip`` with a time bound) that later runs reuse.

Load: ``wrk`` (Debian package ``wrk``) if installed, else an asyncio client with
keep-alive connections and TCP_NODELAY. Per server: a warm-up, then latency at one
connection (p50, p99) and throughput at 16 connections, each ``--seconds`` long. The
router's overhead is its p50 minus the replica's. Everything listens on 127.0.0.1 and
is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

FEATURES = 30
THROUGHPUT_CONNECTIONS = 16
VENVS = Path.home() / ".cache" / "modelyard" / "bench-venvs"
MLFLOW_VERSION = "3.17.0"
RAY_VERSION = "2.60.0"
INSTALL_TIMEOUT_S = 900
READY_TIMEOUT_S = 180

TRAIN = """
import json, sys
import joblib, numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
X, y = make_classification(n_samples=500, n_features=30, random_state=0)
joblib.dump(LogisticRegression(max_iter=1000).fit(X, y), sys.argv[1])
print(json.dumps(np.round(X[:1], 6).tolist()))
"""

MLFLOW_SAVE = """
import sys, joblib, mlflow.sklearn
mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2])
"""

RAY_APP = """
import json, os, signal, sys, threading
import joblib, numpy as np, ray
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0})
class Model:
    def __init__(self, path):
        self.model = joblib.load(path)

    async def __call__(self, request: Request) -> Response:
        data = np.asarray(json.loads(await request.body()))
        body = json.dumps(self.model.predict(data).tolist())
        return Response(body, media_type="application/json")

ray.init(include_dashboard=False, log_to_driver=False)
serve.start(http_options={"host": "127.0.0.1", "port": int(sys.argv[2])})
serve.run(Model.bind(sys.argv[1]), route_prefix="/invocations")
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
serve.shutdown()
ray.shutdown()
"""


@dataclass
class Measure:
    p50_ms: float
    p99_ms: float
    req_s: float


@dataclass
class Result:
    latency: Measure
    throughput: Measure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str, body: bytes, content_type: str = "application/json") -> bool:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("POST", parts.path, body=body, headers={"Content-Type": content_type})
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def wait_answers(url: str, body: bytes, alive: Callable[[], bool], content_type: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server of {url} exited")
        if answers(url, body, content_type):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_S} s")


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path, url: str, body: bytes, ctype: str
) -> Iterator[None]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_answers(url, body, lambda: process.poll() is None, ctype)
        yield
    finally:
        with_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with_group(process.pid, signal.SIGKILL)
            process.wait()


def with_group(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(pid, signum)


# ---------------------------------------------------------------------------- clients


def wrk(
    url: str, body: bytes, content_type: str, connections: int, seconds: float, work: Path
) -> Measure:
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        f'wrk.headers["Content-Type"] = "{content_type}"\n'
    )
    threads = min(connections, 2)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors against {url}:\n{output}")

    def latency_ms(label: str) -> float:
        found = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", output)
        assert found is not None, output
        value, unit = found.groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert found is not None, output
    return Measure(latency_ms("50%"), latency_ms("99%"), float(found.group(1)))


async def _client(
    host: str, port: int, request: bytes, until: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            found = re.search(rb"(?i)content-length: *(\d+)", head)
            assert found is not None
            await reader.readexactly(int(found.group(1)))
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def asyncio_load(
    url: str, body: bytes, content_type: str, connections: int, seconds: float, work: Path
) -> Measure:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: bench\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _client(parts.hostname or "127.0.0.1", parts.port or 80, request, until, latencies)
                for _ in range(connections)
            )
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return Measure(
        statistics.median(ordered) * 1e3,
        ordered[int(len(ordered) * 0.99)] * 1e3,
        len(ordered) / elapsed,
    )


# ---------------------------------------------------------------------------- servers


def image_python() -> Path:
    from modelyard.config import Settings
    from modelyard.images import VenvBuilder, resolve

    env = VenvBuilder(Settings().images_dir).ensure_built(resolve("sklearn", "1.5").image_spec())
    return env / "bin" / "python"


def package_version(python: Path, distribution: str) -> str:
    return subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def bench_venv(name: str, requirements: list[str], check: str) -> Path:
    """A virtualenv of its own for a peer (created and installed once, then reused)."""
    root = VENVS / name
    python = root / "bin" / "python"
    marker = root / ".complete"
    if marker.is_file():
        return python
    print(f"creating {root} (first run only; bounded to {INSTALL_TIMEOUT_S} s)...", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *requirements],
        check=True, timeout=INSTALL_TIMEOUT_S,
    )  # fmt: skip
    subprocess.run([str(python), "-c", check], check=True, timeout=300)
    marker.write_text("\n".join(requirements) + "\n")
    return python


def server_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(home)),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


@contextmanager
def modelyard_endpoint(work: Path, model_file: Path, body: bytes) -> Iterator[tuple[str, str]]:
    """A control plane in its own process with endpoint ``bench``; (router URL, replica URL)."""
    import httpx

    home = work / "home"
    port = free_port()
    env = server_env(
        home,
        {
            "MODELYARD_HOME": str(home),
            "MODELYARD_SERVER_PORT": str(port),
            "MODELYARD_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT / "src"),
        },
    )
    if "MODELYARD_IMAGES_DIR" in os.environ:
        env["MODELYARD_IMAGES_DIR"] = os.environ["MODELYARD_IMAGES_DIR"]
    log = open(work / "modelyard-server.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "modelyard.cli.main", "server"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url, timeout=60)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                if api.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the modelyard server did not start")
            time.sleep(0.1)
        api.put("/buckets/bench").raise_for_status()
        with tarfile_of(model_file) as tarball:
            api.put("/buckets/bench/objects/model.tar.gz", content=tarball).raise_for_status()
        api.post(
            "/models",
            json={
                "ModelName": "bench",
                "PrimaryContainer": {
                    "Image": "sklearn:1.5",
                    "ModelDataUrl": "s3://bench/model.tar.gz",
                    "Environment": {
                        "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
                        "SAGEMAKER_CONTAINER_LOG_LEVEL": "30",
                    },
                },
            },
        ).raise_for_status()
        api.post(
            "/endpoint-configs",
            json={
                "EndpointConfigName": "bench",
                "ProductionVariants": [
                    {"VariantName": "AllTraffic", "ModelName": "bench", "InstanceType": "local"}
                ],
            },
        ).raise_for_status()
        api.post(
            "/endpoints", json={"EndpointName": "bench", "EndpointConfigName": "bench"}
        ).raise_for_status()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while api.get("/endpoints/bench").json()["EndpointStatus"] != "InService":
            if time.monotonic() > deadline:
                raise RuntimeError("the endpoint did not come up")
            time.sleep(0.2)
        (replica,) = api.get("/endpoints/bench/replicas").json()["Replicas"]
        yield (
            f"{url}/endpoints/bench/invocations",
            f"http://127.0.0.1:{replica['Port']}/invocations",
        )
    finally:
        try:
            api.delete("/endpoints/bench")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and api.get("/endpoints").json()["Endpoints"]:
                time.sleep(0.2)
        except httpx.HTTPError:
            pass
        api.close()
        with_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with_group(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@contextmanager
def tarfile_of(model_file: Path) -> Iterator[bytes]:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(model_file, arcname="model.joblib")
    yield buffer.getvalue()


def mlflow_command(work: Path, model_file: Path, sklearn_version: str, port: int) -> list[str]:
    python = bench_venv(
        f"mlflow-{MLFLOW_VERSION}",
        [f"mlflow=={MLFLOW_VERSION}", f"scikit-learn=={sklearn_version}"],
        "import mlflow, sklearn",
    )
    saved = work / "mlflow-model"
    subprocess.run(
        [str(python), "-c", MLFLOW_SAVE, str(model_file), str(saved)], check=True, timeout=300
    )
    return [
        str(python.parent / "mlflow"), "models", "serve", "-m", str(saved), "-h", "127.0.0.1",
        "-p", str(port), "-w", "1", "--env-manager", "local",
    ]  # fmt: skip


def ray_command(work: Path, model_file: Path, sklearn_version: str, port: int) -> list[str]:
    python = bench_venv(
        f"ray-{RAY_VERSION}",
        [f"ray[serve]=={RAY_VERSION}", "psutil", f"scikit-learn=={sklearn_version}"],
        "import ray, ray.serve, sklearn",
    )
    script = work / "ray_app.py"
    script.write_text(textwrap.dedent(RAY_APP))
    return [str(python), str(script), str(model_file), str(port)]


# ---------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    parser.add_argument(
        "--only",
        choices=("modelyard", "mlflow", "ray-serve"),
        action="append",
        help="measure only these (repeatable); default: all",
    )
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    chosen = set(args.only or ("modelyard", "mlflow", "ray-serve"))

    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        work = Path(tmp)
        python = image_python()
        model_file = work / "model.joblib"
        body = subprocess.run(
            [str(python), "-c", TRAIN, str(model_file)],
            capture_output=True, text=True, check=True, timeout=300,
        ).stdout.strip().encode()  # fmt: skip
        sklearn_version = package_version(python, "scikit-learn")

        def measure(name: str, url: str, payload: bytes, content_type: str) -> None:
            def load(connections: int) -> Measure:
                if use_wrk:
                    return wrk(url, payload, content_type, connections, args.seconds, work)
                return asyncio_load(url, payload, content_type, connections, args.seconds, work)

            load(THROUGHPUT_CONNECTIONS)  # warm-up, not counted
            results[name] = Result(load(1), load(THROUGHPUT_CONNECTIONS))
            print(f"measured {name}", flush=True)

        if "modelyard" in chosen:
            with modelyard_endpoint(work, model_file, body) as (router, replica):
                measure("modelyard router", router, body, "application/json")
                measure("modelyard replica", replica, body, "application/json")
        mlflow_body = json.dumps({"inputs": json.loads(body)}).encode()
        peers = [
            ("mlflow", mlflow_command, "/invocations", mlflow_body),
            ("ray-serve", ray_command, "/invocations", body),
        ]
        for name, command_of, path, payload in peers:
            if name not in chosen:
                continue
            port = free_port()
            try:
                command = command_of(work, model_file, sklearn_version, port)
            except (subprocess.SubprocessError, OSError) as exc:
                print(f"{name}: could not be set up ({exc}); left out", flush=True)
                continue
            url = f"http://127.0.0.1:{port}{path}"
            env = server_env(work, {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"})
            # The peer's own tools first (mlflow execs its venv's uvicorn).
            env["PATH"] = f"{Path(command[0]).parent}{os.pathsep}{env['PATH']}"
            with running(command, env, work / f"{name}.log", url, payload, "application/json"):
                measure(name, url, payload, "application/json")

    report(results, "wrk" if use_wrk else "asyncio client", args.seconds)
    return 0


def report(results: dict[str, Result], client: str, seconds: float) -> None:
    print(
        f"\nLogisticRegression, {FEATURES} features, 1 row of JSON per request; load: {client}, "
        f"{seconds:g} s per measurement, loopback; 1 connection for latency, "
        f"{THROUGHPUT_CONNECTIONS} for throughput\n"
    )
    print(f"{'server':<20}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    for name, result in results.items():
        print(
            f"{name:<20}{result.latency.p50_ms:>9.3f}{result.latency.p99_ms:>9.3f}"
            f"{result.throughput.req_s:>9.0f}"
        )
    router = results.get("modelyard router")
    replica = results.get("modelyard replica")
    print()
    if router and replica:
        overhead = router.latency.p50_ms - replica.latency.p50_ms
        verdict = "met" if overhead < 0.5 else "NOT met"
        print(f"router overhead at p50: {overhead:.3f} ms (target < 0.5 ms: {verdict})")
    for peer, target, label in (("mlflow", 3.0, "at least 3x"), ("ray-serve", 1.0, "ahead of")):
        if router and peer in results:
            ratio = router.throughput.req_s / results[peer].throughput.req_s
            verdict = "met" if ratio >= target else "NOT met"
            print(f"throughput router / {peer}: {ratio:.2f}x (target {label}: {verdict})")


if __name__ == "__main__":
    sys.exit(main())
