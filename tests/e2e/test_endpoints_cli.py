"""Endpoints from the shell: models, endpoint configs, endpoints and ``modelyard invoke``."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

from tests.integration.hosting.conftest import TRAIN, _image_python

from .conftest import Cli


def _model_tarball(directory: Path) -> Path:
    model_dir = directory / "model"
    model_dir.mkdir()
    completed = subprocess.run(
        [str(_image_python()), "-c", TRAIN, "logistic", str(model_dir / "model.joblib")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OMP_NUM_THREADS": "1"},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    with tarfile.open(directory / "model.tar.gz", "w:gz") as archive:
        archive.add(model_dir / "model.joblib", arcname="model.joblib")
    return directory / "model.tar.gz"


def _write(path: Path, body: object) -> str:
    path.write_text(json.dumps(body))
    return str(path)


def test_an_endpoint_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    tarball = _model_tarball(tmp_path)
    cli.run("up")
    cli.run("s3", "mb", "s3://models")
    cli.run("s3", "cp", str(tarball), "s3://models/iris/model.tar.gz")
    model = {
        "ModelName": "iris",
        "PrimaryContainer": {
            "Image": "sklearn:1.5",
            "ModelDataUrl": "s3://models/iris/model.tar.gz",
            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        },
    }
    config = {
        "EndpointConfigName": "iris",
        "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": "iris", "InstanceType": "ml.t2.medium"}
        ],
    }
    assert (
        "model/iris"
        in cli.run("models", "create", "--body", _write(tmp_path / "m.json", model)).stdout
    )
    cli.run("endpoint-configs", "create", "--body", _write(tmp_path / "c.json", config))
    try:
        created = cli.run("endpoints", "create", "iris", "--config", "iris", "--wait")
        assert "iris is InService" in created.stdout
        listed = json.loads(cli.run("endpoints", "list", "--json").stdout)
        assert [(e["EndpointName"], e["EndpointStatus"]) for e in listed] == [("iris", "InService")]
        described = json.loads(cli.run("endpoints", "describe", "iris").stdout)
        assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1

        body = tmp_path / "rows.csv"
        body.write_text("5.1,3.5,1.4,0.2\n6.2,3.4,5.4,2.3\n")
        answer = cli.run("invoke", "iris", "--body", str(body), "--accept", "application/json")
        assert json.loads(answer.stdout) == [0, 2]
        assert "from variant AllTraffic" in answer.stderr
        out = tmp_path / "answer.csv"
        cli.run("invoke", "iris", "--body", str(body), "--accept", "text/csv", "-o", str(out))
        assert out.read_text().split() == ["0", "2"]

        wrong = cli.run(
            "invoke", "iris", "--body", str(body), "--content-type", "image/png", check=False
        )
        assert wrong.returncode == 1
        assert "image/png" in wrong.stderr
        broken = tmp_path / "broken.csv"
        broken.write_text("1,2\n")
        failed = cli.run("invoke", "iris", "--body", str(broken), check=False)
        assert failed.returncode == 1
        assert "features" in failed.stderr
        missing = cli.run("invoke", "nothing", "--body", str(body), check=False)
        assert missing.returncode == 1
        assert "not found" in missing.stderr

        replicas = json.loads(cli.run("endpoints", "replicas", "iris", "--json").stdout)
        assert [r["Status"] for r in replicas] == ["Running"]
        metrics = json.loads(
            cli.run("endpoints", "metrics", "iris", "--metric", "Invocations", "--json").stdout
        )
        assert sum(p["Value"] for p in metrics) == 4
    finally:
        cli.run("endpoints", "delete", "iris", "--wait", check=False)
    assert json.loads(cli.run("endpoints", "list", "--json").stdout) == []
    cli.run("endpoint-configs", "delete", "iris")
    cli.run("models", "delete", "iris")
    assert json.loads(cli.run("models", "list", "--json").stdout) == []
