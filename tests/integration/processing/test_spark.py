"""PySparkProcessor on the Spark image in local mode (Java 17): one real Spark application.

Spark's start costs 13-18 s here, so one test covers the whole path: the example's
feature aggregation with a helper from ``submit_py_files``, a ``spark-defaults``
configuration, and event logs uploaded continuously.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelyard
from modelyard.processing import ProcessingInput, ProcessingOutput
from modelyard.spark.processing import PySparkProcessor
from tests.integration.processing.conftest import BUCKET, Plane

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "processing"


@pytest.fixture
def session(plane: Plane) -> Iterator[modelyard.Session]:
    plane.services.images.framework_image("spark", "4.3")
    plane.services.images.build("spark:4.3", wait=True)
    with modelyard.Session(
        server_url=plane.client.base_url, settings=plane.services.settings
    ) as found:
        yield found


def test_pyspark_aggregates_features_from_the_store(
    plane: Plane, session: modelyard.Session
) -> None:
    rows = [
        (f"c{i % 4}", round((i * 7) % 50 + 0.25, 2), f"2026-01-{i % 28 + 1:02d}") for i in range(60)
    ]
    plane.put(
        "events/events.csv",
        "customer,amount,day\n" + "".join(f"{c},{a},{d}\n" for c, a, d in rows),
    )
    processor = PySparkProcessor(
        framework_version="4.3",
        role="arn:aws:iam::000000000000:role/r",
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    processor.run(
        submit_app=str(EXAMPLES / "spark_features.py"),
        submit_py_files=[str(EXAMPLES / "feature_helpers.py")],
        inputs=[ProcessingInput(f"s3://{BUCKET}/events/", "/opt/ml/processing/input/events")],
        outputs=[ProcessingOutput("/opt/ml/processing/output", f"s3://{BUCKET}/features")],
        arguments=[
            "--input",
            "/opt/ml/processing/input/events",
            "--output",
            "/opt/ml/processing/output/features",
        ],
        configuration=[
            {
                "Classification": "spark-defaults",
                "Properties": {"spark.sql.shuffle.partitions": "2"},
            }
        ],
        spark_event_logs_s3_uri=f"s3://{BUCKET}/spark-events/",
        job_name="spark-features",
        logs=False,
    )
    parts = [k for k in plane.keys("features/features/") if k.endswith(".csv")]
    assert len(parts) == 1
    got = list(csv.DictReader(io.StringIO(plane.text(parts[0]))))
    groups: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for customer, amount, day in rows:
        groups[customer].append((amount, day))
    expected = [
        {
            "customer": customer,
            "events": str(len(values)),
            "total": str(round(sum(a for a, _ in values), 2)),
            "mean": str(round(sum(a for a, _ in values) / len(values), 2)),
            "largest": str(max(a for a, _ in values)),
            "first_day": min(d for _, d in values),
            "last_day": max(d for _, d in values),
        }
        for customer, values in sorted(groups.items())
    ]
    assert got == expected
    assert plane.keys("spark-events/"), "the Spark event log was not uploaded"
    logs = plane.logs("spark-features")
    assert "--master local[" in logs
    assert "spark.sql.shuffle.partitions=2" in logs
    assert "wrote features of 4 customers" in logs
