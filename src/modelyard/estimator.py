"""``modelyard.estimator``: where sagemaker code finds its estimators (``sagemaker.estimator``)."""

from modelyard.sdk.estimator import Estimator, EstimatorBase, Framework
from modelyard.sdk.training_jobs import TrainingJob

__all__ = ["Estimator", "EstimatorBase", "Framework", "TrainingJob"]
