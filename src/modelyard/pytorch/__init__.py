"""``modelyard.pytorch``: the PyTorch estimator, model and predictor (``sagemaker.pytorch``)."""

from modelyard.sdk.framework_models import PyTorchModel, PyTorchPredictor
from modelyard.sdk.frameworks import PyTorch

__all__ = ["PyTorch", "PyTorchModel", "PyTorchPredictor"]
