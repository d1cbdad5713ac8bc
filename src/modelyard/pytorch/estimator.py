"""``modelyard.pytorch.estimator``: where sagemaker code imports ``PyTorch`` from."""

from modelyard.sdk.frameworks import PyTorch

__all__ = ["PyTorch"]
