"""Per-customer features from raw events with PySpark: a SageMaker Spark processing script.

Runs unchanged on SageMaker's Spark images and on modelyard's (PySparkProcessor,
``framework_version="4.3"``). Reads CSV events (customer, amount, day) from ``--input``
and writes one row per customer (event count, total, mean and largest amount, first and
last day) as CSV to ``--output``. Helpers come through ``submit_py_files``.

    smspark-submit spark_features.py --input /opt/ml/processing/input/events \\
        --output /opt/ml/processing/output/features
"""

import argparse

from feature_helpers import rounded  # shipped with submit_py_files
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 - the PySpark idiom


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    spark = SparkSession.builder.appName("customer-features").getOrCreate()
    events = spark.read.csv(args.input, header=True, inferSchema=True)
    features = (
        events.groupBy("customer")
        .agg(
            F.count("*").alias("events"),
            rounded(F.sum("amount")).alias("total"),
            rounded(F.avg("amount")).alias("mean"),
            F.max("amount").alias("largest"),
            F.min("day").cast("string").alias("first_day"),
            F.max("day").cast("string").alias("last_day"),
        )
        .orderBy("customer")
    )
    features.coalesce(1).write.mode("overwrite").csv(args.output, header=True)
    print(f"wrote features of {features.count()} customers")
    spark.stop()


if __name__ == "__main__":
    main()
