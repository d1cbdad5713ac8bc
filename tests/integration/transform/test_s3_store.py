"""Transform jobs on the S3 backend (a moto server): inputs streamed in, outputs in parts."""

from __future__ import annotations

import gzip
from pathlib import Path

from modelyard.config import get_settings
from tests.fixtures.asgi_server import serve_modelyard
from tests.integration.hosting.conftest import Artifacts, stop_leftover_replicas

from .conftest import Transform

ROWS = b"5.1,3.5,1.4,0.2\n6.2,3.4,5.4,2.3\n5.9,3.0,4.2,1.5\n"


def test_a_job_reads_and_writes_an_s3_store(
    s3_settings: None, artifacts: Artifacts, modelyard_home: Path
) -> None:
    settings = get_settings()
    assert settings.store_backend == "s3"
    try:
        with serve_modelyard(settings) as url, Transform(url, artifacts) as transform:
            transform.create_model("iris", artifacts.logistic)
            transform.put("s3://out/.keep", b"")
            # Joined to its input, the output is over one multipart part (5 MB): the upload
            # is streamed in parts.
            transform.put("s3://data/big/rows.csv.gz", gzip.compress(ROWS * 120_000))
            transform.put("s3://data/big/small.csv.gz", gzip.compress(ROWS))

            described = transform.run(
                "on-s3",
                "iris",
                "s3://data/big/",
                CompressionType="Gzip",
                ContentType="text/csv",
                SplitType="Line",
                Accept="text/csv",
                AssembleWith="Line",
                MaxPayloadInMB=1,
                DataProcessing={"JoinSource": "Input"},
            )

            assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
            big = transform.get("s3://out/on-s3/rows.csv.gz.out")
            assert len(big) > 5 * 2**20
            expected = [b"5.1,3.5,1.4,0.2,0", b"6.2,3.4,5.4,2.3,2", b"5.9,3.0,4.2,1.5,1"]
            assert big.split() == expected * 120_000
            small = transform.get("s3://out/on-s3/small.csv.gz.out")
            assert small.split() == big.split()[:3]
    finally:
        stop_leftover_replicas(settings)
