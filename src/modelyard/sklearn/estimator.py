"""``modelyard.sklearn.estimator``: where sagemaker code imports ``SKLearn`` from."""

from modelyard.sdk.frameworks import SKLearn

__all__ = ["SKLearn"]
