"""Every setting of modelyard, declared once, typed and validated.

Settings come from the environment (prefix ``MODELYARD_``) and default to an
embedded, single-machine set-up rooted at ``MODELYARD_HOME`` (``~/.modelyard``):
a directory as object store, SQLite as catalog, local processes as compute.
Scaling out is configuration only: an S3 endpoint, a PostgreSQL URL.

Nothing here reads the environment at import time; :func:`get_settings` builds
the object on first use and :func:`reset_settings` forgets it (tests use a fresh
``MODELYARD_HOME`` each).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Settings(BaseSettings):
    """The one settings object. Paths left unset are derived from ``home``."""

    model_config = SettingsConfigDict(env_prefix="MODELYARD_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".modelyard",
        description="Directory holding the embedded store, catalog, logs and server state.",
    )

    # Object store.
    store_backend: Literal["local", "s3"] = Field(
        default="local", description="Object store backend: a local directory or an S3 endpoint."
    )
    store_dir: Path | None = Field(
        default=None, description="Root of the local object store (default: <home>/store)."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="URL of an S3-compatible endpoint (store_backend=s3)."
    )
    s3_access_key_id: str | None = Field(default=None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(default=None, description="S3 secret key.")
    s3_region: str = Field(default="us-east-1", description="S3 region name.")
    multipart_chunk_mb: int = Field(
        default=8, ge=5, le=512, description="Part size of multipart uploads and chunked copies."
    )
    default_bucket: str = Field(
        default="modelyard", description="Bucket that Session.default_bucket() creates and uses."
    )

    # Catalog.
    catalog_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the catalog (default: SQLite at <home>/catalog.db).",
    )

    # Processing: SQL warehouses a RedshiftDatasetDefinition may name by ClusterId.
    sql_connections: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Named SQL connections for processing inputs: a JSON object of names to "
        "SQLAlchemy URLs (RedshiftDatasetDefinition.ClusterId names one).",
    )

    # Images.
    images_dir: Path = Field(
        default_factory=lambda: Path.home() / ".cache" / "modelyard" / "images",
        description="Cache of built image environments, shared by every home on the machine.",
    )

    # Control-plane server.
    server_host: str = Field(default="127.0.0.1", description="Address the server binds.")
    server_port: int = Field(default=7007, ge=0, le=65535, description="Port the server binds.")
    server_url: str | None = Field(
        default=None, description="URL of the server clients talk to (default: from host/port)."
    )
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token every API request must carry when set."
    )
    server_start_timeout_s: float = Field(
        default=30.0, gt=0, description="How long Session() waits for a background server."
    )

    # Runtime.
    runtime_backend: Literal["local"] = Field(
        default="local", description="Where containers run: local processes."
    )
    stop_grace_s: float = Field(
        default=120.0, ge=0, description="SIGTERM-to-SIGKILL grace period when stopping a job."
    )

    # Hosting: real-time endpoints (see modelyard.hosting).
    invocation_timeout_s: float = Field(
        default=60.0, gt=0, description="How long the router waits for a replica's answer."
    )
    max_invocation_payload_mb: float = Field(
        default=6.0, gt=0, le=100, description="Largest invocation body the router accepts."
    )
    endpoint_reconcile_interval_s: float = Field(
        default=0.25, gt=0, description="How often the endpoint controller compares and acts."
    )
    endpoint_health_check_period_s: float = Field(
        default=2.0, gt=0, description="How often a serving replica is pinged."
    )
    endpoint_health_check_timeout_s: float = Field(
        default=2.0, gt=0, description="How long one ping may take (SageMaker: 2 s)."
    )
    endpoint_unhealthy_threshold: int = Field(
        default=3, ge=1, description="Failed pings in a row after which a replica is replaced."
    )
    endpoint_startup_timeout_s: float = Field(
        default=240.0,
        gt=0,
        description="How long a new replica may take to answer /ping (SageMaker: 4 minutes); "
        "a variant's ContainerStartupHealthCheckTimeoutInSeconds overrides it.",
    )
    endpoint_stop_grace_s: float = Field(
        default=30.0, ge=0, description="SIGTERM-to-SIGKILL grace when a replica is retired."
    )
    endpoint_drain_timeout_s: float = Field(
        default=60.0,
        ge=0,
        description="How long a scaled-in replica, already out of the route, may take to "
        "finish its requests in flight before it is stopped anyway.",
    )
    autoscaling_interval_s: float = Field(
        default=10.0, gt=0, description="How often autoscaling evaluates its policies."
    )
    autoscaling_evaluation_window_s: float = Field(
        default=60.0,
        gt=0,
        le=900,
        description="Autoscaling reads each metric over this many seconds (SageMaker: one "
        "minute); invocation counts are normalised to per minute, so a policy's TargetValue "
        "means what it means in SageMaker.",
    )
    autoscaling_scale_in_window_s: float = Field(
        default=900.0,
        gt=0,
        le=900,
        description="Scale-in also needs the metric below target over this longer window "
        "(SageMaker's low alarm: 15 one-minute datapoints).",
    )
    capture_flush_interval_s: float = Field(
        default=5.0, gt=0, description="Data capture: longest time a captured line waits."
    )
    capture_flush_bytes: int = Field(
        default=1_000_000, ge=1, description="Data capture: buffered bytes that force a flush."
    )

    # Identity used in ARNs (SageMaker's shape: arn:aws:sagemaker:<region>:<account>:...).
    region: str = Field(default="local", description="Region written into ARNs.")
    account_id: str = Field(
        default="000000000000", pattern=r"^[0-9]{12}$", description="Account id in ARNs."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the server and the jobs it runs."
    )

    @model_validator(mode="after")
    def _remote_bind_needs_token(self) -> Settings:
        if self.server_host not in LOOPBACK_HOSTS and self.api_token is None:
            raise ValueError(
                f"server_host={self.server_host!r} exposes the API beyond this machine: "
                "set MODELYARD_API_TOKEN too, or bind 127.0.0.1"
            )
        if self.store_backend == "s3" and not self.s3_endpoint_url:
            raise ValueError("store_backend=s3 needs MODELYARD_S3_ENDPOINT_URL")
        return self

    @property
    def store_root(self) -> Path:
        return self.store_dir or self.home / "store"

    @property
    def effective_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        """Server pid and port files, and the state files of launched processes."""
        return self.home / "run"

    @property
    def effective_server_url(self) -> str:
        if self.server_url:
            return self.server_url.rstrip("/")
        host = "127.0.0.1" if self.server_host in ("0.0.0.0", "::") else self.server_host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.server_port}"

    def masked(self) -> dict[str, Any]:
        """The effective settings, secrets masked, ready to print."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = "********"
            elif name == "sql_connections":
                value = {key: "********" for key in value}
            elif isinstance(value, Path):
                value = str(value)
            shown[name] = value
        shown["store_root"] = str(self.store_root)
        shown["effective_catalog_url"] = _mask_url(self.effective_catalog_url)
        shown["catalog_url"] = _mask_url(self.catalog_url) if self.catalog_url else None
        shown["effective_server_url"] = self.effective_server_url
        return shown


def _mask_url(url: str) -> str:
    """Hide the password of ``scheme://user:password@host/...``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, location = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:********@{location}"


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the next call reads the environment again."""
    get_settings.cache_clear()
