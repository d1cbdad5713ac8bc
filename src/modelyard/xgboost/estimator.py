"""``modelyard.xgboost.estimator``: where sagemaker code imports ``XGBoost`` from."""

from modelyard.sdk.frameworks import XGBoost

__all__ = ["XGBoost"]
