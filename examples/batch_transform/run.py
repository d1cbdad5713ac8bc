"""Score a whole CSV with the scikit-learn example, no endpoint left running: batch transform.

    python examples/batch_transform/run.py

Trains ``examples/sklearn/train.py`` on iris (as ``examples/sklearn/run.py`` does), then
``estimator.transformer(...).transform(...)`` runs the model over every row of a CSV
whose first column is a row id. SageMaker's data processing keeps the id out of the
model's input (``input_filter="$[1:]"``), joins each prediction to its input row
(``join_source="Input"``) and keeps the id and the prediction
(``output_filter="$[0,-1]"``): each line of ``rows.csv.out`` is ``<id>,<label>``, in
input order. Replace ``modelyard`` by ``sagemaker`` and it is SageMaker code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sklearn.datasets import load_iris

import modelyard
from modelyard.inputs import TrainingInput
from modelyard.sklearn.estimator import SKLearn

SKLEARN_EXAMPLE = Path(__file__).resolve().parent.parent / "sklearn"


def main() -> float:
    session = modelyard.Session()
    frame = load_iris(as_frame=True).frame
    with tempfile.TemporaryDirectory(prefix="iris-batch-") as scratch:
        work = Path(scratch)
        (work / "train").mkdir()
        frame.to_csv(work / "train" / "train.csv", index=False)
        train_uri = session.upload_data(str(work / "train"), key_prefix="examples/batch/train")
        (work / "input").mkdir()
        features = frame.drop(columns="target")
        features.insert(0, "id", [f"row-{i}" for i in range(len(features))])
        features.to_csv(work / "input" / "rows.csv", index=False, header=False)
        input_uri = session.upload_data(str(work / "input"), key_prefix="examples/batch/input")

    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(SKLEARN_EXAMPLE),
        framework_version="1.5",
        instance_type="ml.m5.large",
        role=modelyard.get_execution_role(),
        sagemaker_session=session,
        hyperparameters={"n_estimators": 50, "max_depth": 4},
    )
    estimator.fit({"train": TrainingInput(train_uri, content_type="text/csv")}, logs="None")

    transformer = estimator.transformer(
        instance_count=1, instance_type="ml.m5.large", accept="text/csv", assemble_with="Line"
    )
    transformer.transform(
        input_uri,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
    )
    print(f"output: {transformer.output_path}rows.csv.out")
    progress = transformer.describe()["TransformProgress"]
    print(f"{progress['RecordsDone']} records in {progress['ElapsedSeconds']:.2f} s")

    bucket, _, key = f"{transformer.output_path}rows.csv.out".removeprefix("s3://").partition("/")
    lines = session.read_s3_file(bucket, key).split()
    labels = {row_id: int(float(label)) for row_id, label in (line.split(",") for line in lines)}
    accuracy = sum(labels[f"row-{i}"] == t for i, t in enumerate(frame["target"])) / len(frame)
    print(f"first lines: {lines[:3]}")
    print(f"accuracy over the scored rows: {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
