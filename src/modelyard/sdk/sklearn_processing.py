"""``SKLearnProcessor``: a script in the scikit-learn framework image (``sagemaker.sklearn``)."""

from __future__ import annotations

from typing import Any

from modelyard.sdk.processing import ScriptProcessor, framework_image
from modelyard.sdk.session import Session


class SKLearnProcessor(ScriptProcessor):
    """Runs ``python3 <code>`` in the server's ``sklearn:<framework_version>`` image."""

    def __init__(
        self,
        framework_version: str,
        role: str | None = None,
        instance_count: int | None = None,
        instance_type: str | None = None,
        command: list[str] | None = None,
        volume_size_in_gb: int = 30,
        volume_kms_key: str | None = None,
        output_kms_key: str | None = None,
        max_runtime_in_seconds: int | None = None,
        base_job_name: str | None = None,
        sagemaker_session: Session | None = None,
        env: dict[str, str] | None = None,
        tags: list[dict[str, str]] | None = None,
        network_config: Any = None,
    ) -> None:
        if not command:
            command = ["python3"]
        session = sagemaker_session or Session()
        super().__init__(
            role=role,
            image_uri=framework_image(session, "sklearn", framework_version),
            instance_count=instance_count,
            instance_type=instance_type,
            command=command,
            volume_size_in_gb=volume_size_in_gb,
            volume_kms_key=volume_kms_key,
            output_kms_key=output_kms_key,
            max_runtime_in_seconds=max_runtime_in_seconds,
            base_job_name=base_job_name,
            sagemaker_session=session,
            env=env,
            tags=tags,
            network_config=network_config,
        )
