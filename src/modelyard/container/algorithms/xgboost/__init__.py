"""XGBoost as a built-in algorithm: SageMaker's hyperparameters and inputs, no script.

Run as ``python -m modelyard.container.algorithms.xgboost`` (see :mod:`.training`).
:mod:`.metrics` (standard library only) is what the control plane reads to register
the algorithm's metric definitions. XGBoost itself is imported only when training.
"""
