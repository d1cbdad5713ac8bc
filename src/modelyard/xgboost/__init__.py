"""``modelyard.xgboost``: the XGBoost estimator, model and predictor (``sagemaker.xgboost``)."""

from modelyard.sdk.framework_models import XGBoostModel, XGBoostPredictor
from modelyard.sdk.frameworks import XGBoost

__all__ = ["XGBoost", "XGBoostModel", "XGBoostPredictor"]
