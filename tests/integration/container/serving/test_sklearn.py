"""A scikit-learn LogisticRegression on iris, served by the default handlers of sklearn:1.5."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from modelyard.formats import decode_to_numpy, encode_dense, write_libsvm, write_npy

from .conftest import Replica, StartReplica, run_in_image

TRAIN = """
import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
joblib.dump(LogisticRegression(max_iter=1000).fit(X, y), "model/model.joblib")
"""

ROWS = np.array([[5.1, 3.5, 1.4, 0.2], [6.2, 3.4, 5.4, 2.3], [5.9, 3.0, 4.2, 1.5]])
LABELS = [0, 2, 1]


@pytest.fixture(scope="module")
def replica(
    image_python: Callable[[str, str], Path],
    module_replica: StartReplica,
    tmp_path_factory: pytest.TempPathFactory,
) -> Replica:
    base = tmp_path_factory.mktemp("sklearn")
    (base / "model").mkdir()
    python = image_python("sklearn", "1.5")
    run_in_image(python, TRAIN, base)
    return module_replica(python, base, workers=2, SAGEMAKER_MAX_PAYLOAD_IN_MB="1")


def csv_body() -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in ROWS).encode()


BODIES = {
    "text/csv": csv_body(),
    "application/json": json.dumps(ROWS.tolist()).encode(),
    "application/jsonlines": b"".join(json.dumps(r).encode() + b"\n" for r in ROWS.tolist()),
    "application/x-npy": write_npy(ROWS),
    "application/x-recordio-protobuf": encode_dense(ROWS.astype(np.float32)),
    "text/libsvm": write_libsvm(ROWS),
}


def test_ping(replica: Replica) -> None:
    reply = replica.request("GET", "/ping")
    assert (reply.status, reply.body) == (200, b"")


@pytest.mark.parametrize("content_type", sorted(BODIES))
def test_every_content_type_in(replica: Replica, content_type: str) -> None:
    reply = replica.invoke(BODIES[content_type], content_type)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert json.loads(reply.body) == LABELS


def test_json_instances_and_inputs(replica: Replica) -> None:
    for key in ("instances", "inputs"):
        body = json.dumps({key: ROWS.tolist()}).encode()
        assert json.loads(replica.invoke(body, "application/json").body) == LABELS


@pytest.mark.parametrize(
    ("accept", "decode"),
    [
        ("application/json", lambda b: json.loads(b)),
        ("text/csv", lambda b: [int(float(x)) for x in b.split()]),
        ("application/jsonlines", lambda b: [json.loads(x) for x in b.splitlines()]),
        ("application/x-npy", lambda b: np.load(io.BytesIO(b)).tolist()),
        (
            "application/x-recordio-protobuf",
            lambda b: decode_to_numpy(b)[0].ravel().astype(int).tolist(),
        ),
    ],
)
def test_every_content_type_out(
    replica: Replica, accept: str, decode: Callable[[bytes], list[int]]
) -> None:
    reply = replica.invoke(BODIES["text/csv"], "text/csv", accept)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == accept
    assert decode(reply.body) == LABELS


def test_unsupported_content_type_is_415(replica: Replica) -> None:
    reply = replica.invoke(b"\x89PNG", "image/png")
    assert reply.status == 415
    error = json.loads(reply.body)["error"]
    assert error["code"] == "UnsupportedContentType"
    assert "text/csv" in error["message"]


def test_malformed_csv_is_400_naming_the_line(replica: Replica) -> None:
    reply = replica.invoke(b"5.1,3.5,1.4,0.2\n6.2,3.4\n", "text/csv")
    assert reply.status == 400
    error = json.loads(reply.body)["error"]
    assert error["code"] == "InvalidInput"
    assert "line 2" in error["message"]


def test_wrong_feature_count_is_a_model_error(replica: Replica) -> None:
    reply = replica.invoke(b"1,2\n", "text/csv")
    assert reply.status == 500
    error = json.loads(reply.body)["error"]
    assert (error["code"], error["handler"], error["type"]) == (
        "ModelError",
        "predict_fn",
        "ValueError",
    )
    assert "features" in error["message"]


def test_unwritable_accept_is_406(replica: Replica) -> None:
    reply = replica.invoke(BODIES["text/csv"], "text/csv", "image/png")
    assert reply.status == 406


def test_body_over_the_limit_is_413_and_the_connection_closes(replica: Replica) -> None:
    body = b"1," * (1024 * 1024)
    answer = replica.raw(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in answer
    assert b'"code":"PayloadTooLarge"' in answer


def test_headers_over_the_limit_are_431(replica: Replica) -> None:
    answer = replica.raw(b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_malformed_request_is_400(replica: Replica) -> None:
    answer = replica.raw(b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b'"code":"BadRequest"' in answer


def test_keep_alive_pipelining_chunked_and_expect_continue(replica: Replica) -> None:
    csv = csv_body()
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, csv[:10], len(csv) - 10, csv[10:])
    answer = replica.raw(
        b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"
        + b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        + b"Content-Length: %d\r\n\r\n%s" % (len(csv), csv)
        + b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + chunked
        + b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert re.findall(rb"HTTP/1\.1 \d{3}", answer) == [b"HTTP/1.1 200"] * 4
    assert answer.count(b"[0,2,1]") == 2
    assert answer.endswith(b"\r\n\r\n")  # the last ping: empty body, then closed


def test_expect_100_continue(replica: Replica) -> None:
    import socket

    csv = csv_body()
    with socket.create_connection(("127.0.0.1", replica.port), timeout=10) as sock:
        sock.sendall(
            b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(csv)
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(csv)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"[0,2,1]")


def test_execution_parameters(replica: Replica) -> None:
    reply = replica.request("GET", "/execution-parameters")
    assert json.loads(reply.body) == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 1,
    }
