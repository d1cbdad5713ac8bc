"""The built-in XGBoost algorithm in-process: hyperparameters, channels, the log, the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb

from modelyard import formats
from modelyard.container.algorithms.xgboost.data import content_type_of
from modelyard.container.algorithms.xgboost.hyperparameters import (
    ClientError,
    parse_hyperparameters,
)
from modelyard.container.algorithms.xgboost.metrics import evaluation_line, metric_definitions
from modelyard.container.algorithms.xgboost.training import train
from modelyard.container.files import read_failure_file
from modelyard.container.jobdir import resource_config, write_job_dir
from modelyard.jobs.metrics import MetricParser


def test_hyperparameters_become_xgboost_params_and_the_algorithms_settings() -> None:
    config = parse_hyperparameters(
        {"num_round": 10, "eta": 0.1, "eval_metric": "rmse,mae", "early_stopping_rounds": 3}
    )
    assert config.num_round == 10
    assert config.early_stopping_rounds == 3
    assert config.params == {
        "eta": 0.1,
        "eval_metric": ["rmse", "mae"],
        "objective": "reg:squarederror",
    }


@pytest.mark.parametrize(
    ("hyperparameters", "message"),
    [
        ({"eta": 0.1}, "num_round is required"),
        ({"num_round": 5, "learning_rate": 0.1}, "learning_rate: not a hyperparameter"),
        ({"num_round": 2.5}, "num_round: 2.5 is not an integer"),
        ({"num_round": 5, "eta": 2}, r"eta: 2 is out of range \[0, 1\]"),
        ({"num_round": 5, "objective": "multi:softmax"}, "num_class is required"),
        ({"num_round": 5, "eval_metric": "rmse,wobble"}, "'wobble' is not a metric"),
        ({"num_round": 5, "eval_metric": "auc"}, "'auc' applies to classification"),
        ({"num_round": 5, "tree_method": "magic"}, "tree_method: 'magic' is not one of"),
    ],
)
def test_bad_hyperparameters_are_client_errors(hyperparameters: dict, message: str) -> None:
    with pytest.raises(ClientError, match=message) as refused:
        parse_hyperparameters(hyperparameters)
    assert refused.value.failure_text().startswith("ClientError: Hyperparameter ")


def test_content_types_follow_sagemakers_names() -> None:
    assert content_type_of("t", {"ContentType": "text/csv;label_size=1"})[0] == "text/csv"
    assert content_type_of("t", {})[0] == "text/libsvm"  # SageMaker's default
    assert content_type_of("t", {"ContentType": "application/x-parquet"})[0].endswith("parquet")
    with pytest.raises(ClientError, match="only label_size=1"):
        content_type_of("t", {"ContentType": "text/csv; label_size=2"})
    with pytest.raises(ClientError, match="application/json' is not supported"):
        content_type_of("t", {"ContentType": "application/json"})


def test_the_evaluation_line_is_xgboosts_and_sagemakers_regexes_read_it() -> None:
    line = evaluation_line(3, [("train", "rmse", 0.5), ("validation", "rmse", 0.25)])
    assert line == "[3]\ttrain-rmse:0.50000\tvalidation-rmse:0.25000"
    parser = MetricParser(metric_definitions())
    for form in (line, line.replace("\t", "#011")):  # local log, CloudWatch's
        assert [(name, value) for name, _, value in parser.parse(form)] == [
            ("train:rmse", 0.5),
            ("validation:rmse", 0.25),
        ]


def _job(tmp_path: Path, hyperparameters: dict[str, str], content_type: str) -> Path:
    base = tmp_path / "job"
    write_job_dir(
        base,
        hyperparameters=hyperparameters,
        input_data_config={"train": {"ContentType": content_type, "TrainingInputMode": "File"}},
        resource_config=resource_config({"InstanceType": "local", "InstanceCount": 1}, "algo-1"),
    )
    return base


def test_weighted_csv_trains_and_saves_xgboost_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _job(tmp_path, {"num_round": "3", "csv_weights": "1"}, "text/csv")
    rows = np.random.default_rng(1).normal(size=(50, 3))
    table = np.column_stack([rows[:, 0] * 2, np.ones(50), rows])
    (base / "input" / "data" / "train").mkdir(parents=True, exist_ok=True)
    (base / "input" / "data" / "train" / "a.csv").write_bytes(formats.write_csv(table))
    assert train({"SAGEMAKER_BASE_DIR": str(base)}) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("[2]\ttrain-rmse:")
    booster = xgb.Booster()
    booster.load_model(str(base / "model" / "xgboost-model"))
    assert booster.num_features() == 3  # the weight column is not a feature
    assert (base / "output" / "success").exists()


def test_an_empty_channel_fails_with_a_client_error(tmp_path: Path) -> None:
    base = _job(tmp_path, {"num_round": "3"}, "text/csv")
    (base / "input" / "data" / "train").mkdir(parents=True, exist_ok=True)
    assert train({"SAGEMAKER_BASE_DIR": str(base)}) == 1
    text = read_failure_file(base / "output") or ""
    assert text.startswith("ClientError: channel 'train' has no data")
