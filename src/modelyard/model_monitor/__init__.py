"""``modelyard.model_monitor``: where sagemaker code finds ``DataCaptureConfig``."""

from modelyard.sdk.data_capture import DataCaptureConfig

__all__ = ["DataCaptureConfig"]
