"""``modelyard.image_uris``: where sagemaker code finds ``retrieve`` (``sagemaker.image_uris``)."""

from modelyard.sdk.image_uris import retrieve

__all__ = ["retrieve"]
