"""Batch transform throughput vs calling the model's ``predict`` in-process, in one run.

    .venv/bin/python benchmarks/transform.py [--rows 1000000] [--features 30] [--repeat 3]

One scikit-learn LogisticRegression (trained in the sklearn:1.5 image, so its pickle
matches the image's scikit-learn) is run over one CSV of ``--rows`` rows two ways, on
this machine's cores:

- **in-process**: the image's own Python reads the CSV in chunks of the same size a
  transform request carries (6 MB, cut at line ends), parses each with the same parser
  the scikit-learn container's default ``input_fn`` uses (numpy's C ``loadtxt``), calls
  ``model.predict`` and writes the labels one per line to a file. Measured twice: in one
  process (what a user's own loop does), and in one process per core, each over its own
  byte range of the file cut at line ends (the same cores the job gets; the rate is all
  records over the slowest process's time). ``predict`` itself is vectorized (one BLAS
  product per chunk), so it is not the bottleneck of either side; parsing is.
- **transform job**: a modelyard control plane in its own process, the CSV in its store,
  ``CreateTransformJob`` with ``SplitType=Line``, ``BatchStrategy=MultiRecord``, the
  default 6 MB payload, ``Accept=text/csv`` and ``AssembleWith=Line`` on one
  ``ml.m5.large`` instance (two vCPUs: one replica with two workers; the concurrency is
  what the container proposes at ``/execution-parameters``).

Reported: records/s of each; for the job both the whole job (model preparation and
replica start and stop included) and its transforming phase (``TransformProgress``'s
``ElapsedSeconds``: from the replicas answering ``/ping`` to the last ``.out``
written). The target (at least 85% of the in-process rate) is checked on the
transforming phase, since the replicas' start and stop are a constant cost that a
larger input amortizes away, against both in-process rates; the verdict uses the one
process per core loop, the stricter of the two. Both sides' labels are checked to be the same.

Also reported, since it decides the rate once the cores are busy: the CPU seconds the
control plane's process spends on each job (reading the input, cutting batches, the
HTTP to the replica, writing the output; the replica's own processes are not counted),
next to the CPU seconds of the in-process loop. Read from ``/proc``, so Linux only.

The machine may be shared: the two are run in ``--repeat`` interleaved rounds (one
in-process run, then one job, on the same control plane), and the best round of each
is compared (the median is printed beside it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

TARGET = 0.85
READY_TIMEOUT_S = 180
JOB_TIMEOUT_S = 1800

TRAIN_AND_WRITE = """
import sys
import joblib, numpy as np
from sklearn.linear_model import LogisticRegression
rows, features, model_path, csv_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(0)
X = rng.normal(size=(5000, features))
y = (X @ rng.normal(size=features) > 0).astype(int)
joblib.dump(LogisticRegression(max_iter=1000).fit(X, y), model_path)
with open(csv_path, "w") as out:
    for start in range(0, rows, 50000):
        block = rng.normal(size=(min(50000, rows - start), features)).round(6)
        np.savetxt(out, block, delimiter=",", fmt="%.6f")
"""

IN_PROCESS = """
import io, sys, time
import joblib, numpy as np
model = joblib.load(sys.argv[1])
first, last = int(sys.argv[4]), int(sys.argv[5])  # this process's byte range, cut at lines
chunk_bytes = 6 * 2**20
started, cpu_started = time.perf_counter(), time.process_time()
count = 0
with open(sys.argv[2], "rb") as source, open(sys.argv[3], "w") as out:
    def line_start(offset):
        if offset == 0:
            return 0
        source.seek(offset - 1)
        source.readline()
        return source.tell()
    end = line_start(last) if last >= 0 else -1
    position = line_start(first)
    source.seek(position)
    rest = b""
    while True:
        wanted = chunk_bytes - len(rest)
        if end >= 0:
            wanted = max(0, min(wanted, end - position))
        data = source.read(wanted) if wanted else b""
        position += len(data)
        if not data and not rest:
            break
        block = rest + data
        cut = block.rfind(b"\\n") + 1 if data else len(block)
        block, rest = block[:cut], block[cut:]
        rows = np.loadtxt(io.StringIO(block.decode()), delimiter=",", ndmin=2, comments=None)
        labels = model.predict(rows)
        out.write("\\n".join(map(str, labels.tolist())) + "\\n")
        count += len(labels)
print(count, time.perf_counter() - started, time.process_time() - cpu_started)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def image_python() -> Path:
    from modelyard.config import Settings
    from modelyard.images import VenvBuilder, resolve

    env = VenvBuilder(Settings().images_dir).ensure_built(resolve("sklearn", "1.5").image_spec())
    return env / "bin" / "python"


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
    }
    if "MODELYARD_IMAGES_DIR" in os.environ:
        env["MODELYARD_IMAGES_DIR"] = os.environ["MODELYARD_IMAGES_DIR"]
    return env | extra


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (not of its children); 0 without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def control_plane(work: Path) -> Iterator[tuple[Any, int]]:
    """A modelyard server in its own process: an httpx client of it, and its pid."""
    import httpx

    home = work / "home"
    port = free_port()
    env = clean_env(
        {
            "MODELYARD_HOME": str(home),
            "MODELYARD_SERVER_PORT": str(port),
            "MODELYARD_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT / "src"),
        }
    )
    with open(work / "server.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelyard.cli.main", "server"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            while True:
                with suppress(httpx.HTTPError):
                    if api.get("/health").status_code == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the modelyard server did not start; see {log.name}")
                time.sleep(0.1)
            yield api, process.pid
        finally:
            api.close()
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def set_up(api: Any, work: Path, model_file: Path, data: Path) -> None:
    """The model and the input, in the control plane's store and catalog."""
    import tarfile

    with tarfile.open(work / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname="model.joblib")
    for bucket in ("bench", "out"):
        api.put(f"/buckets/{bucket}").raise_for_status()
    api.put(
        "/buckets/bench/objects/model.tar.gz", content=(work / "model.tar.gz").read_bytes()
    ).raise_for_status()
    with open(data, "rb") as stream:
        api.put("/buckets/bench/objects/input/rows.csv", content=stream).raise_for_status()
    api.post(
        "/models",
        json={
            "ModelName": "bench",
            "PrimaryContainer": {
                "Image": "sklearn:1.5",
                "ModelDataUrl": "s3://bench/model.tar.gz",
            },
        },
    ).raise_for_status()


def run_job(api: Any, work: Path, name: str) -> dict[str, Any]:
    """One transform job over the input; its description (``WallSeconds`` added)."""
    started = time.perf_counter()
    api.post(
        "/transform-jobs",
        json={
            "TransformJobName": name,
            "ModelName": "bench",
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/input/"}
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": f"s3://out/{name}/",
                "Accept": "text/csv",
                "AssembleWith": "Line",
            },
            "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        },
    ).raise_for_status()
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        described: dict[str, Any] = api.get(f"/transform-jobs/{name}").json()
        if described["TransformJobStatus"] not in ("InProgress", "Stopping"):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the transform job did not end in time")
        time.sleep(0.25)  # the phase is timed by the server: polling need not be tight
    described["WallSeconds"] = time.perf_counter() - started
    if described["TransformJobStatus"] != "Completed":
        raise RuntimeError(f"the transform job failed: {described.get('FailureReason')}")
    output = api.get(f"/buckets/out/objects/{name}/rows.csv.out")
    output.raise_for_status()
    (work / "job.out").write_bytes(output.content)
    return described


def in_process(
    python: Path, model_file: Path, data: Path, out: Path, processes: int = 1
) -> tuple[float, float]:
    """Records/s of the in-process loop over ``processes`` byte ranges at once (see the
    module doc), and its CPU seconds summed over them."""
    size = data.stat().st_size
    bounds = [size * i // processes for i in range(processes)] + [-1]
    outs = [out if processes == 1 else out.with_suffix(f".{i}") for i in range(processes)]
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            [
                *(str(python), "-c", IN_PROCESS, str(model_file), str(data), str(outs[i])),
                *(str(bounds[i]), str(bounds[i + 1])),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=clean_env({}),
        )
        for i in range(processes)
    ]
    count, cpu = 0, 0.0
    for process in running:
        stdout, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"the in-process loop failed ({process.returncode})")
        done, _, spent = stdout.split()
        count += int(done)
        cpu += float(spent)
    seconds = time.perf_counter() - started
    if processes > 1:
        out.write_text("".join(part.read_text() for part in outs))
    return count / seconds, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3, help="Interleaved rounds of each.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="modelyard-bench-transform-"))
    try:
        python = image_python()
        model_file, data = work / "model.joblib", work / "rows.csv"
        subprocess.run(
            [str(python), "-c", TRAIN_AND_WRITE, str(args.rows), str(args.features),
             str(model_file), str(data)],
            check=True, env=clean_env({}),
        )  # fmt: skip
        size_mb = data.stat().st_size / 2**20
        print(f"input: {args.rows} rows x {args.features} features, {size_mb:.0f} MB of CSV")
        print(f"cores: {len(os.sched_getaffinity(0))}")

        cores = len(os.sched_getaffinity(0))
        local: list[float] = []
        parallel: list[float] = []
        phase: list[float] = []
        whole: list[float] = []
        local_cpu: list[float] = []
        job_cpu: list[float] = []
        with control_plane(work) as (api, server_pid):
            set_up(api, work, model_file, data)
            for round_ in range(1, args.repeat + 1):
                rate, cpu = in_process(python, model_file, data, work / "local.out")
                local.append(rate)
                local_cpu.append(cpu)
                rate, _ = in_process(python, model_file, data, work / "parallel.out", cores)
                parallel.append(rate)
                cpu_before = cpu_seconds(server_pid)
                described = run_job(api, work, f"bench-{round_}")
                job_cpu.append(cpu_seconds(server_pid) - cpu_before)
                records = described["TransformProgress"]["RecordsDone"]
                phase.append(records / described["TransformProgress"]["ElapsedSeconds"])
                whole.append(records / described["WallSeconds"])
        job_labels = [int(float(v)) for v in (work / "job.out").read_text().split()]
        same = all(
            job_labels == [int(v) for v in (work / name).read_text().split()]
            for name in ("local.out", "parallel.out")
        )
        print(f"records/s over {args.repeat} interleaved rounds (best, median):")
        for label, rates in (
            ("in-process predict", local),
            (f"in-process x{cores} procs", parallel),
            ("transform (phase)", phase),
            ("transform (whole job)", whole),
        ):
            print(f"  {label:24}{max(rates):12,.0f}{statistics.median(rates):12,.0f}")
        print("CPU seconds (least, median):")
        for label, seconds in (
            ("in-process loop", local_cpu),
            ("control plane per job", job_cpu),
        ):
            print(f"  {label:24}{min(seconds):12.2f}{statistics.median(seconds):12.2f}")
        print(f"  control plane per MB    {min(job_cpu) / size_mb * 1000:9.2f} ms")
        print(
            f"parameters: MaxConcurrentTransforms={described['MaxConcurrentTransforms']}, "
            f"BatchStrategy={described['BatchStrategy']}, "
            f"MaxPayloadInMB={described['MaxPayloadInMB']}"
        )
        print(f"same labels as in-process: {same}")
        phase_rate = max(phase)
        print(f"transform / in-process (one process): {phase_rate / max(local):.0%}")
        ratio = phase_rate / max(parallel)
        verdict = "met" if ratio >= TARGET else "NOT met"
        print(
            f"transform / in-process (x{cores} procs): {ratio:.0%} (target {TARGET:.0%}: {verdict})"
        )
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
