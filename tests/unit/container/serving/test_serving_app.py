"""The routes and the handler chain, called in-process with a user's inference.py."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from modelyard.container.http import Request, Response
from modelyard.container.serving_app import InferenceApp
from modelyard.container.serving_settings import ServingSettings

HANDLERS = """
import json, time

def model_fn(model_dir):
    return {"scale": 2}

def input_fn(input_data, content_type):
    if content_type != "application/json":
        raise ValueError(f"only JSON, not {content_type}")
    return json.loads(input_data)

def predict_fn(data, model, context):
    if data == "boom":
        raise ValueError("the model cannot take 'boom'")
    if data == "slow":
        time.sleep(5)
    if data == "attrs":
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "seen=1")
        return context.custom_attributes
    return [x * model["scale"] for x in data]

def output_fn(prediction, accept):
    if accept == "text/plain":
        return str(prediction)
    if accept == "application/x-tuple":
        return json.dumps(prediction).encode(), "application/vnd.custom"
    return json.dumps(prediction)
"""


def make_app(tmp_path: Path, source: str | None = HANDLERS, **settings: Any) -> InferenceApp:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    if source is not None:
        (code / "inference.py").write_text(textwrap.dedent(source))
    app = InferenceApp.load(ServingSettings(base_dir=tmp_path, **settings))
    app.timer.install()
    return app


def invoke(app: InferenceApp, body: bytes, **headers: str) -> Response:
    names = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return app.handle(Request("POST", "/invocations", "HTTP/1.1", names, body))


def get(app: InferenceApp, path: str) -> Response:
    return app.handle(Request("GET", path, "HTTP/1.1", {}))


def error_of(response: Response) -> dict[str, str]:
    assert response.content_type == "application/json"
    detail: dict[str, str] = json.loads(response.body)["error"]
    return detail


def test_ping_and_an_invocation(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    assert get(app, "/ping").status == 200
    assert get(app, "/ping").body == b""
    response = invoke(app, b"[1, 2]", content_type="application/json")
    assert (response.status, response.body) == (200, b"[2, 4]")
    assert response.content_type == "application/json"  # the default Accept


def test_missing_content_type_is_json_and_any_accept_is_the_default(tmp_path: Path) -> None:
    app = make_app(tmp_path, default_accept="application/json")
    response = invoke(app, b"[3]", accept="*/*")
    assert (response.status, response.content_type) == (200, "application/json")


def test_handler_return_types(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    text = invoke(app, b"[1]", content_type="application/json", accept="text/plain")
    assert (text.body, text.content_type) == (b"[2]", "text/plain")
    pair = invoke(app, b"[1]", content_type="application/json", accept="application/x-tuple")
    assert (pair.body, pair.content_type) == (b"[2]", "application/vnd.custom")


def test_predict_fn_raising_is_a_model_error_without_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(tmp_path)
    response = invoke(app, b'"boom"', content_type="application/json")
    assert response.status == 500
    assert error_of(response) == {
        "code": "ModelError",
        "message": "the model cannot take 'boom'",
        "type": "ValueError",
        "handler": "predict_fn",
    }
    assert b"Traceback" not in response.body
    assert "Traceback" in caplog.text
    assert "predict_fn" in caplog.text


def test_user_input_fn_refusing_a_type_is_a_model_error(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    response = invoke(app, b"1,2", content_type="text/csv")
    assert response.status == 500
    assert error_of(response)["handler"] == "input_fn"


def test_invalid_utf8_json_is_400(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    response = invoke(app, b'["\xff"]', content_type="application/json")
    assert response.status == 400
    assert error_of(response)["code"] == "InvalidInput"
    assert "byte offset 2" in error_of(response)["message"]


def test_custom_attributes_reach_the_handler_and_come_back(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    response = invoke(
        app,
        b'"attrs"',
        content_type="application/json",
        x_amzn_sagemaker_custom_attributes="trace-id=7",
    )
    assert response.status == 200
    assert response.body == b'"trace-id=7"'
    assert ("X-Amzn-SageMaker-Custom-Attributes", "seen=1") in response.headers


def test_a_slow_model_is_answered_504_and_the_worker_goes_on(tmp_path: Path) -> None:
    app = make_app(tmp_path, model_timeout_s=0.2)
    response = invoke(app, b'"slow"', content_type="application/json")
    assert response.status == 504
    assert error_of(response)["code"] == "ModelTimeout"
    assert "SAGEMAKER_MODEL_SERVER_TIMEOUT" in error_of(response)["message"]
    assert invoke(app, b"[1]", content_type="application/json").status == 200


def test_model_fn_raising_leaves_the_replica_unready(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, "def model_fn(model_dir):\n    raise RuntimeError('weights missing')\n"
    )
    assert not app.ready
    ping = get(app, "/ping")
    assert ping.status == 503
    assert error_of(ping) == {
        "code": "ModelError",
        "message": "weights missing",
        "type": "RuntimeError",
        "handler": "model_fn",
    }
    response = invoke(app, b"[1]", content_type="application/json")
    assert response.status == 500
    assert error_of(response)["message"] == "weights missing"


def test_a_wrong_signature_leaves_the_replica_unready(tmp_path: Path) -> None:
    app = make_app(tmp_path, "def model_fn(): pass\n")
    ping = get(app, "/ping")
    assert ping.status == 503
    detail = error_of(ping)
    assert detail["type"] == "HandlerSignatureError"
    assert detail["handler"] == "model_fn"
    assert "model_fn()" in detail["message"]


def test_transform_fn_with_context(tmp_path: Path) -> None:
    source = """
    def model_fn(model_dir, context):
        return context.system_properties["model_dir"]

    def transform_fn(model, input_data, content_type, accept, context):
        return {"model": model.rsplit("/", 1)[-1], "ct": content_type, "body": input_data}
    """
    app = make_app(tmp_path, source)
    response = invoke(app, b"1,2", content_type="text/csv")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert json.loads(response.body) == {"model": "model", "ct": "text/csv", "body": "1,2"}


def test_other_routes(tmp_path: Path) -> None:
    app = make_app(tmp_path, max_payload_mb=20, batch_strategy="SINGLE_RECORD")
    params = get(app, "/execution-parameters")
    assert json.loads(params.body) == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "SINGLE_RECORD",
        "MaxPayloadInMB": 20,
    }
    assert error_of(get(app, "/nope"))["code"] == "NotFound"
    wrong = get(app, "/invocations")
    assert (wrong.status, error_of(wrong)["code"]) == (405, "MethodNotAllowed")
    assert ("Allow", "POST") in wrong.headers


def test_the_training_script_doubles_as_the_handler_module(tmp_path: Path) -> None:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "train.py").write_text(
        textwrap.dedent(
            """
            import sys

            def model_fn(model_dir):
                return "trained"

            def predict_fn(data, model):
                return [model]

            if __name__ == "__main__":
                sys.exit("training must not run at serve time")
            """
        )
    )
    app = InferenceApp.load(
        ServingSettings(base_dir=tmp_path, program="train.py", framework="sklearn")
    )
    assert app.ready
    response = invoke(app, b"[[1]]", content_type="application/json")
    assert (response.status, response.body) == (200, b'["trained"]')
