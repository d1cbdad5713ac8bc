"""Compilation jobs are stopped on request and survive a control-plane restart."""

from __future__ import annotations

import time
from pathlib import Path

from modelyard.edge.compilation import HANDLE_KEY, CompilationController
from modelyard.ids import ResourceKind
from tests.integration.edge.conftest import Plane
from tests.unit.edge import models


def _body(name: str, uri: str) -> dict[str, object]:
    return {
        "CompilationJobName": name,
        "InputConfig": {"S3Uri": uri, "Framework": "SKLEARN"},
        "OutputConfig": {"S3OutputLocation": "s3://edge/out", "TargetDevice": "ml_c5"},
    }


def test_a_stopped_job_ends_stopped(plane: Plane, tmp_path: Path) -> None:
    models.sklearn_model(tmp_path / "model", "forest")
    uri = plane.put_model_dir("m/model.tar.gz", tmp_path / "model")
    plane.client.post_json("/compilation-jobs", _body("stop-me", uri))
    plane.client.post_json("/compilation-jobs/stop-me/stop")
    described = plane.wait("compilation-jobs", "stop-me", "CompilationJobStatus")
    assert described["CompilationJobStatus"] == "STOPPED"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] is None


def test_a_restarted_controller_adopts_or_fails_what_was_running(
    plane: Plane, tmp_path: Path
) -> None:
    services = plane.services
    models.sklearn_model(tmp_path / "model", "logistic")
    uri = plane.put_model_dir("m/model.tar.gz", tmp_path / "model")
    services.edge.compilation.shutdown()  # the old server goes away...
    first = CompilationController(
        services.catalog, services.store, services.runtime, services.images, services.settings
    )
    first.create(_body("adopted", uri))
    deadline = time.monotonic() + 60
    while not first.get("adopted").state.get(HANDLE_KEY):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.shutdown()  # ...while its compilation runs on
    assert first.get("adopted").status == "INPROGRESS"
    services.catalog.create(
        ResourceKind.COMPILATION_JOB, "caught", spec=first.get("adopted").spec, status="INPROGRESS"
    )
    second = CompilationController(
        services.catalog, services.store, services.runtime, services.images, services.settings
    )
    second.reconcile()
    assert second.wait("adopted", timeout_s=120).status == "COMPLETED"
    caught = second.get("caught")
    assert caught.status == "FAILED"
    assert "restarted before the compilation was launched" in (caught.failure_reason or "")
    second.shutdown()
