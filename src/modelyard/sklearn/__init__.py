"""``modelyard.sklearn``: estimator, model and predictor of scikit-learn (``sagemaker.sklearn``)."""

from modelyard.sdk.framework_models import SKLearnModel, SKLearnPredictor
from modelyard.sdk.frameworks import SKLearn
from modelyard.sdk.sklearn_processing import SKLearnProcessor

__all__ = ["SKLearn", "SKLearnModel", "SKLearnPredictor", "SKLearnProcessor"]
