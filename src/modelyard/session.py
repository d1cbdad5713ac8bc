"""``modelyard.session``: where sagemaker code finds ``Session`` (``sagemaker.session``)."""

from modelyard.sdk.session import Session

__all__ = ["Session"]
