"""``modelyard.estimator``: where sagemaker code finds its estimators (``sagemaker.estimator``)."""

from modelyard.sdk.estimator import Estimator, EstimatorBase, Framework, TrainingJob

__all__ = ["Estimator", "EstimatorBase", "Framework", "TrainingJob"]
