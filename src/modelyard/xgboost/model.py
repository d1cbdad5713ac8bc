"""``modelyard.xgboost.model``: ``XGBoostModel`` and its predictor (sagemaker's module)."""

from modelyard.sdk.framework_models import XGBoostModel, XGBoostPredictor

__all__ = ["XGBoostModel", "XGBoostPredictor"]
