"""A custom inference.py, failing handlers, workers in parallel, restarts and SIGTERM drains."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Replica, Reply, StartReplica, write_inference

HANDLERS = """
import json, os, time

def model_fn(model_dir, context):
    return {"dir": os.path.basename(model_dir)}

def input_fn(request_body, request_content_type):
    return json.loads(request_body)

def predict_fn(data, model, context):
    if data.get("raise"):
        raise ArithmeticError(data["raise"])
    time.sleep(data.get("sleep", 0))
    if data.get("native"):
        sum(range(10**12))  # a C loop that never returns to the interpreter
    return {"pid": os.getpid(), "model": model["dir"], "attrs": context.custom_attributes}

def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


@pytest.fixture
def python(image_python: Callable[[str, str], Path]) -> Path:
    return image_python("sklearn", "1.5")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    write_inference(tmp_path, HANDLERS)
    return tmp_path


def call(replica: Replica, payload: dict[str, object], **headers: str) -> Reply:
    return replica.request(
        "POST",
        "/invocations",
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **headers},
    )


def test_custom_handlers_and_custom_attributes(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base)
    reply = call(replica, {}, **{"X-Amzn-SageMaker-Custom-Attributes": "trace=42"})
    assert reply.status == 200
    body = json.loads(reply.body)
    assert (body["model"], body["attrs"]) == ("model", "trace=42")
    assert "predict_fn (with context) from code/inference.py" in replica.logs()


def test_predict_fn_raising_answers_the_model_error(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base)
    reply = call(replica, {"raise": "division by zero in layer 3"})
    assert reply.status == 500
    assert json.loads(reply.body) == {
        "error": {
            "code": "ModelError",
            "message": "division by zero in layer 3",
            "type": "ArithmeticError",
            "handler": "predict_fn",
        }
    }
    assert "Traceback" in replica.logs()
    assert call(replica, {}).status == 200, "the worker goes on serving"


def test_model_fn_raising_keeps_ping_unready_with_a_clear_log(
    python: Path, tmp_path: Path, start_replica: StartReplica
) -> None:
    write_inference(
        tmp_path,
        "def model_fn(model_dir):\n    raise FileNotFoundError('weights.bin is missing')\n",
    )
    replica = start_replica(python, tmp_path)
    ping = replica.request("GET", "/ping")
    assert ping.status == 503
    assert json.loads(ping.body)["error"]["message"] == "weights.bin is missing"
    invocation = replica.request("POST", "/invocations", b"[1]")
    assert invocation.status == 500
    assert json.loads(invocation.body)["error"]["handler"] == "model_fn"
    logs = replica.logs()
    assert "the model failed to load, /ping answers 503: model_fn: weights.bin is missing" in logs
    assert 'raise FileNotFoundError("weights.bin is missing")' in logs.replace("'", '"')


def test_a_wrong_signature_is_reported_at_load(
    python: Path, tmp_path: Path, start_replica: StartReplica
) -> None:
    write_inference(
        tmp_path,
        "def model_fn(model_dir): return 1\ndef predict_fn(data): return data\n",
    )
    replica = start_replica(python, tmp_path)
    ping = replica.request("GET", "/ping")
    assert ping.status == 503
    assert "predict_fn(data)" in json.loads(ping.body)["error"]["message"]
    assert "expected predict_fn(data, model)" in replica.logs()


def test_the_model_timeout_is_answered_504(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base, SAGEMAKER_MODEL_SERVER_TIMEOUT="1")
    started = time.monotonic()
    reply = call(replica, {"sleep": 30})
    assert reply.status == 504
    assert time.monotonic() - started < 10
    assert json.loads(reply.body)["error"]["code"] == "ModelTimeout"
    assert call(replica, {}).status == 200


def test_a_worker_stuck_in_native_code_is_killed_and_replaced(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base, SAGEMAKER_MODEL_SERVER_TIMEOUT="1")
    [stuck] = replica.worker_pids()
    started = time.monotonic()
    with pytest.raises(http.client.RemoteDisconnected):
        call(replica, {"native": True})
    assert time.monotonic() - started < 10
    replica.wait_for_log(rf"worker 1 \(pid {stuck}\) has been in one request for")
    replica.wait_ready(2)
    reply = call(replica, {})
    assert reply.status == 200
    assert json.loads(reply.body)["pid"] != stuck


def concurrently(replica: Replica, payloads: list[dict[str, object]]) -> list[Reply]:
    replies: list[Reply | None] = [None] * len(payloads)

    def run(index: int) -> None:
        replies[index] = call(replica, payloads[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(reply is not None for reply in replies)
    return [reply for reply in replies if reply is not None]


def test_two_workers_answer_concurrently(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base, workers=2)
    started = time.monotonic()
    replies = concurrently(replica, [{"sleep": 1.0}, {"sleep": 1.0}])
    elapsed = time.monotonic() - started
    assert [r.status for r in replies] == [200, 200]
    pids = {json.loads(r.body)["pid"] for r in replies}
    assert len(pids) == 2, "each worker took one request"
    assert elapsed < 1.9, f"the two requests were served one after the other ({elapsed:.2f} s)"


def test_a_dead_worker_is_restarted(python: Path, base: Path, start_replica: StartReplica) -> None:
    replica = start_replica(python, base, workers=2)
    first, second = replica.worker_pids()
    os.kill(second, signal.SIGKILL)
    replica.wait_for_log(rf"worker 2 \(pid {second}\) was killed by SIGKILL .*restarting")
    replica.wait_for_log(rf"worker 2 started \(pid (?!{second})\d+\)")
    replica.wait_ready(3)
    new_pid = replica.worker_pids()[-1]
    seen = {json.loads(call(replica, {"sleep": 0.2}).body)["pid"] for _ in range(2)}
    seen |= {json.loads(r.body)["pid"] for r in concurrently(replica, [{"sleep": 0.5}] * 2)}
    assert seen <= {first, new_pid}
    assert new_pid in seen


def test_sigterm_drains_in_flight_requests(
    python: Path, base: Path, start_replica: StartReplica
) -> None:
    replica = start_replica(python, base)
    # An idle keep-alive connection is closed, not left hanging.
    idle = socket.create_connection(("127.0.0.1", replica.port), timeout=10)
    result: dict[str, Reply] = {}

    def slow() -> None:
        result["reply"] = call(replica, {"sleep": 1.5})

    thread = threading.Thread(target=slow)
    thread.start()
    replica.wait_for_log(r"ready")  # already; then give the request time to arrive
    time.sleep(0.3)
    replica.process.send_signal(signal.SIGTERM)
    thread.join(30)
    assert result["reply"].status == 200, "the request in flight was answered"
    assert result["reply"].headers.get("connection") == "close"
    assert replica.process.wait(timeout=30) == 0
    assert idle.recv(1) == b"", "the idle connection was closed"
    idle.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", replica.port), timeout=5)
    assert "drained, exiting" in replica.logs()
