"""Train the scikit-learn example on the iris dataset through the SDK, as a SageMaker notebook does.

    python examples/sklearn/run.py

The control plane starts by itself (``modelyard.Session()``); the data goes to the
object store; ``SKLearn(...).fit(...)`` runs ``train.py`` in the scikit-learn image
(built once per machine) and streams its log; the model comes back as
``model.tar.gz`` and predicts the held-out rows here. Replace ``modelyard`` by
``sagemaker`` and it is SageMaker code.
"""

from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

import modelyard
from modelyard.inputs import TrainingInput
from modelyard.sklearn.estimator import SKLearn

HERE = Path(__file__).resolve().parent
FRAMEWORK_VERSION = "1.5"


def write_dataset(directory: Path) -> tuple[Path, Path]:
    """iris as train.csv / test.csv with a header row and the label in ``target``."""
    frame = load_iris(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.25, random_state=42, stratify=frame["target"])
    (directory / "train").mkdir(parents=True)
    (directory / "test").mkdir(parents=True)
    train.to_csv(directory / "train" / "train.csv", index=False)
    test.to_csv(directory / "test" / "test.csv", index=False)
    return directory / "train", directory / "test"


def main() -> float:
    session = modelyard.Session()
    with tempfile.TemporaryDirectory(prefix="iris-") as scratch:
        work = Path(scratch)
        train_dir, test_dir = write_dataset(work / "data")
        train_uri = session.upload_data(str(train_dir), key_prefix="examples/iris/train")
        test_uri = session.upload_data(str(test_dir), key_prefix="examples/iris/test")

        estimator = SKLearn(
            entry_point="train.py",
            source_dir=str(HERE),
            framework_version=FRAMEWORK_VERSION,
            py_version="py3",
            instance_type="ml.m5.large",
            instance_count=1,
            role=modelyard.get_execution_role(),
            sagemaker_session=session,
            hyperparameters={"n_estimators": 50, "max_depth": 4},
            metric_definitions=[
                {"Name": "train:accuracy", "Regex": r"train_accuracy=([0-9.]+)"},
                {"Name": "test:accuracy", "Regex": r"test_accuracy=([0-9.]+)"},
            ],
        )
        estimator.fit(
            {"train": TrainingInput(train_uri, content_type="text/csv"), "test": test_uri}
        )
        print(f"model: {estimator.model_data}")
        for metric in estimator.describe().get("FinalMetricDataList", []):
            print(f"{metric['MetricName']}: {metric['Value']}")

        bucket, _, key = estimator.model_data.removeprefix("s3://").partition("/")
        model_dir = work / "model"
        session.download_data(str(model_dir), bucket, key)
        with tarfile.open(model_dir / "model.tar.gz") as archive:
            archive.extractall(model_dir, filter="data")
        sys.path.insert(0, str(HERE))
        from train import model_fn

        model = model_fn(str(model_dir))
        test = pd.read_csv(test_dir / "test.csv")
        accuracy = float((model.predict(test.drop(columns="target")) == test["target"]).mean())
        print(f"held-out accuracy of the downloaded model: {accuracy:.3f}")
        return accuracy


if __name__ == "__main__":
    main()
