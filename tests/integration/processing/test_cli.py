"""``modelyard processing-jobs`` and ``modelyard logs processing-job`` against a served plane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import common
from modelyard.cli import logs as logs_cli
from modelyard.cli import processing_jobs as processing_cli
from modelyard.cli.main import app
from tests.integration.processing.conftest import Plane, job_body


@pytest.fixture
def runner(plane: Plane, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for module in (common, logs_cli, processing_cli):  # never a background server
        monkeypatch.setattr(module, "client", lambda: plane.client)
    return CliRunner()


def test_create_follow_list_describe_logs_and_stop(
    plane: Plane, runner: CliRunner, tmp_path: Path
) -> None:
    body = job_body("cli-job", inputs=[plane.script("main", "print('hello from the job')")])
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))

    created = runner.invoke(app, ["processing-jobs", "create", "--body", str(request), "-f"])
    assert created.exit_code == 0, created.output
    assert ":processing-job/cli-job" in created.output
    assert "hello from the job" in created.output

    listed = runner.invoke(app, ["processing-jobs", "list", "--json"])
    assert [row["ProcessingJobName"] for row in json.loads(listed.output)] == ["cli-job"]
    described = runner.invoke(app, ["processing-jobs", "describe", "cli-job"])
    assert json.loads(described.output)["ProcessingJobStatus"] == "Completed"
    logs = runner.invoke(app, ["logs", "processing-job", "cli-job", "--follow"])
    assert logs.output == "hello from the job\n"

    stopped = runner.invoke(app, ["processing-jobs", "stop", "cli-job"])
    assert stopped.exit_code == 1
    assert "cli-job' is Completed" in stopped.output
    missing = runner.invoke(app, ["processing-jobs", "describe", "nope"])
    assert missing.exit_code == 1


def test_a_bad_request_names_the_field(plane: Plane, runner: CliRunner, tmp_path: Path) -> None:
    body = job_body("cli-bad")
    body["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.nothing.huge"
    request = tmp_path / "request.json"
    request.write_text(json.dumps(body))
    result = runner.invoke(app, ["processing-jobs", "create", "--body", str(request)])
    assert result.exit_code == 1
    assert "ProcessingResources.ClusterConfig.InstanceType" in result.output
