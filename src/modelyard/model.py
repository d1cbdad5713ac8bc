"""``modelyard.model``: where sagemaker code finds ``Model`` (``sagemaker.model``)."""

from modelyard.sdk.model import FrameworkModel, Model

__all__ = ["FrameworkModel", "Model"]
