"""Shadow variants on real replicas: copies after the answer, a report, failures kept apart."""

from __future__ import annotations

from typing import Any

from .conftest import Hosting, csv_rows, variant

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]]


def _shadowed(hosting: Hosting, name: str, shadow_model: str, weight: float = 1.0) -> None:
    hosting.create_config(
        name,
        [variant("Production", "logistic")],
        ShadowProductionVariants=[variant("Shadow", shadow_model, weight=weight)],
    )
    hosting.create_endpoint(name, name)


def _report(hosting: Hosting, name: str) -> dict[str, Any]:
    response = hosting.http.get(f"/endpoints/{name}/shadow-report")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_a_shadow_gets_copies_and_the_report_compares_it(hosting: Hosting) -> None:
    hosting.create_model("logistic", hosting.artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_model("stump", hosting.artifacts.tree, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    _shadowed(hosting, "shadowed", "stump")
    described = hosting.describe("shadowed")
    assert [v["VariantName"] for v in described["ShadowProductionVariants"]] == ["Shadow"]

    empty = _report(hosting, "shadowed")
    assert empty["SampledRequests"] == 0
    # Three at a time, so a slow shadow on a busy machine never has copies dropped
    # (more than a few copies in flight are dropped by design, and counted).
    for sent in range(3, 31, 3):
        for row in ROWS:
            answer = hosting.invoke("shadowed", csv_rows([row]), accept="application/json")
            assert answer.status_code == 200
            assert answer.headers["x-amzn-invoked-production-variant"] == "Production"
        report = hosting.wait_until(
            lambda sent=sent: (
                (found := _report(hosting, "shadowed"))["SampledRequests"] >= sent and found
            ),
            timeout_s=30,
            message="the shadow did not get its copies",
        )
    assert report["Dropped"] == 0
    assert report["ProductionVariant"] == "Production"
    assert report["ShadowVariant"] == "Shadow"
    assert report["Compared"] == 30
    # A depth-1 stump cannot tell versicolor from virginica: one row in three differs.
    assert report["AgreementRate"] == 20 / 30
    assert report["Production"]["Errors"] == report["Shadow"]["Errors"] == 0
    assert report["Production"]["LatencyP50Ms"] > 0
    assert report["Shadow"]["LatencyP99Ms"] >= report["Shadow"]["LatencyP50Ms"] > 0
    # The shadow cannot be targeted: it is not a production variant.
    targeted = hosting.invoke("shadowed", csv_rows(ROWS), X_Amzn_SageMaker_Target_Variant="Shadow")
    assert targeted.status_code == 404
    metrics = hosting.http.get(
        "/endpoints/shadowed/metrics", params={"MetricName": "Invocations"}
    ).json()["Metrics"]
    served: dict[str, float] = {}
    for point in metrics:  # summed: the test may straddle a minute
        served[point["VariantName"]] = served.get(point["VariantName"], 0.0) + point["Value"]
    assert served["Shadow"] >= 30


def test_a_failing_shadow_never_touches_production(hosting: Hosting) -> None:
    hosting.create_model("logistic", hosting.artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_model("broken", hosting.artifacts.failing, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    _shadowed(hosting, "risky", "broken", weight=0.5)
    for _ in range(40):
        answer = hosting.invoke("risky", csv_rows(ROWS), accept="application/json")
        assert answer.status_code == 200
        assert answer.json() == [0, 2, 1]
    report = hosting.wait_until(
        lambda: (found := _report(hosting, "risky"))["SampledRequests"] > 0 and found,
        timeout_s=30,
        message="no shadow copies",
    )
    # Half of the production traffic (shadow weight 0.5 / production weight 1.0) is copied.
    assert 8 <= report["SampledRequests"] <= 32
    assert report["Shadow"]["Errors"] == report["SampledRequests"] - report["Dropped"]
    assert report["Production"]["Errors"] == 0
    assert report["Compared"] == 0
    assert hosting.describe("risky")["EndpointStatus"] == "InService"


def test_an_endpoint_without_shadow_has_no_report(hosting: Hosting) -> None:
    hosting.deploy("plain", hosting.artifacts.logistic)
    response = hosting.http.get("/endpoints/plain/shadow-report")
    assert response.status_code == 400
    assert "no shadow variant" in response.json()["error"]["message"]
