"""The metrics the built-in XGBoost algorithm reports, as SageMaker defines them.

SageMaker's XGBoost container logs one line per boosting round, XGBoost's own
evaluation line: ``[3]<TAB>train-rmse:0.41230<TAB>validation-rmse:0.45610``
(CloudWatch shows the tab as ``#011``). The algorithm's metric definitions pick each
value out of it: ``train:rmse``, ``validation:rmse``, ... with the regexes SageMaker
shows in DescribeTrainingJob for built-in XGBoost jobs. They are written with
``#011``; the platform's metric parser also tries a line with its tabs written as
``#011``, so the same regexes match the real tabs of a local log.

Standard library only: the control plane imports this to register the definitions.
"""

from __future__ import annotations

from typing import Final

#: Metrics where higher is better (SageMaker's list for XGBoost).
MAXIMIZE_METRICS: Final = (
    "accuracy",
    "auc",
    "aucpr",
    "balanced_accuracy",
    "f1",
    "f1_binary",
    "f1_macro",
    "map",
    "ndcg",
    "precision",
    "precision_macro",
    "precision_micro",
    "r2",
    "recall",
    "recall_macro",
    "recall_micro",
)
#: Metrics where lower is better (SageMaker's list for XGBoost).
MINIMIZE_METRICS: Final = (
    "aft-nloglik",
    "cox-nloglik",
    "error",
    "gamma-deviance",
    "gamma-nloglik",
    "interval-regression-accuracy",
    "logloss",
    "mae",
    "mape",
    "merror",
    "mlogloss",
    "mphe",
    "mse",
    "poisson-nloglik",
    "rmse",
    "rmsle",
    "tweedie-nloglik",
)
METRICS: Final = MAXIMIZE_METRICS + MINIMIZE_METRICS
#: The channels whose evaluation lines are reported, in the order XGBoost logs them.
EVAL_CHANNELS: Final = ("train", "validation")

_NUMBER: Final = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def metric_regex(channel: str, metric: str) -> str:
    """SageMaker's regex for ``<channel>:<metric>`` in a round's evaluation line."""
    return rf".*\[[0-9]+\].*#011{channel}-{metric}:{_NUMBER}.*"


def metric_definitions() -> list[dict[str, str]]:
    """``MetricDefinitions`` of the built-in algorithm: every channel and metric."""
    return [
        {"Name": f"{channel}:{metric}", "Regex": metric_regex(channel, metric)}
        for channel in EVAL_CHANNELS
        for metric in METRICS
    ]


def evaluation_line(iteration: int, scores: list[tuple[str, str, float]]) -> str:
    """XGBoost's evaluation line: ``[i]\\t<channel>-<metric>:<score>...``, 5 decimals."""
    fields = "".join(f"\t{channel}-{metric}:{score:.5f}" for channel, metric, score in scores)
    return f"[{iteration}]{fields}"
