"""One replica's latency and throughput: modelyard's serving toolkit vs uvicorn + Starlette.

    .venv/bin/python benchmarks/replica.py [--seconds 5] [--python PATH] [--client auto]

Both servers serve the same scikit-learn LogisticRegression (30 float features, one
row per request, JSON in and out) on loopback, with 1 and then 2 worker processes:

- modelyard: ``python -m modelyard.container.serving`` with its default sklearn
  handlers (``model.joblib`` in a model directory, no inference.py);
- uvicorn + Starlette (uvloop, httptools, no access log), an ``async def`` endpoint
  doing ``json.loads`` -> ``np.asarray`` -> ``model.predict`` -> JSON inline, which is
  the fastest way to write it (a plain ``def`` endpoint adds a thread hop).

Load comes from ``wrk`` (Debian package ``wrk``) when installed, else from a small
asyncio client with keep-alive connections and TCP_NODELAY (``--client asyncio``):
latency at one connection (p50, p99), throughput at 16 connections. Each run lasts
``--seconds``. MACHINE_FACTS.md's figures for ``mlflow models serve`` (~350 req/s, one
worker) and Ray Serve (~70 req/s) on this kind of machine are printed beside ours; they
are quoted, not measured here. ``predict`` alone costs ~0.4 ms here (scikit-learn's
input checks): the "overhead" column is p50 minus the in-process handler chain.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FEATURES = 30
THROUGHPUT_CONNECTIONS = 16
MLFLOW_REQ_S = 350.0  # MACHINE_FACTS.md, `mlflow models serve -w 1`
RAY_SERVE_REQ_S = 70.0  # MACHINE_FACTS.md, Ray Serve 2.60

STARLETTE_APP = """
import json
import joblib
import numpy as np
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

model = joblib.load({model!r})

async def invocations(request):
    data = np.asarray(json.loads(await request.body()))
    body = json.dumps(model.predict(data).tolist(), separators=(",", ":"))
    return Response(body, media_type="application/json")

async def ping(request):
    return Response(b"")

app = Starlette(routes=[
    Route("/invocations", invocations, methods=["POST"]),
    Route("/ping", ping),
])
"""


@dataclass
class Measure:
    p50_ms: float
    p99_ms: float
    req_s: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    import http.client

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server not ready in time")


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_ready(port, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ---------------------------------------------------------------------------- clients


def wrk(port: int, body: bytes, connections: int, seconds: float, workdir: Path) -> Measure:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    threads = min(connections, 2)
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{port}/invocations"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")

    def latency_ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    req_s = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    return Measure(latency_ms("50%"), latency_ms("99%"), req_s)


async def _client(port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def asyncio_load(port: int, body: bytes, connections: int, seconds: float) -> Measure:
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    latencies: list[float] = []

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(port, request, until, latencies) for _ in range(connections))
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


# ---------------------------------------------------------------------------- main


def in_process_chain_ms(model_path: Path, body: bytes, repeats: int = 2000) -> float:
    """The default handler chain (JSON -> predict -> JSON) without any server."""
    sys.path.insert(0, str(ROOT / "src"))
    from modelyard.container.defaults.sklearn import handlers

    chain = handlers("application/json")
    model = chain["model_fn"](str(model_path.parent))
    text = body.decode()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeats):
            data = chain["input_fn"](text, "application/json")
            chain["output_fn"](chain["predict_fn"](data, model), "application/json")
        best = min(best, (time.perf_counter() - started) / repeats)
    return best * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--python", default=sys.executable, help="Python of our replica")
    parser.add_argument("--client", choices=("auto", "wrk", "asyncio"), default="auto")
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    features, labels = make_classification(n_samples=500, n_features=FEATURES, random_state=0)
    model = LogisticRegression(max_iter=1000).fit(features, labels)
    body = json.dumps(np.round(features[:1], 6).tolist()).encode()

    with tempfile.TemporaryDirectory(prefix="modelyard-bench-") as tmp:
        work = Path(tmp)
        model_dir = work / "ml" / "model"
        model_dir.mkdir(parents=True)
        import joblib

        joblib.dump(model, model_dir / "model.joblib")
        (work / "bench_app.py").write_text(
            textwrap.dedent(STARLETTE_APP.format(model=str(model_dir / "model.joblib")))
        )
        chain_ms = in_process_chain_ms(model_dir / "model.joblib", body)

        def load(port: int, connections: int) -> Measure:
            if use_wrk:
                return wrk(port, body, connections, args.seconds, work)
            return asyncio_load(port, body, connections, args.seconds)

        base_env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT / "src"),
        }
        results: dict[tuple[str, int], tuple[Measure, Measure]] = {}
        for workers in (1, 2):
            port = free_port()
            ours_env = {
                **base_env,
                "SAGEMAKER_BASE_DIR": str(work / "ml"),
                "SAGEMAKER_BIND_TO_PORT": str(port),
                "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
                "SAGEMAKER_CONTAINER_LOG_LEVEL": "30",
            }
            command = [args.python, "-m", "modelyard.container.serving"]
            with running(command, ours_env, port, work / f"ours-{workers}.log"):
                load(port, THROUGHPUT_CONNECTIONS)  # warm-up, not counted
                results[("modelyard", workers)] = (
                    load(port, 1),
                    load(port, THROUGHPUT_CONNECTIONS),
                )
            port = free_port()
            command = [
                sys.executable, "-m", "uvicorn", "bench_app:app", "--app-dir", str(work),
                "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
            with running(command, base_env, port, work / f"uvicorn-{workers}.log"):
                load(port, THROUGHPUT_CONNECTIONS)
                results[("uvicorn+starlette", workers)] = (
                    load(port, 1),
                    load(port, THROUGHPUT_CONNECTIONS),
                )

    client = "wrk" if use_wrk else "asyncio client"
    print(f"\nLogisticRegression, {FEATURES} features, 1 row of JSON per request; load: {client}")
    print(f"in-process handler chain (JSON in, predict, JSON out): {chain_ms:.3f} ms\n")
    print(
        f"{'server':<20}{'workers':>8}{'p50 ms':>9}{'p99 ms':>9}{'overhead ms':>13}"
        f"{'req/s @16':>11}"
    )
    for (server, workers), (latency, throughput) in results.items():
        print(
            f"{server:<20}{workers:>8}{latency.p50_ms:>9.3f}{latency.p99_ms:>9.3f}"
            f"{latency.p50_ms - chain_ms:>13.3f}{throughput.req_s:>11.0f}"
        )
    print()
    for workers in (1, 2):
        ours_lat, ours_tp = results[("modelyard", workers)]
        base_lat, base_tp = results[("uvicorn+starlette", workers)]
        print(
            f"{workers} worker(s): throughput modelyard/uvicorn = "
            f"{ours_tp.req_s / base_tp.req_s:.2f}x, p50 uvicorn/modelyard = "
            f"{base_lat.p50_ms / ours_lat.p50_ms:.2f}x"
        )
    one = results[("modelyard", 1)][1].req_s
    print(
        f"1 worker vs MACHINE_FACTS' mlflow models serve (~{MLFLOW_REQ_S:.0f} req/s): "
        f"{one / MLFLOW_REQ_S:.1f}x; vs Ray Serve (~{RAY_SERVE_REQ_S:.0f} req/s): "
        f"{one / RAY_SERVE_REQ_S:.0f}x (quoted figures, not measured in this run)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
