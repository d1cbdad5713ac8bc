"""``modelyard.sklearn.processing``: where sagemaker code imports ``SKLearnProcessor`` from."""

from modelyard.sdk.sklearn_processing import SKLearnProcessor

__all__ = ["SKLearnProcessor"]
