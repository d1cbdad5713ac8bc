"""``Session``: the SDK's connection to a control plane, as ``sagemaker.Session`` is to AWS.

``Session()`` finds the server in this order: ``MODELYARD_SERVER_URL`` when set
(never started by us), the server this home already runs, else a new server for
this home started in the background, as ``ray.init()`` does, so a notebook needs
no set-up. ``boto_session``, ``sagemaker_client`` and the like are accepted and
ignored so SageMaker code constructs it unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelyard.config import Settings, get_settings
from modelyard.errors import ServerUnavailableError
from modelyard.sdk import objects
from modelyard.sdk.autoscaling import AutoscalingClient
from modelyard.sdk.client import ApiClient
from modelyard.sdk.deployments import DeploymentSessionMixin
from modelyard.sdk.hosting import HostingSessionMixin
from modelyard.sdk.transform_jobs import TransformSessionMixin


class Session(HostingSessionMixin, DeploymentSessionMixin, TransformSessionMixin):
    """A connection to the control plane, with sagemaker.Session's data and hosting helpers."""

    def __init__(
        self,
        boto_session: Any = None,
        sagemaker_client: Any = None,
        sagemaker_runtime_client: Any = None,
        default_bucket: str | None = None,
        *,
        settings: Settings | None = None,
        server_url: str | None = None,
        **_ignored: Any,
    ) -> None:
        self.settings = settings or get_settings()
        self._default_bucket_name = default_bucket or self.settings.default_bucket
        self._default_bucket_ready = False
        token = self.settings.api_token.get_secret_value() if self.settings.api_token else None
        self.url = server_url or _find_or_start_server(self.settings)
        self.client = ApiClient(self.url, token=token)

    def default_bucket(self) -> str:
        """The session's bucket, created on first use (sagemaker's default_bucket)."""
        if not self._default_bucket_ready:
            objects.create_bucket(self.client, self._default_bucket_name, exist_ok=True)
            self._default_bucket_ready = True
        return self._default_bucket_name

    def upload_data(
        self,
        path: str | Path,
        bucket: str | None = None,
        key_prefix: str = "data",
        extra_args: dict[str, Any] | None = None,
        *,
        progress: bool = False,
    ) -> str:
        """Upload a file or a directory tree; return its ``s3://`` URI (sagemaker's contract:
        the object's URI for a file, the prefix's for a directory)."""
        bucket = bucket or self.default_bucket()
        local = Path(path)
        prefix = key_prefix.strip("/")
        content_type = (extra_args or {}).get("ContentType")
        if local.is_dir():
            objects.upload_directory(self.client, local, bucket, prefix, progress=progress)
            return f"s3://{bucket}/{prefix}"
        if not local.is_file():
            raise FileNotFoundError(f"upload_data: {local} is neither a file nor a directory")
        key = f"{prefix}/{local.name}" if prefix else local.name
        objects.upload_file(
            self.client, local, bucket, key, content_type=content_type, progress=progress
        )
        return f"s3://{bucket}/{key}"

    def download_data(
        self,
        path: str | Path,
        bucket: str,
        key_prefix: str = "",
        extra_args: dict[str, Any] | None = None,
        *,
        progress: bool = False,
    ) -> list[str]:
        """Download every object under ``key_prefix`` into ``path``; return the local paths."""
        return [
            str(p)
            for p in objects.download_directory(
                self.client, bucket, key_prefix, Path(path), progress=progress
            )
        ]

    def upload_string_as_file_body(self, body: str, bucket: str, key: str) -> str:
        objects.put_bytes(self.client, bucket, key, body.encode())
        return f"s3://{bucket}/{key}"

    def read_s3_file(self, bucket: str, key_prefix: str) -> str:
        return objects.get_bytes(self.client, bucket, key_prefix).decode()

    def autoscaling_client(self) -> AutoscalingClient:
        """Application Auto Scaling for endpoint variants, with boto3's method names."""
        return AutoscalingClient(client=self.client)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _find_or_start_server(settings: Settings) -> str:
    from modelyard.api import server

    if settings.server_url:
        return settings.effective_server_url
    running = server.read_state(settings)
    if running is not None:
        return running.url
    try:
        return server.start_background(settings)
    except OSError as exc:
        raise ServerUnavailableError(f"could not start a modelyard server: {exc}") from exc
