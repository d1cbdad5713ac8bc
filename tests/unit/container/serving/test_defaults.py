"""Default input_fn/output_fn per content type, and the framework defaults' model files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard.container.defaults import detect_framework, framework_handlers
from modelyard.container.defaults.common import decode_input, encode_output, single_file
from modelyard.container.serving_errors import ServingError
from modelyard.formats import decode_records, encode_dense, write_npy
from modelyard.formats.delimited import write_csv

ROWS = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("1,2,3\n4,5,6.5\n", "text/csv"),
        ("1,2,3\n4,5,6.5\n", "text/csv; charset=utf-8"),
        ("[[1,2,3],[4,5,6.5]]", "application/json"),
        ('{"instances": [[1,2,3],[4,5,6.5]]}', "application/json"),
        ('{"inputs": [[1,2,3],[4,5,6.5]]}', "Application/JSON"),
        (b"[1,2,3]\n[4,5,6.5]\n", "application/jsonlines"),
        (write_npy(ROWS), "application/x-npy"),
        (encode_dense(ROWS), "application/x-recordio-protobuf"),
    ],
)
def test_every_content_type_decodes_to_the_rows(body: str | bytes, content_type: str) -> None:
    decoded = decode_input(body, content_type, numeric=False)
    np.testing.assert_allclose(np.asarray(decoded, dtype=float), ROWS)


def test_libsvm_decodes_to_sparse_rows() -> None:
    rows = decode_input(b"0 1:1 3:3\n0 2:5\n", "text/libsvm", numeric=True)
    assert rows.shape == (2, 4)
    np.testing.assert_allclose(rows.to_dense(), [[0, 1, 0, 3], [0, 0, 5, 0]])


def test_numeric_csv_is_float32_and_strings_are_refused() -> None:
    assert decode_input("1,2\n3,4\n", "text/csv", numeric=True).dtype == np.float32
    with pytest.raises(ServingError) as info:
        decode_input("1,a\n3,4\n", "text/csv", numeric=True)
    assert (info.value.status, info.value.code) == (400, "InvalidInput")
    # scikit-learn pipelines may take strings
    assert decode_input("1,a\n", "text/csv", numeric=False).tolist() == [["1", "a"]]


@pytest.mark.parametrize(
    ("body", "content_type", "fragment"),
    [
        ("1,2,3\n4,5\n", "text/csv", "line 2"),
        ("[[1,2,3],", "application/json", "byte offset"),
        (b"[1,2]\n{oops\n", "application/jsonlines", "line 2"),
        (b"not an npy file", "application/x-npy", "npy"),
        (b"\x00\x01\x02\x03", "application/x-recordio-protobuf", "byte offset"),
        ("[[1,2],[3]]", "application/json", "array"),
    ],
)
def test_malformed_bodies_are_400_with_the_parsers_message(
    body: str | bytes, content_type: str, fragment: str
) -> None:
    with pytest.raises(ServingError) as info:
        decode_input(body, content_type, numeric=True)
    assert (info.value.status, info.value.code) == (400, "InvalidInput")
    assert fragment in info.value.message


def test_unsupported_content_type_is_415_listing_the_supported() -> None:
    with pytest.raises(ServingError) as info:
        decode_input(b"x", "image/png", numeric=False)
    assert (info.value.status, info.value.code) == (415, "UnsupportedContentType")
    for supported in ("text/csv", "application/json", "application/x-npy"):
        assert supported in info.value.message


@pytest.mark.parametrize(
    ("accept", "content_type", "check"),
    [
        ("application/json", "application/json", lambda b: json.loads(b) == [0, 1, 2]),
        ("text/csv", "text/csv", lambda b: b == b"0\n1\n2\n"),
        ("application/jsonlines", "application/jsonlines", lambda b: b == b"0\n1\n2\n"),
        (
            "application/x-npy",
            "application/x-npy",
            lambda b: np.load(__import__("io").BytesIO(b)).tolist() == [0, 1, 2],
        ),
        ("text/csv;q=0.5, application/json", "application/json", lambda b: b == b"[0,1,2]"),
        ("*/*", "application/json", lambda b: b == b"[0,1,2]"),
    ],
)
def test_outputs_per_accept(accept: str, content_type: str, check: Any) -> None:
    body, written = encode_output(np.array([0, 1, 2]), accept, "application/json")
    assert written == content_type
    assert check(body)


def test_recordio_protobuf_output_is_one_record_per_prediction() -> None:
    body, written = encode_output(np.array([0.5, 1.5]), "application/x-recordio-protobuf", "")
    assert written == "application/x-recordio-protobuf"
    assert len(decode_records(body)) == 2


@pytest.mark.parametrize(
    "prediction",
    [
        np.array([0, 1, 1, 0]),
        np.array([255, 0], dtype=np.uint8),
        np.array([2**63 - 1, -(2**63)], dtype=np.int64),
        np.array([True, False]),
        np.array([1.5, np.nan, np.inf, -np.inf, 1e300, 5e-324, 0.1 + 0.2, -0.0]),
        np.array([0.1, 2.5, -3.0], dtype=np.float32),
        np.array([1.0, 65504.0], dtype=np.float16),
        np.array([], dtype=np.int64),
        np.array(["a,b", 'say "hi"']),
        np.array([[1.5, 2.0], [3.0, np.nan]]),
        np.array(7.25),
    ],
)
def test_csv_labels_are_written_as_the_csv_writer_does(prediction: Any) -> None:
    """The one-join fast path for a batch of labels and the CSV writer agree byte for byte."""
    assert encode_output(prediction, "text/csv", "application/json") == (
        write_csv(prediction),
        "text/csv",
    )


def test_csv_bodies_read_the_same_with_or_without_a_byte_order_mark() -> None:
    plain = decode_input("1,2\n3,4\n", "text/csv", numeric=False)
    marked = decode_input("\ufeff1,2\n3,4\n", "text/csv", numeric=False)
    as_bytes = decode_input(b"\xef\xbb\xbf1,2\n3,4\n", "text/x-csv", numeric=False)
    assert plain.dtype == marked.dtype == as_bytes.dtype == np.float64
    assert np.array_equal(plain, marked)
    assert np.array_equal(plain, as_bytes)


def test_unsupported_accept_is_406() -> None:
    with pytest.raises(ServingError) as info:
        encode_output(np.array([1]), "image/png", "application/json")
    assert (info.value.status, info.value.code) == (406, "UnsupportedAccept")
    with pytest.raises(ServingError) as info:
        encode_output(np.zeros((2, 2, 2)), "text/csv", "application/json")
    assert info.value.status == 406


def test_single_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"looked for model.joblib, \*.joblib"):
        single_file(str(tmp_path), ("model.joblib",), (".joblib",))
    (tmp_path / "a.joblib").write_text("")
    assert single_file(str(tmp_path), ("model.joblib",), (".joblib",)).endswith("a.joblib")
    (tmp_path / "b.joblib").write_text("")
    with pytest.raises(ValueError, match="several model files"):
        single_file(str(tmp_path), ("model.joblib",), (".joblib",))
    (tmp_path / "model.joblib").write_text("")
    assert single_file(str(tmp_path), ("model.joblib",), (".joblib",)).endswith("model.joblib")


@pytest.mark.parametrize(
    ("files", "framework"),
    [
        (["xgboost-model"], "xgboost"),
        (["model.ubj"], "xgboost"),
        (["model.pth"], "pytorch"),
        (["model.joblib", "code"], "sklearn"),
    ],
)
def test_detect_framework_from_files(tmp_path: Path, files: list[str], framework: str) -> None:
    for name in files:
        (tmp_path / name).write_text("")
    assert detect_framework(str(tmp_path)) == framework


def test_sklearn_defaults_round_trip(tmp_path: Path) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(solver="liblinear").fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    joblib.dump(model, tmp_path / "model.joblib")
    handlers, name = framework_handlers("sklearn", "application/json")
    assert name == "sklearn"
    loaded = handlers["model_fn"](str(tmp_path))
    data = handlers["input_fn"]("0\n3\n", "text/csv")
    prediction = handlers["predict_fn"](data, loaded)
    assert handlers["output_fn"](prediction, "application/json") == (b"[0,1]", "application/json")


def test_xgboost_defaults_round_trip(tmp_path: Path) -> None:
    import xgboost as xgb

    features = np.arange(20, dtype=float).reshape(-1, 1)
    train = xgb.DMatrix(features, label=(features[:, 0] >= 10).astype(int))
    booster = xgb.train({"objective": "binary:logistic"}, train, num_boost_round=5)
    (tmp_path / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    handlers, _ = framework_handlers("xgboost", "application/json")
    model = handlers["model_fn"](str(tmp_path))
    for body, content_type in [("1\n15\n", "text/csv"), (b"0 0:1\n0 0:15\n", "text/libsvm")]:
        data = handlers["input_fn"](body, content_type)
        scores = handlers["predict_fn"](data, model)
        assert scores.shape == (2,)
        assert scores[0] < 0.5 < scores[1]
