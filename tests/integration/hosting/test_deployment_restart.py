"""A server killed in the middle of a canary comes back to the same split, and can roll it back."""

from __future__ import annotations

from collections import Counter

from modelyard.api import server
from modelyard.config import Settings

from .conftest import Artifacts, Hosting, csv_rows, variant
from .test_restart import _kill_server, background

__all__ = ["background"]  # the fixture, shared with the restart tests

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3]]
REGRESSION = "[0, 2]"  # the logistic regression's answer; the one-split tree answers [0, 1]


def _answers(hosting: Hosting, count: int = 60) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(count):
        response = hosting.invoke("shifting", csv_rows(ROWS), accept="application/json")
        assert response.status_code == 200, response.text
        seen[response.text.replace(" ", "").replace(",", ", ")] += 1
    return seen


def _canary_share(hosting: Hosting) -> float | None:
    summary = hosting.describe("shifting").get("PendingDeploymentSummary") or {}
    (pending,) = summary.get("ProductionVariants") or [{}]
    statuses = pending.get("VariantStatus") or [{}]
    if statuses[0].get("Status") != "ActivatingTraffic" or not pending.get("CurrentInstanceCount"):
        return None
    return float(pending["CurrentWeight"])


def test_a_canary_survives_a_killed_server_and_rolls_back_after(
    background: Settings, artifacts: Artifacts
) -> None:
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.deploy("shifting", artifacts.logistic)
    hosting.create_model("stump-model", artifacts.tree, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_config("stump-config", [variant("AllTraffic", "stump-model")])
    response = hosting.http.post(
        "/endpoints/shifting/update",
        json={
            "EndpointConfigName": "stump-config",
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                        "WaitIntervalInSeconds": 3600,
                    }
                }
            },
        },
    )
    assert response.status_code == 200, response.text
    assert hosting.wait_until(lambda: _canary_share(hosting), message="no canary") == 0.5
    assert set(_answers(hosting)) == {REGRESSION, "[0, 1]"}
    hosting.http.close()

    _kill_server(background)
    hosting = Hosting(server.start_background(background), artifacts)
    hosting.bucket_ready = True
    try:
        assert hosting.wait_until(lambda: _canary_share(hosting), message="no canary after") == 0.5
        hosting.wait_until(
            lambda: len(_answers(hosting, 40)) == 2, message="both fleets do not serve again"
        )
        assert hosting.describe("shifting")["EndpointStatus"] == "Updating"

        answer = hosting.http.post("/endpoints/shifting/rollback").json()
        assert answer["RollbackType"] == "TrafficShift"
        assert set(_answers(hosting)) == {REGRESSION}
        described = hosting.describe("shifting")
        assert (described["EndpointStatus"], described["EndpointConfigName"]) == (
            "InService",
            "shifting-config",
        )
    finally:
        hosting.http.close()
