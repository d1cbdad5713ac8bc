"""``DataCaptureConfig``: what an endpoint captures, with sagemaker.model_monitor's arguments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from modelyard.sdk.session import Session

MODEL_MONITOR_PATH = "model-monitor"
DATA_CAPTURE_PATH = "data-capture"


class DataCaptureConfig:
    """Capture sampled requests and/or responses of an endpoint to the object store.

    ``capture_options`` takes sagemaker's values ``"REQUEST"`` and ``"RESPONSE"`` (the
    API's ``Input`` / ``Output``); the destination defaults to
    ``s3://<default bucket>/model-monitor/data-capture``.
    """

    API_MAPPING: ClassVar[dict[str, str]] = {"REQUEST": "Input", "RESPONSE": "Output"}

    def __init__(
        self,
        enable_capture: bool,
        sampling_percentage: int = 20,
        destination_s3_uri: str | None = None,
        kms_key_id: str | None = None,
        capture_options: list[str] | None = None,
        csv_content_types: list[str] | None = None,
        json_content_types: list[str] | None = None,
        sagemaker_session: Session | None = None,
    ) -> None:
        self.enable_capture = enable_capture
        self.sampling_percentage = sampling_percentage
        self.destination_s3_uri = destination_s3_uri
        if self.destination_s3_uri is None:
            from modelyard.sdk.hosting import session_of

            bucket = session_of(sagemaker_session).default_bucket()
            self.destination_s3_uri = f"s3://{bucket}/{MODEL_MONITOR_PATH}/{DATA_CAPTURE_PATH}"
        self.kms_key_id = kms_key_id
        self.capture_options = capture_options or ["REQUEST", "RESPONSE"]
        self.csv_content_types = csv_content_types or ["text/csv"]
        self.json_content_types = json_content_types or ["application/json"]

    def _to_request_dict(self) -> dict[str, Any]:
        """The API's ``DataCaptureConfig`` (sagemaker's method name)."""
        request: dict[str, Any] = {
            "EnableCapture": self.enable_capture,
            "InitialSamplingPercentage": self.sampling_percentage,
            "DestinationS3Uri": self.destination_s3_uri,
            "CaptureOptions": [
                {"CaptureMode": self.API_MAPPING.get(option.upper(), option)}
                for option in self.capture_options
            ],
        }
        if self.kms_key_id is not None:
            request["KmsKeyId"] = self.kms_key_id
        request["CaptureContentTypeHeader"] = {
            "CsvContentTypes": self.csv_content_types,
            "JsonContentTypes": self.json_content_types,
        }
        return request
