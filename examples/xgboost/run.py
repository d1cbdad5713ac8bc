"""Train the XGBoost example on the diabetes dataset through the SDK.

    python examples/xgboost/run.py

Replace ``modelyard`` by ``sagemaker`` and it is SageMaker code. The validation RMSE
is parsed from XGBoost's evaluation log by the job's metric definitions.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import modelyard
from modelyard.xgboost.estimator import XGBoost

HERE = Path(__file__).resolve().parent
FRAMEWORK_VERSION = "2.1"


def main() -> dict[str, float]:
    session = modelyard.Session()
    frame = load_diabetes(as_frame=True, scaled=False).frame
    train, validation = train_test_split(frame, test_size=0.2, random_state=7)
    with tempfile.TemporaryDirectory(prefix="diabetes-") as scratch:
        for name, part in (("train", train), ("validation", validation)):
            directory = Path(scratch) / name
            directory.mkdir()
            part.to_csv(directory / f"{name}.csv", index=False)
        train_uri = session.upload_data(f"{scratch}/train", key_prefix="examples/diabetes/train")
        validation_uri = session.upload_data(
            f"{scratch}/validation", key_prefix="examples/diabetes/validation"
        )

    estimator = XGBoost(
        entry_point="train.py",
        source_dir=str(HERE),
        framework_version=FRAMEWORK_VERSION,
        instance_type="ml.m5.large",
        instance_count=1,
        role=modelyard.get_execution_role(),
        sagemaker_session=session,
        hyperparameters={"num_round": 60, "max_depth": 2, "eta": 0.1},
        metric_definitions=[
            {"Name": "train:rmse", "Regex": r"train-rmse:([0-9.]+)"},
            {"Name": "validation:rmse", "Regex": r"validation-rmse:([0-9.]+)"},
        ],
    )
    estimator.fit({"train": train_uri, "validation": validation_uri})
    print(f"model: {estimator.model_data}")
    metrics = {m["MetricName"]: m["Value"] for m in estimator.describe()["FinalMetricDataList"]}
    for name, value in sorted(metrics.items()):
        print(f"{name}: {value}")
    return metrics


if __name__ == "__main__":
    main()
