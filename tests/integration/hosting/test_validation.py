"""Requests refused before anything runs: each a 400/404/409 naming the field."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import Hosting, variant


def _refused(response: httpx.Response, status: int, field: str, words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error.get("field") == field, error
    assert words in error["message"], error


def test_models_configs_and_endpoints_are_checked_at_create(hosting: Hosting) -> None:
    uri = hosting.upload(hosting.artifacts.logistic, "ok/model.tar.gz")
    post = hosting.http.post

    def model(**container: Any) -> httpx.Response:
        return post("/models", json={"ModelName": "m", "PrimaryContainer": container})

    _refused(model(Image="nope:1"), 400, "PrimaryContainer.Image", "no such image")
    _refused(
        model(Image="sklearn:1.5", ModelDataUrl="s3://models/missing.tar.gz"),
        400,
        "PrimaryContainer.ModelDataUrl",
        "could not find model data",
    )
    _refused(
        model(Image="sklearn:1.5", Mode="MultiModel"), 400, "PrimaryContainer.Mode", "MultiModel"
    )
    _refused(
        model(Image="sklearn:1.5", Environment={"SAGEMAKER_SUBMIT_DIRECTORY": "code"}),
        400,
        "PrimaryContainer.Environment.SAGEMAKER_SUBMIT_DIRECTORY",
        "sourcedir.tar.gz",
    )
    assert model(Image="sklearn:1.5", ModelDataUrl=uri).status_code == 201
    _refused(model(Image="sklearn:1.5"), 409, "ModelName", "already existing model")

    def config(name: str = "c", **extra: Any) -> httpx.Response:
        body = {"EndpointConfigName": name, "ProductionVariants": [variant("A", "m")], **extra}
        return post("/endpoint-configs", json=body)

    _refused(
        post(
            "/endpoint-configs",
            json={"EndpointConfigName": "c", "ProductionVariants": [variant("A", "absent")]},
        ),
        400,
        "ProductionVariants.0.ModelName",
        "Could not find model",
    )
    bad_type = {**variant("A", "m"), "InstanceType": "ml.x9.huge"}
    _refused(
        post(
            "/endpoint-configs", json={"EndpointConfigName": "c", "ProductionVariants": [bad_type]}
        ),
        400,
        "ProductionVariants.0.InstanceType",
        "not an instance type",
    )
    _refused(
        config(ShadowProductionVariants=[variant("A", "m")]),
        400,
        "ShadowProductionVariants.0.VariantName",
        "used twice",
    )
    _refused(
        config(ShadowProductionVariants=[variant("S1", "m"), variant("S2", "m")]),
        400,
        "ShadowProductionVariants",
        "at most one shadow",
    )
    _refused(
        config(
            DataCaptureConfig={
                "InitialSamplingPercentage": 10,
                "DestinationS3Uri": "s3://no-such-bucket/x",
                "CaptureOptions": [{"CaptureMode": "Input"}],
            }
        ),
        400,
        "DataCaptureConfig.DestinationS3Uri",
        "does not exist",
    )
    _refused(
        config(AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://models/o"}}),
        400,
        "AsyncInferenceConfig",
        "not supported",
    )
    assert config().status_code == 201
    described = hosting.http.get("/endpoint-configs/c").json()
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 1.0

    _refused(
        post("/endpoints", json={"EndpointName": "e", "EndpointConfigName": "absent"}),
        404,
        "EndpointConfigName",
        "Could not find endpoint configuration",
    )
    _refused(
        post(
            "/endpoints",
            json={
                "EndpointName": "e",
                "EndpointConfigName": "c",
                "DeploymentConfig": {
                    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "latency"}]}
                },
            },
        ),
        400,
        "DeploymentConfig.AutoRollbackConfiguration.Alarms.0.AlarmName",
        "no alarm 'latency'; create it first",
    )
    _refused(
        post("/endpoints", json={"EndpointName": "bad_name", "EndpointConfigName": "c"}),
        400,
        "EndpointName",
        "pattern",
    )
    assert hosting.http.get("/endpoints/absent").status_code == 404
    assert hosting.http.delete("/endpoints/absent").status_code == 404
    _refused(
        post("/endpoints/absent/update", json={"EndpointConfigName": "c"}),
        404,
        "EndpointName",
        "Could not find endpoint",
    )
