"""Training job start-up overhead: a trivial job vs ``python script.py``, in one run.

    .venv/bin/python benchmarks/job_start.py [--runs 5]

A background server is started for a temporary home (as ``modelyard.Session()``
does); the toolkit-only image is built once (cached on the machine). Then, for each
run, a script-mode job of a trivial script is created over HTTP, and we time

- create -> the script's first line (the script prints ``time.time()`` first thing),
- create -> ``Completed`` as a client polling DescribeTrainingJob sees it,

next to the same script run as ``<image python> script.py``: start -> first line and
start -> exit. The overhead is the difference of the medians; the target is < 1 s.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

SCRIPT = 'import time\nprint(f"FIRST {time.time()!r}", flush=True)\n'
IMAGE = "toolkit:bench"


def _tarball(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _first_line_time(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("FIRST "):
            return float(line.split(" ", 1)[1])
    raise RuntimeError(f"the script's first line is missing from:\n{text[-2000:]}")


def plain_run(python: str, script: Path) -> tuple[float, float]:
    """(start -> first line, start -> exit) of ``python script.py``."""
    started = time.time()
    result = subprocess.run([python, str(script)], capture_output=True, text=True, check=True)
    ended = time.time()
    return _first_line_time(result.stdout) - started, ended - started


def job_run(client: object, index: int) -> tuple[float, float]:
    """(create -> first line, create -> Completed) of one training job."""
    from modelyard.sdk.client import ApiClient

    assert isinstance(client, ApiClient)
    name = f"bench-{os.getpid()}-{index}"
    body = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "HyperParameters": {
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": '"s3://bench/code/sourcedir.tar.gz"',
        },
        "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
        "ResourceConfig": {"InstanceType": "local", "InstanceCount": 1},
    }
    started = time.time()
    client.post_json("/training-jobs", body)
    while True:
        status = client.get_json(f"/training-jobs/{name}")["TrainingJobStatus"]
        if status in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.005)
    completed = time.time()
    if status != "Completed":
        raise RuntimeError(f"{name} ended {status}: {client.get_json(f'/training-jobs/{name}')}")
    log = client.request("GET", f"/training-jobs/{name}/logs").text
    return _first_line_time(log) - started, completed - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="modelyard-bench-"))
    os.environ["MODELYARD_HOME"] = str(home)
    os.environ["MODELYARD_SERVER_PORT"] = "0"
    from modelyard.api.server import start_background, stop_background
    from modelyard.config import get_settings
    from modelyard.sdk import images, objects
    from modelyard.sdk.client import ApiClient

    settings = get_settings()
    try:
        with ApiClient(start_background(settings)) as client:
            objects.create_bucket(client, "bench", exist_ok=True)
            objects.put_bytes(
                client, "bench", "code/sourcedir.tar.gz", _tarball({"train.py": SCRIPT})
            )
            images.register_image(client, IMAGE, exist_ok=True)
            built = images.build(client, IMAGE, wait=True)
            python = str(Path(built["EnvironmentPath"]) / "bin" / "python")
            script = home / "train.py"
            script.write_text(SCRIPT)

            job_run(client, -1)  # warm the server's code paths once
            plain_run(python, script)
            jobs = [job_run(client, i) for i in range(args.runs)]
            plains = [plain_run(python, script) for _ in range(args.runs)]
    finally:
        stop_background(settings)

    def median(values: list[tuple[float, float]], which: int) -> float:
        return statistics.median(v[which] for v in values)

    rows = [
        ("start -> first line", median(plains, 0), median(jobs, 0)),
        ("start -> done", median(plains, 1), median(jobs, 1)),
    ]
    print(f"training job start-up, median of {args.runs} runs (image: {IMAGE}, no channels)")
    print(f"{'':22} {'python script.py':>17} {'training job':>13} {'overhead':>9}")
    for label, plain, job in rows:
        print(f"{label:22} {plain:16.3f}s {job:12.3f}s {job - plain:8.3f}s")
    overhead = rows[0][2] - rows[0][1]
    verdict = "met" if overhead < 1.0 else "MISSED"
    print(f"overhead to the first line: {overhead:.3f} s (target < 1 s: {verdict})")
    if overhead >= 1.0:
        sys.exit(1)


if __name__ == "__main__":
    main()
