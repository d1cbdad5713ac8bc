"""``modelyard.sklearn.model``: ``SKLearnModel`` and its predictor (sagemaker's module)."""

from modelyard.sdk.framework_models import SKLearnModel, SKLearnPredictor

__all__ = ["SKLearnModel", "SKLearnPredictor"]
