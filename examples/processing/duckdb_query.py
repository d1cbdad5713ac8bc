"""A DuckDB query as a processing input (SageMaker's AthenaDatasetDefinition), run from Python.

    python examples/processing/duckdb_query.py

The query runs on the platform before the script starts, over the store's objects named
by their s3:// URIs; its result arrives as CSV under /opt/ml/processing/input/sales, and
the script (summarise.py beside this file) turns it into a report output.
"""

from __future__ import annotations

from pathlib import Path

import modelyard
from modelyard.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
from modelyard.processing import ProcessingInput, ProcessingOutput
from modelyard.sklearn.processing import SKLearnProcessor

HERE = Path(__file__).parent

QUERY = """
SELECT region, count(*) AS orders, round(sum(amount), 2) AS revenue
FROM read_csv('s3://{bucket}/examples/sales/*.csv')
GROUP BY region
ORDER BY revenue DESC
"""


def main() -> None:
    session = modelyard.Session()
    bucket = session.default_bucket()
    for month in ("01", "02"):
        rows = ["region,amount"] + [f"r{i % 3},{i * 1.25:.2f}" for i in range(30)]
        session.upload_string_as_file_body(
            "\n".join(rows) + "\n", bucket, f"examples/sales/2026-{month}.csv"
        )
    sales = ProcessingInput(
        input_name="sales",
        dataset_definition=DatasetDefinition(
            local_path="/opt/ml/processing/input/sales",
            data_distribution_type="FullyReplicated",
            athena_dataset_definition=AthenaDatasetDefinition(
                catalog="AwsDataCatalog",
                database="default",
                query_string=QUERY.format(bucket=bucket),
                output_s3_uri=f"s3://{bucket}/examples/athena/",
                output_format="TEXTFILE",
            ),
        ),
    )
    processor = SKLearnProcessor(
        framework_version="1.5",
        role=modelyard.get_execution_role(),
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    processor.run(
        code=str(HERE / "summarise.py"),
        inputs=[sales],
        outputs=[ProcessingOutput(output_name="report", source="/opt/ml/processing/report")],
    )


if __name__ == "__main__":
    main()
