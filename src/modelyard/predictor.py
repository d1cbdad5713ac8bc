"""``modelyard.predictor``: where sagemaker code finds ``Predictor`` (``sagemaker.predictor``)."""

from modelyard.sdk.predictor import Predictor

__all__ = ["Predictor"]
