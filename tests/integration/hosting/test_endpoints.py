"""Endpoints of real sklearn:1.5 replicas: deploy, invoke in every content type, bad input."""

from __future__ import annotations

import io
import json
from collections import Counter

import numpy as np

from modelyard.formats import decode_to_numpy, encode_dense, write_npy

from .conftest import Hosting, csv_rows, json_body, variant

ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]]
LABELS = [0, 2, 1]


def test_an_endpoint_serves_every_content_type_and_names_its_variant(hosting: Hosting) -> None:
    described = hosting.deploy("iris", hosting.artifacts.logistic)
    (summary,) = described["ProductionVariants"]
    assert summary["VariantName"] == "AllTraffic"
    assert summary["CurrentInstanceCount"] == summary["DesiredInstanceCount"] == 1
    assert summary["CurrentWeight"] == 1.0
    assert summary["DeployedImages"][0]["SpecifiedImage"] == "sklearn:1.5"

    rows = np.array(ROWS)
    bodies = {
        "text/csv": csv_rows(ROWS),
        "application/json": json_body(ROWS),
        "application/jsonlines": b"".join(json_body(r) + b"\n" for r in ROWS),
        "application/x-npy": write_npy(rows),
        "application/x-recordio-protobuf": encode_dense(rows.astype(np.float32)),
    }
    for content_type, body in bodies.items():
        response = hosting.invoke("iris", body, content_type, accept="application/json")
        assert response.status_code == 200, (content_type, response.text)
        assert response.headers["x-amzn-invoked-production-variant"] == "AllTraffic"
        assert json.loads(response.content) == LABELS, content_type

    csv_answer = hosting.invoke("iris", bodies["text/csv"], accept="text/csv")
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert [int(float(v)) for v in csv_answer.text.split()] == LABELS
    npy_answer = hosting.invoke("iris", bodies["text/csv"], accept="application/x-npy")
    assert np.load(io.BytesIO(npy_answer.content)).tolist() == LABELS
    protobuf_answer = hosting.invoke(
        "iris", bodies["text/csv"], accept="application/x-recordio-protobuf"
    )
    assert decode_to_numpy(protobuf_answer.content)[0].ravel().astype(int).tolist() == LABELS


def test_bad_invocations_are_clear_4xx_and_the_endpoint_stays_in_service(
    hosting: Hosting,
) -> None:
    hosting.deploy("iris", hosting.artifacts.logistic)

    unknown = hosting.invoke("nothing-here", csv_rows(ROWS))
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "ResourceNotFound"

    wrong_type = hosting.invoke("iris", b"\x00\x01", "image/png")
    assert wrong_type.status_code == 415, wrong_type.text
    assert "image/png" in wrong_type.json()["error"]["message"]

    malformed = hosting.invoke("iris", b"1,2,three\n4,5", "text/csv")
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["error"]["code"] == "InvalidInput"

    too_large = hosting.invoke("iris", b"1," * (3 * 2**20 + 1), "text/csv")
    assert too_large.status_code == 413
    assert "limit" in too_large.json()["error"]["message"]

    unknown_variant = hosting.invoke("iris", csv_rows(ROWS), X_Amzn_SageMaker_Target_Variant="Nope")
    assert unknown_variant.status_code == 404
    assert "Nope" in unknown_variant.json()["error"]["message"]

    # The model itself fails (wrong number of features): 424 with its message.
    model_error = hosting.invoke("iris", b"1,2\n", "text/csv")
    assert model_error.status_code == 424, model_error.text
    error = model_error.json()["error"]
    assert error["code"] == "ModelError"
    assert error["OriginalStatusCode"] == 500
    assert "features" in error["OriginalMessage"]

    assert hosting.describe("iris")["EndpointStatus"] == "InService"
    ok = hosting.invoke("iris", csv_rows(ROWS), accept="application/json")
    assert ok.status_code == 200
    assert ok.json() == LABELS


def test_a_model_whose_model_fn_raises_answers_424_with_its_error(hosting: Hosting) -> None:
    hosting.create_model("good", hosting.artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_model("broken", hosting.artifacts.failing, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_config(
        "mixed", [variant("Good", "good", weight=1.0), variant("Broken", "broken", weight=0.0)]
    )
    described = hosting.create_endpoint("mixed", "mixed")
    broken = next(v for v in described["ProductionVariants"] if v["VariantName"] == "Broken")
    assert "the weights file is corrupt" in json.dumps(broken.get("VariantStatus"))

    answer = hosting.invoke("mixed", csv_rows(ROWS), X_Amzn_SageMaker_Target_Variant="Broken")
    assert answer.status_code == 424, answer.text
    assert answer.headers["x-amzn-invoked-production-variant"] == "Broken"
    assert "the weights file is corrupt" in answer.json()["error"]["OriginalMessage"]
    assert hosting.describe("mixed")["EndpointStatus"] == "InService"
    good = hosting.invoke("mixed", csv_rows(ROWS), accept="application/json")
    assert good.status_code == 200
    assert good.json() == LABELS


def test_custom_attributes_pass_both_ways(hosting: Hosting) -> None:
    hosting.deploy("echo", hosting.artifacts.sleepy)
    answer = hosting.invoke(
        "echo",
        csv_rows(ROWS),
        accept="application/json",
        X_Amzn_SageMaker_Custom_Attributes="trace=abc",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == LABELS
    assert answer.headers["x-amzn-sagemaker-custom-attributes"] == "echo:trace=abc"


def test_traffic_splits_70_30_by_weight(hosting: Hosting) -> None:
    hosting.create_model("first", hosting.artifacts.logistic, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_model("second", hosting.artifacts.tree, SAGEMAKER_MODEL_SERVER_WORKERS="1")
    hosting.create_config(
        "split", [variant("Seventy", "first", weight=0.7), variant("Thirty", "second", weight=0.3)]
    )
    described = hosting.create_endpoint("split", "split")
    weights = {v["VariantName"]: v["CurrentWeight"] for v in described["ProductionVariants"]}
    assert weights == {"Seventy": 0.7, "Thirty": 0.3}
    served = Counter(
        hosting.invoke("split", csv_rows(ROWS[:1])).headers["x-amzn-invoked-production-variant"]
        for _ in range(1000)
    )
    assert abs(served["Seventy"] / 1000 - 0.7) <= 0.05, served
    assert abs(served["Thirty"] / 1000 - 0.3) <= 0.05, served
    targeted = hosting.invoke("split", csv_rows(ROWS[:1]), X_Amzn_SageMaker_Target_Variant="Thirty")
    assert targeted.headers["x-amzn-invoked-production-variant"] == "Thirty"


def test_an_inference_pipeline_model_holds_one_to_fifteen_containers(hosting: Hosting) -> None:
    uri = hosting.upload(hosting.artifacts.logistic, "pipeline/model.tar.gz")
    container = {"Image": "sklearn:1.5", "ModelDataUrl": uri}
    created = hosting.http.post(
        "/models", json={"ModelName": "chain", "Containers": [container, container]}
    )
    assert created.status_code == 201, created.text
    assert len(hosting.http.get("/models/chain").json()["Containers"]) == 2
    both = hosting.http.post(
        "/models",
        json={"ModelName": "both", "PrimaryContainer": container, "Containers": [container]},
    )
    assert both.status_code == 400
    assert "exactly one of PrimaryContainer" in both.json()["error"]["message"]
    sixteen = hosting.http.post(
        "/models", json={"ModelName": "long", "Containers": [container] * 16}
    )
    assert sixteen.status_code == 400
    assert "Containers" in sixteen.json()["error"]["message"]
