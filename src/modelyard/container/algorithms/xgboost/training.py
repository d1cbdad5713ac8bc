"""Training the built-in XGBoost algorithm from a job directory.

``python -m modelyard.container.algorithms.xgboost`` with ``SAGEMAKER_BASE_DIR`` set,
as SageMaker's XGBoost image trains with no script:

1. the hyperparameters are checked (:mod:`.hyperparameters`);
2. the ``train`` channel and, if given, the ``validation`` channel are read by their
   content types (:mod:`.data`); other channels are ignored, as SageMaker does;
3. ``xgboost.train`` runs ``num_round`` rounds, evaluating on ``train`` and
   ``validation``; every round prints XGBoost's evaluation line
   (``[i]<TAB>train-rmse:...<TAB>validation-rmse:...``, flushed at once) for the
   platform's metric definitions; ``early_stopping_rounds`` watches ``validation``;
4. the booster is saved as ``xgboost-model`` in ``SM_MODEL_DIR`` (the name SageMaker's
   container uses and the serving defaults load).

Failures follow the toolkit's contract (:mod:`modelyard.container.errors`): a bad
hyperparameter, channel or data set is a ``ClientError:`` in ``output/failure`` and
exit code 1; a bug of ours is a ``PlatformError`` and exit code 70. The algorithm runs
on one instance (the control plane refuses more).
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from modelyard.container.algorithms.xgboost.data import Dataset, read_channel
from modelyard.container.algorithms.xgboost.hyperparameters import (
    ClientError,
    TrainingConfig,
    parse_hyperparameters,
)
from modelyard.container.algorithms.xgboost.metrics import evaluation_line
from modelyard.container.environment import TrainingEnvironment, load_environment
from modelyard.container.errors import EXIT_PLATFORM_ERROR, EXIT_SUCCESS, ContainerError
from modelyard.container.errors import PlatformError as _PlatformError
from modelyard.container.files import write_failure_file, write_success_file
from modelyard.container.paths import JobPaths, base_dir_from_environ

logger = logging.getLogger("modelyard.container.algorithms.xgboost")

TRAIN_CHANNEL = "train"
VALIDATION_CHANNEL = "validation"
MODEL_FILE = "xgboost-model"


def train(environ: Mapping[str, str] | None = None) -> int:
    """Run the algorithm for the job directory ``environ`` names; the exit code."""
    environ = dict(os.environ if environ is None else environ)
    paths = JobPaths(base_dir_from_environ(environ))
    try:
        env = load_environment(environ)
        config = parse_hyperparameters(env.hyperparameters)
        train_set, validation_set = _read_channels(env, config)
        booster = _fit(config, train_set, validation_set)
        model_path = _save(booster, Path(env.model_dir))
        logger.info("Saved the model to %s", model_path)
    except ContainerError as exc:
        return _report_failure(paths, exc)
    except Exception as exc:  # a bug of ours: say where, keep the traceback in the log
        logger.exception("the built-in XGBoost algorithm failed")
        where = traceback.extract_tb(exc.__traceback__)[-1]
        wrapped = _PlatformError(
            f"unexpected {type(exc).__name__}: {exc} (at {Path(where.filename).name}:"
            f"{where.lineno}; the job log has the traceback)"
        )
        return _report_failure(paths, wrapped)
    write_success_file(paths.output_dir)
    return EXIT_SUCCESS


def _save(booster: Any, model_dir: Path) -> Path:
    """``xgboost-model`` in XGBoost's UBJSON format (chosen by a temporary ``.ubj`` name)."""
    path = model_dir / MODEL_FILE
    staging = model_dir / f".{MODEL_FILE}.ubj"
    booster.save_model(str(staging))
    os.replace(staging, path)
    return path


def _report_failure(paths: JobPaths, error: ContainerError) -> int:
    text = error.failure_text()
    logger.error("Reporting training FAILURE\n%s", text)
    try:
        write_failure_file(paths.output_dir, text)
    except OSError as exc:
        logger.error("cannot write %s: %s", paths.failure_file, exc)
        return EXIT_PLATFORM_ERROR
    return error.exit_code


def _read_channels(
    env: TrainingEnvironment, config: TrainingConfig
) -> tuple[Dataset, Dataset | None]:
    channels = env.input_data_config
    if TRAIN_CHANNEL not in channels:
        raise ClientError(
            f"the XGBoost algorithm needs a {TRAIN_CHANNEL!r} channel (and optionally "
            f"{VALIDATION_CHANNEL!r}); this job has {', '.join(sorted(channels)) or 'none'}"
        )
    ignored = sorted(set(channels) - {TRAIN_CHANNEL, VALIDATION_CHANNEL})
    if ignored:
        logger.warning("channels %s are not read by the XGBoost algorithm", ", ".join(ignored))
    datasets = {
        name: read_channel(
            name, channels[name], env.paths.channel_dir(name), csv_weights=config.csv_weights
        )
        for name in (TRAIN_CHANNEL, VALIDATION_CHANNEL)
        if name in channels
    }
    train_set = datasets[TRAIN_CHANNEL]
    validation_set = datasets.get(VALIDATION_CHANNEL)
    if config.early_stopping_rounds is not None and validation_set is None:
        raise ClientError(
            "Hyperparameter early_stopping_rounds needs a 'validation' channel to watch"
        )
    if validation_set is not None:
        train_set, validation_set = _same_width(train_set, validation_set)
    logger.info(
        "train: %d rows x %d features%s",
        train_set.rows,
        train_set.columns,
        f"; validation: {validation_set.rows} rows" if validation_set is not None else "",
    )
    return train_set, validation_set


def _same_width(train: Dataset, validation: Dataset) -> tuple[Dataset, Dataset]:
    """Sparse sets (libsvm, RecordIO-protobuf) may list fewer columns: widen the narrower."""
    if train.columns == validation.columns:
        return train, validation
    if hasattr(train.features, "resize") and hasattr(validation.features, "resize"):
        width = max(train.columns, validation.columns)
        for dataset in (train, validation):
            dataset.features.resize((dataset.rows, width))
        return train, validation
    raise ClientError(
        f"the train channel has {train.columns} features but the validation channel has "
        f"{validation.columns}: they must have the same columns"
    )


def _fit(config: TrainingConfig, train_set: Dataset, validation_set: Dataset | None) -> Any:
    import xgboost as xgb

    class _PrintEvaluation(xgb.callback.TrainingCallback):
        """Print each round's evaluation line as SageMaker's container logs it."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            scores = [
                (channel, metric, _last(values))
                for channel, metrics in evals_log.items()
                for metric, values in metrics.items()
            ]
            if scores:
                print(evaluation_line(epoch, scores), flush=True)
            return False

    def matrix(dataset: Dataset) -> Any:
        return xgb.DMatrix(dataset.features, label=dataset.labels, weight=dataset.weights)

    evals = [(matrix(train_set), TRAIN_CHANNEL)]
    if validation_set is not None:
        evals.append((matrix(validation_set), VALIDATION_CHANNEL))
    try:
        return xgb.train(
            config.params,
            evals[0][0],
            num_boost_round=config.num_round,
            evals=evals,
            early_stopping_rounds=config.early_stopping_rounds,
            verbose_eval=False,
            callbacks=[_PrintEvaluation()],
        )
    except xgb.core.XGBoostError as exc:
        # XGBoost refuses the data or the parameters (labels out of range, ...): the user's.
        message = str(exc).strip().splitlines()
        raise ClientError(f"XGBoost refused the job: {' '.join(message[:3])[:600]}") from exc


def _last(values: Any) -> float:
    """The latest score of a metric (a ``(mean, std)`` pair under cross-validation)."""
    last = values[-1]
    return float(last[0] if isinstance(last, tuple) else last)


def main() -> int:
    """The built-in algorithm's command: log to stderr, train, return the exit code."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)-12s %(levelname)-8s %(message)s"))
    root = logging.getLogger("modelyard")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return train()
