"""``modelyard.sklearn``: the scikit-learn estimator (``sagemaker.sklearn``)."""

from modelyard.sdk.frameworks import SKLearn

__all__ = ["SKLearn"]
