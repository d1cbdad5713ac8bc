"""Batch transform from the shell: ``modelyard transform-jobs`` and the example script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import Cli
from .test_endpoints_cli import _model_tarball, _write


def test_a_transform_job_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    tarball = _model_tarball(tmp_path)
    rows = tmp_path / "rows.csv"
    rows.write_text("5.1,3.5,1.4,0.2\n6.2,3.4,5.4,2.3\n5.9,3.0,4.2,1.5\n" * 10)
    cli.run("up")
    cli.run("s3", "mb", "s3://models")
    cli.run("s3", "mb", "s3://data")
    cli.run("s3", "cp", str(tarball), "s3://models/iris/model.tar.gz")
    cli.run("s3", "cp", str(rows), "s3://data/batch/rows.csv")
    model = {
        "ModelName": "iris",
        "PrimaryContainer": {
            "Image": "sklearn:1.5",
            "ModelDataUrl": "s3://models/iris/model.tar.gz",
        },
    }
    cli.run("models", "create", "--body", _write(tmp_path / "m.json", model))

    created = cli.run(
        "transform-jobs", "create", "--name", "iris-batch", "--model", "iris",
        "--input", "s3://data/batch/", "--output", "s3://data/out/",
        "--content-type", "text/csv", "--split-type", "Line",
        "--accept", "text/csv", "--assemble-with", "Line", "--wait",
    )  # fmt: skip

    assert "transform-job/iris-batch" in created.stdout
    assert "1/1 objects, 30 records, 480 B/480 B" in created.stderr  # the progress bar
    described = json.loads(cli.run("transform-jobs", "describe", "iris-batch").stdout)
    assert described["TransformJobStatus"] == "Completed"
    listed = json.loads(cli.run("transform-jobs", "list", "--json").stdout)
    assert [(j["TransformJobName"], j["TransformJobStatus"]) for j in listed] == [
        ("iris-batch", "Completed")
    ]
    out = tmp_path / "rows.csv.out"
    cli.run("s3", "cp", "s3://data/out/rows.csv.out", str(out))
    assert out.read_text().split() == ["0", "2", "1"] * 10
    logs = cli.run("transform-jobs", "logs", "iris-batch").stdout
    assert cli.run("logs", "transform-job", "iris-batch").stdout == logs
    assert "progress: 1/1 objects, 30 records" in logs
    assert "[algo-1]" in logs

    missing = cli.run(
        "transform-jobs", "create", "--name", "nope", "--model", "no-such-model",
        "--input", "s3://data/batch/", "--output", "s3://data/out/", check=False,
    )  # fmt: skip
    assert missing.returncode == 1
    assert "ModelName='no-such-model'" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_the_batch_transform_example_scores_every_row(cli: Cli) -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "examples" / "batch_transform" / "run.py")],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "first lines: ['row-0,0', 'row-1,0', 'row-2,0']" in result.stdout
    assert "150 records in" in result.stdout
    accuracy = float(result.stdout.split("accuracy over the scored rows: ")[1].split()[0])
    assert accuracy > 0.9
