"""``modelyard.xgboost``: the XGBoost estimator (``sagemaker.xgboost``)."""

from modelyard.sdk.frameworks import XGBoost

__all__ = ["XGBoost"]
