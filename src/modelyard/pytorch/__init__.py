"""``modelyard.pytorch``: the PyTorch estimator (``sagemaker.pytorch``)."""

from modelyard.sdk.frameworks import PyTorch

__all__ = ["PyTorch"]
