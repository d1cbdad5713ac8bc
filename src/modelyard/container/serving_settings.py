"""The environment of a serving replica, declared and read in one place.

SageMaker's own variables keep their names; modelyard's are prefixed ``MODELYARD_``.

==================================== ============================ ==========================
variable                             default                      meaning
==================================== ============================ ==========================
``SAGEMAKER_BASE_DIR``               ``/opt/ml``                  model dir = ``<base>/model``
``SAGEMAKER_BIND_TO_PORT``           ``MODELYARD_PORT_HTTP``,     the port to listen on
                                     else 8080
``MODELYARD_BIND_HOST``              ``SAGEMAKER_BIND_HOST``,     the address to bind
                                     else ``127.0.0.1``
``SAGEMAKER_MODEL_SERVER_WORKERS``   CPUs this process may use    worker processes
``SAGEMAKER_MODEL_SERVER_TIMEOUT``   60                           seconds per invocation
``SAGEMAKER_MAX_PAYLOAD_IN_MB``      6                            body limit (MiB) -> 413
``SAGEMAKER_PROGRAM``                ``inference.py`` if present  handler module in ``code/``
``SAGEMAKER_FRAMEWORK``,             detected from the model      ``sklearn``, ``xgboost``,
``MODELYARD_FRAMEWORK``              files, else the image        ``pytorch``: the defaults
``SAGEMAKER_DEFAULT_INVOCATIONS_``   ``application/json``         Accept when none (or
``ACCEPT``                                                        ``*/*``) is asked
``SAGEMAKER_CONTAINER_LOG_LEVEL``    20 (INFO)                    log level
``SAGEMAKER_BATCH``                  false                        batch transform replica
``SAGEMAKER_BATCH_STRATEGY``         ``MULTI_RECORD``             ``/execution-parameters``
``SAGEMAKER_MAX_CONCURRENT_``        the worker count             ``/execution-parameters``
``TRANSFORMS``
``MODELYARD_MAX_HEADER_BYTES``       65536                        request line + headers
``MODELYARD_KEEPALIVE_TIMEOUT_S``    75                           idle connection lifetime
``MODELYARD_DRAIN_TIMEOUT_S``        25                           SIGTERM -> exit at most
==================================== ============================ ==========================

A malformed value is a :class:`ServingConfigError` naming the variable.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from modelyard.container.errors import PlatformError
from modelyard.container.paths import base_dir_from_environ

DEFAULT_PORT: Final = 8080
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_TIMEOUT_S: Final = 60.0
DEFAULT_MAX_PAYLOAD_MB: Final = 6.0
MAX_PAYLOAD_LIMIT_MB: Final = 100.0
DEFAULT_ACCEPT: Final = "application/json"
DEFAULT_KEEPALIVE_TIMEOUT_S: Final = 75.0
DEFAULT_DRAIN_TIMEOUT_S: Final = 25.0
DEFAULT_MAX_HEADER_BYTES: Final = 64 * 1024
BATCH_STRATEGIES: Final = ("MULTI_RECORD", "SINGLE_RECORD")
FRAMEWORK_ALIASES: Final = {
    "sklearn": "sklearn",
    "scikit-learn": "sklearn",
    "xgboost": "xgboost",
    "pytorch": "pytorch",
    "torch": "pytorch",
}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"", "0", "false", "no", "off"})


class ServingConfigError(PlatformError):
    """An environment variable of the serving contract has a value that cannot be used."""


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ServingSettings:
    """Every setting of a replica (see the module doc for the variables)."""

    base_dir: Path
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    model_timeout_s: float = DEFAULT_TIMEOUT_S
    max_payload_mb: float = DEFAULT_MAX_PAYLOAD_MB
    default_accept: str = DEFAULT_ACCEPT
    program: str | None = None
    framework: str | None = None
    log_level: int = logging.INFO
    batch: bool = False
    batch_strategy: str = "MULTI_RECORD"
    max_concurrent_transforms: int = 1
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    keepalive_timeout_s: float = DEFAULT_KEEPALIVE_TIMEOUT_S
    drain_timeout_s: float = DEFAULT_DRAIN_TIMEOUT_S

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def code_dir(self) -> Path:
        return self.model_dir / "code"

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_payload_mb * 1024 * 1024)

    def execution_parameters(self) -> dict[str, object]:
        """What ``GET /execution-parameters`` answers (batch transform reads it)."""
        return {
            "MaxConcurrentTransforms": self.max_concurrent_transforms,
            "BatchStrategy": self.batch_strategy,
            "MaxPayloadInMB": _whole(self.max_payload_mb),
        }

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ServingSettings:
        env = os.environ if environ is None else environ
        workers = _int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", available_cpus(), minimum=1)
        port_text = env.get("SAGEMAKER_BIND_TO_PORT") or env.get("MODELYARD_PORT_HTTP")
        port = DEFAULT_PORT
        if port_text:
            name = (
                "SAGEMAKER_BIND_TO_PORT"
                if env.get("SAGEMAKER_BIND_TO_PORT")
                else ("MODELYARD_PORT_HTTP")
            )
            port = _int({name: port_text}, name, DEFAULT_PORT, minimum=0)
            if port > 65535:
                raise ServingConfigError(f"{name}={port_text!r} is not a TCP port")
        framework_text = env.get("SAGEMAKER_FRAMEWORK") or env.get("MODELYARD_FRAMEWORK")
        framework = None
        if framework_text:
            framework = FRAMEWORK_ALIASES.get(framework_text.strip().lower())
            if framework is None:
                raise ServingConfigError(
                    f"SAGEMAKER_FRAMEWORK={framework_text!r}: expected one of "
                    f"{', '.join(sorted(set(FRAMEWORK_ALIASES)))}"
                )
        strategy = (env.get("SAGEMAKER_BATCH_STRATEGY") or "MULTI_RECORD").strip().upper()
        strategy = strategy.replace("MULTIRECORD", "MULTI_RECORD").replace(
            "SINGLERECORD", "SINGLE_RECORD"
        )
        if strategy not in BATCH_STRATEGIES:
            raise ServingConfigError(
                f"SAGEMAKER_BATCH_STRATEGY={env['SAGEMAKER_BATCH_STRATEGY']!r}: expected "
                "MULTI_RECORD or SINGLE_RECORD"
            )
        max_payload_mb = _float(env, "SAGEMAKER_MAX_PAYLOAD_IN_MB", DEFAULT_MAX_PAYLOAD_MB)
        if max_payload_mb > MAX_PAYLOAD_LIMIT_MB:
            raise ServingConfigError(
                f"SAGEMAKER_MAX_PAYLOAD_IN_MB={max_payload_mb:g} is over SageMaker's limit "
                f"of {MAX_PAYLOAD_LIMIT_MB:g}"
            )
        return cls(
            base_dir=base_dir_from_environ(env),
            host=env.get("MODELYARD_BIND_HOST") or env.get("SAGEMAKER_BIND_HOST") or DEFAULT_HOST,
            port=port,
            workers=workers,
            model_timeout_s=_float(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", DEFAULT_TIMEOUT_S),
            max_payload_mb=max_payload_mb,
            default_accept=env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or DEFAULT_ACCEPT,
            program=env.get("SAGEMAKER_PROGRAM") or None,
            framework=framework,
            log_level=_log_level(env.get("SAGEMAKER_CONTAINER_LOG_LEVEL")),
            batch=_bool(env, "SAGEMAKER_BATCH"),
            batch_strategy=strategy,
            max_concurrent_transforms=_int(
                env, "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", workers, minimum=1
            ),
            max_header_bytes=_int(
                env, "MODELYARD_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES, minimum=1024
            ),
            keepalive_timeout_s=_float(
                env, "MODELYARD_KEEPALIVE_TIMEOUT_S", DEFAULT_KEEPALIVE_TIMEOUT_S
            ),
            drain_timeout_s=_float(env, "MODELYARD_DRAIN_TIMEOUT_S", DEFAULT_DRAIN_TIMEOUT_S),
        )


def _whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise ServingConfigError(f"{name}={text!r} is not an integer") from None
    if value < minimum:
        raise ServingConfigError(f"{name}={text!r} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text.strip())
    except ValueError:
        raise ServingConfigError(f"{name}={text!r} is not a number") from None
    if not value > 0:
        raise ServingConfigError(f"{name}={text!r} must be positive")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ServingConfigError(f"{name}={env[name]!r}: expected true or false")


def _log_level(text: str | None) -> int:
    if not text:
        return logging.INFO
    try:
        return int(text)
    except ValueError:
        level = logging.getLevelName(text.strip().upper())
        return level if isinstance(level, int) else logging.INFO
