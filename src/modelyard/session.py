"""``modelyard.session``: where sagemaker code finds ``Session`` (``sagemaker.session``)."""

from modelyard.sdk.hosting import production_variant
from modelyard.sdk.session import Session

__all__ = ["Session", "production_variant"]
