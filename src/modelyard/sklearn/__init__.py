"""``modelyard.sklearn``: the scikit-learn estimator (``sagemaker.sklearn``)."""

from modelyard.sdk.frameworks import SKLearn
from modelyard.sdk.sklearn_processing import SKLearnProcessor

__all__ = ["SKLearn", "SKLearnProcessor"]
