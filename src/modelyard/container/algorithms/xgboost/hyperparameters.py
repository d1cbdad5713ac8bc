"""The built-in XGBoost algorithm's hyperparameters: SageMaker's names, checked up front.

The table is SageMaker's (the XGBoost algorithm's hyperparameter page): ``num_round``
is required; every other name is optional, typed and ranged. A name not in the table,
a value of the wrong type or out of range, ``multi:*`` without ``num_class``, an
``eval_metric`` XGBoost's SageMaker algorithm does not report: each is refused before
any data is read, with a ``ClientError:`` message naming the hyperparameter (the job
fails with it as its reason, as SageMaker's algorithm does).

Values arrive decoded by the toolkit (``"50"`` -> 50, ``"0.1"`` -> 0.1, text stays text).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from modelyard.container.algorithms.xgboost.metrics import METRICS
from modelyard.container.errors import UserError


class ClientError(UserError):
    """The job's request is at fault (hyperparameters, channels, data): SageMaker's wording."""

    def failure_text(self) -> str:
        return f"ClientError: {self}"


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its type and the values it may take."""

    kind: str  # "int", "float", "choice", "metrics", "text"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> Any:
        if self.kind == "text":
            return str(value)
        if self.kind == "choice":
            if str(value) not in self.choices:
                raise ClientError(
                    f"Hyperparameter {name}: {value!r} is not one of {', '.join(self.choices)}"
                )
            return str(value)
        if self.kind == "metrics":
            return _metrics(name, value)
        number = _number(name, value, integer=self.kind == "int")
        self._check_range(name, number)
        return number

    def _check_range(self, name: str, number: float) -> None:
        below = self.low is not None and (
            number <= self.low if self.low_open else number < self.low
        )
        above = self.high is not None and (
            number >= self.high if self.high_open else number > self.high
        )
        if below or above:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            low = "-inf" if self.low is None else _plain(self.low)
            high = "inf" if self.high is None else _plain(self.high)
            interval = f"{left}{low}, {high}{right}"
            raise ClientError(f"Hyperparameter {name}: {_plain(number)} is out of range {interval}")


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _number(name: str, value: Any, *, integer: bool) -> float:
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool):
        raise ClientError(f"Hyperparameter {name}: {value!r} is not {kind}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ClientError(f"Hyperparameter {name}: {value!r} is not {kind}") from None
    if not math.isfinite(number) or (integer and not number.is_integer()):
        raise ClientError(f"Hyperparameter {name}: {value!r} is not {kind}")
    return int(number) if integer else number


def _metrics(name: str, value: Any) -> list[str]:
    names = [part.strip() for part in str(value).split(",") if part.strip()]
    if not names:
        raise ClientError(f"Hyperparameter {name}: give one or more metrics, comma-separated")
    for metric in names:
        base, sep, threshold = metric.partition("@")
        if sep:
            if base not in ("error", "ndcg", "map"):
                raise ClientError(
                    f"Hyperparameter {name}: {metric!r}: only error, ndcg and map take '@t'"
                )
            try:
                float(threshold)
            except ValueError:
                raise ClientError(
                    f"Hyperparameter {name}: the threshold of {metric!r} is not a number"
                ) from None
        elif metric not in METRICS:
            raise ClientError(
                f"Hyperparameter {name}: {metric!r} is not a metric the XGBoost algorithm "
                f"reports; use one of {', '.join(METRICS)}"
            )
    return names


OBJECTIVES: Final = (
    "binary:hinge",
    "binary:logistic",
    "binary:logitraw",
    "count:poisson",
    "multi:softmax",
    "multi:softprob",
    "rank:map",
    "rank:ndcg",
    "rank:pairwise",
    "reg:absoluteerror",
    "reg:gamma",
    "reg:linear",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:quantileerror",
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:tweedie",
    "survival:aft",
    "survival:cox",
)

_UNIT = Param("float", low=0.0, high=1.0)
_FRACTION = Param("float", low=0.0, low_open=True, high=1.0)
_NON_NEGATIVE = Param("float", low=0.0)

#: SageMaker's XGBoost hyperparameters (its algorithm page), by name.
TABLE: Final[dict[str, Param]] = {
    "num_round": Param("int", low=1),
    "objective": Param("choice", choices=OBJECTIVES),
    "num_class": Param("int", low=2),
    "eval_metric": Param("metrics"),
    "early_stopping_rounds": Param("int", low=1),
    "booster": Param("choice", choices=("gbtree", "gblinear", "dart")),
    "eta": _UNIT,
    "gamma": _NON_NEGATIVE,
    "max_depth": Param("int", low=0),
    "min_child_weight": _NON_NEGATIVE,
    "max_delta_step": _NON_NEGATIVE,
    "subsample": _FRACTION,
    "colsample_bytree": _FRACTION,
    "colsample_bylevel": _FRACTION,
    "colsample_bynode": _FRACTION,
    "lambda": _NON_NEGATIVE,
    "alpha": _NON_NEGATIVE,
    "tree_method": Param("choice", choices=("auto", "exact", "approx", "hist", "gpu_hist")),
    "sketch_eps": Param("float", low=0.0, low_open=True, high=1.0, high_open=True),
    "scale_pos_weight": Param("float", low=0.0, low_open=True),
    "updater": Param("text"),
    "dsplit": Param("choice", choices=("row", "col")),
    "refresh_leaf": Param("int", low=0, high=1),
    "process_type": Param("choice", choices=("default", "update")),
    "grow_policy": Param("choice", choices=("depthwise", "lossguide")),
    "max_leaves": Param("int", low=0),
    "max_bin": Param("int", low=0),
    "max_cat_to_onehot": Param("int", low=1),
    "predictor": Param("choice", choices=("auto", "cpu_predictor", "gpu_predictor")),
    "monotone_constraints": Param("text"),
    "interaction_constraints": Param("text"),
    "sample_type": Param("choice", choices=("uniform", "weighted")),
    "normalize_type": Param("choice", choices=("tree", "forest")),
    "rate_drop": _UNIT,
    "one_drop": Param("int", low=0, high=1),
    "skip_drop": _UNIT,
    "lambda_bias": _UNIT,
    "tweedie_variance_power": Param("float", low=1.0, low_open=True, high=2.0, high_open=True),
    "base_score": Param("float"),
    "seed": Param("int", low=-(2**31), low_open=True, high=2**31 - 1, high_open=True),
    "num_parallel_tree": Param("int", low=1),
    "nthread": Param("int", low=1),
    "verbosity": Param("int", low=0, high=3),
    "csv_weights": Param("int", low=0, high=1),
    "save_model_on_termination": Param("choice", choices=("true", "false")),
    "aft_loss_distribution": Param("choice", choices=("normal", "logistic", "extreme")),
    "aft_loss_distribution_scale": Param("float", low=0.0, low_open=True),
    "deterministic_histogram": Param("choice", choices=("true", "false")),
    "single_precision_histogram": Param("choice", choices=("true", "false")),
    "sampling_method": Param("choice", choices=("uniform", "gradient_based")),
    "prob_buffer_row": Param("float", low=0.0, low_open=True),
    "_tuning_objective_metric": Param("text"),
}

#: Read by the algorithm itself, never handed to XGBoost as parameters.
ALGORITHM_ONLY: Final = frozenset(
    {
        "num_round",
        "early_stopping_rounds",
        "csv_weights",
        "save_model_on_termination",
        "_tuning_objective_metric",
        "deterministic_histogram",
        "single_precision_histogram",
        "prob_buffer_row",
    }
)
DEFAULT_OBJECTIVE: Final = "reg:squarederror"


@dataclass(frozen=True)
class TrainingConfig:
    """What the hyperparameters say: XGBoost's params and the algorithm's own settings."""

    num_round: int
    params: dict[str, Any] = field(default_factory=dict)
    early_stopping_rounds: int | None = None
    csv_weights: bool = False


def parse_hyperparameters(hyperparameters: Mapping[str, Any]) -> TrainingConfig:
    """Check every hyperparameter against the table (see the module doc)."""
    unknown = sorted(name for name in hyperparameters if name not in TABLE)
    if unknown:
        raise ClientError(
            f"Hyperparameter {', '.join(unknown)}: not a hyperparameter of the XGBoost "
            "algorithm (names are SageMaker's, e.g. num_round, objective, eta, max_depth, "
            "subsample, eval_metric, early_stopping_rounds)"
        )
    if "num_round" not in hyperparameters:
        raise ClientError(
            "Hyperparameter num_round is required: the number of boosting rounds (e.g. 100)"
        )
    checked = {name: TABLE[name].check(name, value) for name, value in hyperparameters.items()}
    objective = checked.setdefault("objective", DEFAULT_OBJECTIVE)
    if str(objective).startswith("multi:") and "num_class" not in checked:
        raise ClientError(f"Hyperparameter num_class is required for objective {objective}")
    if "num_class" in checked and not str(objective).startswith("multi:"):
        raise ClientError(
            f"Hyperparameter num_class is only for multi-class objectives, not {objective}"
        )
    metrics = checked.get("eval_metric") or []
    if any(m.startswith("auc") for m in metrics) and not objective.startswith(("binary:", "rank:")):
        raise ClientError(
            "Hyperparameter eval_metric: 'auc' applies to classification and ranking only"
        )
    params = {k: v for k, v in checked.items() if k not in ALGORITHM_ONLY}
    return TrainingConfig(
        num_round=int(checked["num_round"]),
        params=params,
        early_stopping_rounds=checked.get("early_stopping_rounds"),
        csv_weights=checked.get("csv_weights") == 1,
    )
