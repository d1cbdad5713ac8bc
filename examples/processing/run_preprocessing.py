"""Run preprocessing.py as a SageMaker notebook would, with ``sagemaker.`` -> ``modelyard.``.

    python examples/processing/run_preprocessing.py

A local server starts if none runs (as ``ray.init()`` does); the sklearn image is built
on first use and cached on the machine.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import modelyard
from modelyard.processing import ProcessingInput, ProcessingOutput
from modelyard.sklearn.processing import SKLearnProcessor

HERE = Path(__file__).parent


def make_dataset(directory: Path, rows: int = 200) -> Path:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, 3)) * [1.0, 10.0, 100.0]
    label = (features[:, 0] + features[:, 1] / 10 > 0).astype(int)
    lines = ["f1,f2,f3,label"] + [
        f"{a:.4f},{b:.4f},{c:.4f},{y}" for (a, b, c), y in zip(features, label, strict=True)
    ]
    path = directory / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    return directory


def main() -> None:
    session = modelyard.Session()
    bucket = session.default_bucket()
    with tempfile.TemporaryDirectory() as scratch:
        data = make_dataset(Path(scratch))
        processor = SKLearnProcessor(
            framework_version="1.5",
            role=modelyard.get_execution_role(),
            instance_type="ml.m5.large",
            instance_count=1,
            sagemaker_session=session,
        )
        processor.run(
            code=str(HERE / "preprocessing.py"),
            inputs=[ProcessingInput(source=str(data), destination="/opt/ml/processing/input/data")],
            outputs=[
                ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}")
                for name in ("train", "validation", "test", "scaler")
            ],
            arguments=["--train-ratio", "0.7", "--validation-ratio", "0.15"],
        )
    described = processor.latest_job.describe() if processor.latest_job else {}
    for output in described["ProcessingOutputConfig"]["Outputs"]:
        print(output["OutputName"], "->", output["S3Output"]["S3Uri"])
    print("bucket:", bucket)


if __name__ == "__main__":
    main()
