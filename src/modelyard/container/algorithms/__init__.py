"""Built-in algorithms: what a framework image runs when the job names no script.

SageMaker's XGBoost image trains without a ``sagemaker_program`` ("XGBoost as a
built-in algorithm"): hyperparameters by SageMaker's names, a ``train`` and an optional
``validation`` channel. modelyard's ``xgboost:<version>`` framework images do the same
with ``python -m modelyard.container.algorithms.xgboost`` (the training controller
picks it for an xgboost image and a job without an entry point).

Like the rest of ``modelyard.container``, nothing here imports modelyard beyond
``container`` and ``formats``; the algorithms import their framework only when they run.
"""
