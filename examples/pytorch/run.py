"""Train the PyTorch example on the iris dataset through the SDK.

    python examples/pytorch/run.py

Replace ``modelyard`` by ``sagemaker`` and it is SageMaker code. The PyTorch image
(CPU torch) is built once per machine on first use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

import modelyard
from modelyard.pytorch import PyTorch

HERE = Path(__file__).resolve().parent
FRAMEWORK_VERSION = "2.13"


def main() -> dict[str, float]:
    session = modelyard.Session()
    frame = load_iris(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=3, stratify=frame["target"])
    with tempfile.TemporaryDirectory(prefix="iris-") as scratch:
        uris = {}
        for name, part in (("train", train), ("test", test)):
            directory = Path(scratch) / name
            directory.mkdir()
            part.to_csv(directory / f"{name}.csv", index=False)
            uris[name] = session.upload_data(str(directory), key_prefix=f"examples/torch/{name}")

    estimator = PyTorch(
        entry_point="train.py",
        source_dir=str(HERE),
        framework_version=FRAMEWORK_VERSION,
        py_version="py311",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        role=modelyard.get_execution_role(),
        sagemaker_session=session,
        hyperparameters={"epochs": 150, "lr": 0.05, "hidden": 16},
        metric_definitions=[
            {"Name": "train:loss", "Regex": r"loss=([0-9.]+)"},
            {"Name": "test:accuracy", "Regex": r"test_accuracy=([0-9.]+)"},
        ],
    )
    estimator.fit(uris)
    print(f"model: {estimator.model_data}")
    metrics = {m["MetricName"]: m["Value"] for m in estimator.describe()["FinalMetricDataList"]}
    for name, value in sorted(metrics.items()):
        print(f"{name}: {value}")
    return metrics


if __name__ == "__main__":
    main()
