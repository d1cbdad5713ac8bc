"""Hyperparameters become SM_* values and argv exactly as the toolkit encodes them."""

from __future__ import annotations

import pytest

from modelyard.container.encoding import (
    decode_hyperparameters,
    encode_env_value,
    to_cmd_args,
    to_env_vars,
)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("3", 3),
        ("0.001", 0.001),
        ("1e-3", 0.001),
        ("true", True),
        ("false", False),
        ("null", None),
        ('"quoted"', "quoted"),
        ("plain words", "plain words"),
        ("[1, 2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ("01", "01"),  # not JSON: kept as the string
        ("", ""),
    ],
)
def test_hyperparameter_strings_are_json_decoded_when_they_parse(raw: str, decoded: object) -> None:
    assert decode_hyperparameters({"k": raw}) == {"k": decoded}


def test_non_string_values_pass_through_decoding() -> None:
    assert decode_hyperparameters({"k": 5}) == {"k": 5}


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("text", "text"),
        (None, ""),
        (True, "true"),
        (3, "3"),
        (0.5, "0.5"),
        ([1, "a"], '[1,"a"]'),
        ({"b": 1, "a": [2]}, '{"a":[2],"b":1}'),
        ("ünï", "ünï"),  # strings are not JSON-escaped
        (["ü"], '["\\u00fc"]'),  # inside JSON they are, ASCII only
        (b"bytes", "bytes"),
    ],
)
def test_env_values(value: object, encoded: str) -> None:
    assert encode_env_value(value) == encoded


def test_env_keys_are_prefixed_and_upper_cased_only() -> None:
    assert to_env_vars({"hp_batch-size": 64, "channel_Val.1": "/d"}) == {
        "SM_HP_BATCH-SIZE": "64",
        "SM_CHANNEL_VAL.1": "/d",
    }


def test_argv_is_sorted_with_double_dash_and_str_values() -> None:
    args = to_cmd_args(
        {"lr": 0.001, "epochs": 3, "flag": True, "off": False, "name": "resnet", "x": 1}
    )
    assert args == [
        "--epochs", "3",
        "--flag", "True",
        "--lr", "0.001",
        "--name", "resnet",
        "--off", "False",
        "-x", "1",
    ]  # fmt: skip


def test_argv_encodes_lists_by_repr_dicts_as_pairs_and_none_as_empty() -> None:
    args = to_cmd_args({"lst": [1, "a"], "dct": {"b": 2, "a": "x"}, "nothing": None})
    assert args == ["--dct", "a=x,b=2", "--lst", "[1, 'a']", "--nothing", ""]


def test_argv_of_decoded_json_string_drops_the_quotes() -> None:
    assert to_cmd_args(decode_hyperparameters({"model": '"bert-base"'})) == [
        "--model",
        "bert-base",
    ]
