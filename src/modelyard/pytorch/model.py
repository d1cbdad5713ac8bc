"""``modelyard.pytorch.model``: ``PyTorchModel`` and its predictor (sagemaker's module)."""

from modelyard.sdk.framework_models import PyTorchModel, PyTorchPredictor

__all__ = ["PyTorchModel", "PyTorchPredictor"]
