"""Run spark_features.py with PySparkProcessor, as a SageMaker notebook would.

    python examples/processing/run_spark_features.py

Needs Java 17 on the machine (Debian: openjdk-17-jre-headless). Spark runs in local mode
with the instance type's cores; pass ``spark_master="spark://host:7077"`` to use a cluster.
"""

from __future__ import annotations

from pathlib import Path

import modelyard
from modelyard.processing import ProcessingInput, ProcessingOutput
from modelyard.spark.processing import PySparkProcessor

HERE = Path(__file__).parent


def main() -> None:
    session = modelyard.Session()
    bucket = session.default_bucket()
    rows = ["customer,amount,day"] + [
        f"c{i % 5},{(i * 7) % 50 + 0.5},2026-01-{i % 28 + 1:02d}" for i in range(200)
    ]
    events = session.upload_string_as_file_body(
        "\n".join(rows) + "\n", bucket, "examples/events/events.csv"
    )
    processor = PySparkProcessor(
        framework_version="4.3",
        role=modelyard.get_execution_role(),
        instance_type="ml.m5.xlarge",
        instance_count=1,
        sagemaker_session=session,
    )
    processor.run(
        submit_app=str(HERE / "spark_features.py"),
        submit_py_files=[str(HERE / "feature_helpers.py")],
        inputs=[
            ProcessingInput(
                source=events.rsplit("/", 1)[0], destination="/opt/ml/processing/input/events"
            )
        ],
        outputs=[ProcessingOutput(output_name="features", source="/opt/ml/processing/output")],
        arguments=[
            "--input",
            "/opt/ml/processing/input/events",
            "--output",
            "/opt/ml/processing/output/features",
        ],
        spark_event_logs_s3_uri=f"s3://{bucket}/spark-events/",
    )


if __name__ == "__main__":
    main()
