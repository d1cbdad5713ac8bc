"""The content-type registry: lookup rules, Accept negotiation, every codec round trips."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse

from modelyard.formats import (
    Codec,
    UnsupportedContentTypeError,
    decode,
    encode,
    get_codec,
    normalize_content_type,
    register_codec,
    select_codec_for_accept,
    supported_content_types,
)

REQUIRED = (
    "text/csv",
    "application/json",
    "application/jsonlines",
    "application/x-recordio-protobuf",
    "application/x-parquet",
    "application/x-npy",
    "text/libsvm",
)
MATRIX = np.array([[1.0, 2.5, -3.0], [0.0, 4.0, 1e-300]])


def test_required_types_are_supported() -> None:
    assert set(REQUIRED) <= set(supported_content_types())


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("TEXT/CSV", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
        (" application/JSON ;q=1", "application/json"),
        ("application/x-jsonlines", "application/jsonlines"),
        ("application/vnd.apache.parquet", "application/x-parquet"),
    ],
)
def test_lookup_ignores_case_and_parameters(raw: str, canonical: str) -> None:
    assert get_codec(raw).content_type == canonical


def test_normalize() -> None:
    assert normalize_content_type("Text/CSV; Charset=UTF-8") == "text/csv"


def test_unknown_type_lists_the_supported_ones() -> None:
    with pytest.raises(UnsupportedContentTypeError) as info:
        get_codec("image/gif")
    error = info.value
    assert isinstance(error, ValueError)
    assert error.content_type == "image/gif"
    assert error.field == "ContentType"
    for name in REQUIRED:
        assert name in str(error)


@pytest.mark.parametrize("content_type", REQUIRED)
def test_every_codec_round_trips_a_matrix(content_type: str) -> None:
    codec = get_codec(content_type)
    body = codec.encode(MATRIX)
    assert isinstance(body, bytes)
    assert np.allclose(codec.decode_array(body), MATRIX, rtol=0, atol=0)


def test_natural_types() -> None:
    assert decode(encode({"a": [1, 2]}, "application/json"), "application/json") == {"a": [1, 2]}
    assert decode(encode([{"a": 1}, [2]], "application/jsonlines"), "application/jsonlines") == [
        {"a": 1},
        [2],
    ]
    frame = decode(encode(MATRIX, "application/x-parquet"), "application/x-parquet")
    assert isinstance(frame, pd.DataFrame)
    rows = decode(encode((MATRIX, np.array([1.0, 0.0])), "text/libsvm"), "text/libsvm")
    assert rows.labels.tolist() == [1.0, 0.0]
    sparse_body = encode(scipy.sparse.csr_matrix(MATRIX), "application/x-recordio-protobuf")
    assert np.array_equal(decode(sparse_body, "application/x-recordio-protobuf"), MATRIX)
    one_row = decode(
        encode(np.array([1.0, 2.0]), "application/x-recordio-protobuf"),
        "application/x-recordio-protobuf",
    )
    assert one_row.tolist() == [[1.0, 2.0]]
    assert get_codec("application/json").decode_array(b'{"instances": [[1, 2]]}').tolist() == [
        [1, 2]
    ]
    arrow = get_codec("application/vnd.apache.arrow.stream")
    assert np.array_equal(arrow.decode_array(arrow.encode(MATRIX)), MATRIX)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/csv", "text/csv"),
        ("image/png, text/csv;q=0.5, application/jsonlines;q=0.9", "application/jsonlines"),
        ("text/*", "text/csv"),
        ("application/x-npy;q=0, text/csv", "text/csv"),
    ],
)
def test_accept_negotiation(accept: str | None, expected: str) -> None:
    assert select_codec_for_accept(accept).content_type == expected


def test_accept_with_nothing_supported_is_refused() -> None:
    with pytest.raises(UnsupportedContentTypeError):
        select_codec_for_accept("image/png, audio/*")


def test_register_a_codec() -> None:
    def decode_text(body: bytes) -> Any:
        return body.decode()

    codec = Codec("text/x-example", decode_text, str.encode, aliases=("text/x-example-2",))
    register_codec(codec)
    try:
        assert get_codec("TEXT/X-EXAMPLE-2") is codec
        assert decode(b"hi", "text/x-example") == "hi"
        assert "text/x-example" in supported_content_types()
    finally:
        from modelyard.formats import content_types

        content_types._REGISTRY.pop("text/x-example")
        content_types._REGISTRY.pop("text/x-example-2")
        content_types._CANONICAL.remove("text/x-example")
