"""How hyperparameters and the environment become strings: ``SM_*`` values and argv.

These are the toolkit's rules (``sagemaker_training/mapping.py`` and
``environment.read_hyperparameters``), reproduced exactly because scripts depend on them:

- hyperparameters.json holds strings; each is decoded with ``json.loads`` when it parses
  (``"3"`` -> 3, ``"true"`` -> True, ``"1e-3"`` -> 0.001, ``'"abc"'`` -> "abc",
  ``"[1, 2]"`` -> [1, 2]) and kept as the raw string otherwise (``"abc"``).
- ``SM_<KEY>``: the key upper-cased (nothing else changes: ``SM_HP_BATCH-SIZE``); strings
  as they are, None as ``""``, anything else compact JSON with sorted keys
  (``{"a":1}``, ``true``, ``[1,2]``).
- argv: keys sorted; ``--key`` (``-k`` for a one-character key); values by ``str()``
  (``True``, ``0.001``, ``[1, 2]``), None as ``""``, a dict as ``k1=v1,k2=v2`` sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def decode_hyperparameters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode the string values of hyperparameters.json the way the toolkit does."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (ValueError, TypeError):
            decoded[key] = value
    return decoded


def encode_env_value(value: Any) -> str:
    """One value as the toolkit writes it into an ``SM_*`` variable."""
    if isinstance(value, bytes):
        return value.decode("latin1")
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def to_env_vars(mapping: Mapping[str, Any]) -> dict[str, str]:
    """``{"model_dir": "/opt/ml/model", "num_gpus": 0}`` ->
    ``{"SM_MODEL_DIR": "/opt/ml/model", "SM_NUM_GPUS": "0"}``."""
    return {f"SM_{key.upper()}": encode_env_value(value) for key, value in mapping.items()}


def _arg_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin1")
    return str(value)


def to_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """Decoded hyperparameters as the entry point's command-line arguments."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        name = _arg_text(key)
        args.append(f"--{name}" if len(name) > 1 else f"-{name}" if name else "")
        value = hyperparameters[key]
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append(_arg_text(value))
    return args
