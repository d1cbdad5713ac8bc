"""S3 URIs, bucket names and the key rules that keep every object inside its bucket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelyard.errors import InvalidKeyError, InvalidNameError, ValidationError
from modelyard.store.local import LocalStore
from modelyard.store.uri import (
    S3Uri,
    join,
    parse_s3_uri,
    validate_bucket_name,
    validate_key,
    validate_prefix,
)


def test_parse_and_format_round_trip() -> None:
    uri = parse_s3_uri("s3://my-bucket/data/train/part-0.csv")

    assert uri == S3Uri("my-bucket", "data/train/part-0.csv")
    assert str(uri) == "s3://my-bucket/data/train/part-0.csv"
    assert uri.name == "part-0.csv"
    assert parse_s3_uri("s3://my-bucket") == S3Uri("my-bucket", "")
    assert parse_s3_uri("s3://my-bucket/prefix/").key == "prefix/"


@pytest.mark.parametrize("text", ["my-bucket/key", "http://x/y", "s3:/b/k", "", "s3://UP/k"])
def test_parse_refuses_what_is_not_an_s3_uri(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_s3_uri(text, field="S3Uri")
    assert caught.value.field == "S3Uri"


def test_join_uses_single_slashes() -> None:
    assert join("s3://bucket/data/", "train", "part-0.csv") == "s3://bucket/data/train/part-0.csv"
    assert join("s3://bucket", "/model/", "out/") == "s3://bucket/model/out/"
    assert str(S3Uri("bucket", "a").child("b")) == "s3://bucket/a/b"


@pytest.mark.parametrize(
    "name", ["abc", "my-bucket", "my.bucket.v2", "a" * 63, "0-models", "sagemaker-us-east-1"]
)
def test_valid_bucket_names(name: str) -> None:
    assert validate_bucket_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "My-Bucket",
        "-start",
        "end-",
        "under_score",
        "a..b",
        "a.-b",
        "192.168.5.4",
        "xn--bucket",
        "bucket-s3alias",
        ".meta",
        "with space",
    ],
)
def test_invalid_bucket_names_say_why(name: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        validate_bucket_name(name)
    assert caught.value.field == "Bucket"
    assert "3-63 lowercase" in caught.value.message


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "data/train/part-0.csv",
        ".hidden",
        "a/..b",
        "...",
        "dir/file.tar.gz",
        "é/日本",
        "with space",
        "x" * 1024,
    ],
)
def test_valid_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("", "empty"),
        ("../x", "'..'"),
        ("a/../../b", "'..'"),
        ("a/./b", "'.'"),
        (".", "'.'"),
        ("/abs", "leading slash"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a\\b", "backslash"),
        ("a//b", "empty segment"),
        ("dir/", "folder"),
        ("x" * 1025, "1024"),
        ("é" * 513, "1024"),
        ("\ud800", "UTF-8"),
    ],
)
def test_invalid_keys_are_refused_with_a_reason(key: str, hint: str) -> None:
    with pytest.raises(InvalidKeyError) as caught:
        validate_key(key)
    assert caught.value.field == "Key"
    assert caught.value.http_status == 400
    assert hint in caught.value.message


def test_prefixes_may_end_mid_segment_or_with_a_slash() -> None:
    for prefix in ["", "data/", "data/par", "data/.", "a/.."]:
        assert validate_prefix(prefix) == prefix
    for prefix in ["../", "/abs", "a/../b/", "a\x00", "a//b"]:
        with pytest.raises(InvalidKeyError) as caught:
            validate_prefix(prefix)
        assert caught.value.field == "Prefix"


# Property: no key the validator accepts resolves outside its bucket.

segment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)
segments = st.one_of(segment_text, st.sampled_from([".", "..", "", "/", "\\", "\x00", "..\\.."]))
keys = st.lists(segments, min_size=1, max_size=6).map("/".join)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=keys)
def test_no_accepted_key_resolves_outside_its_bucket(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "store")
    store.create_bucket("jail", exist_ok=True)
    bucket_dir = os.path.realpath(store.root / "jail")

    try:
        validate_key(key)
    except InvalidKeyError:
        with pytest.raises(InvalidKeyError):
            store.put_object("jail", key, b"x")
        return
    store.put_object("jail", key, b"x")
    written = os.path.realpath(store.root.joinpath("jail", *key.split("/")))
    assert written.startswith(bucket_dir + os.sep)
    assert store.get_object("jail", key) == b"x"
    store.delete_object("jail", key)
