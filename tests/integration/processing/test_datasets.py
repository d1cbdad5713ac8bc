"""Dataset definitions as inputs: each materialises exactly the rows of its source.

DuckDB (``AthenaDatasetDefinition``) over CSV, Parquet and JSON objects on the local
store and on an S3 server (moto); PostgreSQL (``RedshiftDatasetDefinition``) on a real
server. The job's script copies what it was given to an output, so the assertions
read the materialised files back and compare them with the source.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from modelyard.config import Settings, get_settings, reset_settings
from tests.integration.processing.conftest import (
    BUCKET,
    ROLE,
    Plane,
    job_body,
    s3_output,
    start_plane,
)

COPY_INPUT = """
    import os, shutil
    source = "/opt/ml/processing/input/query"
    host = open("/opt/ml/config/resourceconfig.json").read()
    target = "/opt/ml/processing/output"
    for name in sorted(os.listdir(source)):
        shutil.copy(os.path.join(source, name), os.path.join(target, name))
"""

ROWS = [
    {"id": i, "name": f"item-{i}", "price": round(1.5 * i, 2), "region": "eu" if i % 2 else "us"}
    for i in range(1, 11)
]


def athena(query: str, fmt: str = "PARQUET", **fields: Any) -> dict[str, Any]:
    return {
        "InputName": "query",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/query",
            "AthenaDatasetDefinition": {
                "Catalog": "AwsDataCatalog",
                "Database": "default",
                "QueryString": query,
                "OutputS3Uri": f"s3://{BUCKET}/athena/",
                "OutputFormat": fmt,
            },
            **fields,
        },
    }


def redshift(cluster_id: str, query: str, fmt: str = "PARQUET", **fields: Any) -> dict[str, Any]:
    return {
        "InputName": "query",
        "DatasetDefinition": {
            "LocalPath": "/opt/ml/processing/input/query",
            "RedshiftDatasetDefinition": {
                "ClusterId": cluster_id,
                "Database": fields.pop("database", None) or "postgres",
                "DbUser": "postgres",
                "QueryString": query,
                "ClusterRoleArn": ROLE,
                "OutputS3Uri": f"s3://{BUCKET}/redshift/",
                "OutputFormat": fmt,
            },
            **fields,
        },
    }


def run_copy(plane: Plane, name: str, dataset_input: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = job_body(
        name,
        inputs=[plane.script("main", COPY_INPUT), dataset_input],
        outputs=[s3_output("copy", f"s3://{BUCKET}/copied/{name}", "/opt/ml/processing/output")],
        **kw,
    )
    return plane.run(body)


def read_parts(plane: Plane, prefix: str) -> pa.Table:
    tables = []
    for key in plane.keys(prefix):
        data = bytes(plane.store.get_object(BUCKET, key))
        if key.endswith(".parquet"):
            tables.append(pq.read_table(io.BytesIO(data)))
        elif key.endswith(".csv"):
            # Each part's types are inferred alone: 3.0 is written "3", so say what price is.
            options = pcsv.ConvertOptions(column_types={"price": pa.float64()})
            tables.append(pcsv.read_csv(io.BytesIO(data), convert_options=options))
        else:
            lines = [json.loads(line) for line in data.decode().splitlines()]
            tables.append(pa.Table.from_pylist(lines))
    return pa.concat_tables(tables)


def put_sources(plane: Plane) -> None:
    table = pa.Table.from_pylist(ROWS)
    sink = io.BytesIO()
    pq.write_table(table.slice(0, 6), sink)
    plane.put("lake/parquet/a.parquet", sink.getvalue())
    sink = io.BytesIO()
    pq.write_table(table.slice(6), sink)
    plane.put("lake/parquet/b.parquet", sink.getvalue())
    sink = io.BytesIO()
    pcsv.write_csv(table, sink)
    plane.put("lake/csv/items.csv", sink.getvalue())
    plane.put("lake/json/items.json", "\n".join(json.dumps(row) for row in ROWS) + "\n")


@pytest.mark.parametrize(
    ("reader", "fmt"),
    [
        ("read_parquet('s3://jobs/lake/parquet/*.parquet')", "PARQUET"),
        ("read_csv('s3://jobs/lake/csv/items.csv')", "TEXTFILE"),
        ("read_json('s3://jobs/lake/json/items.json')", "JSON"),
    ],
)
def test_duckdb_over_store_objects_materialises_the_source_rows(
    plane: Plane, reader: str, fmt: str
) -> None:
    put_sources(plane)
    query = f"SELECT id, name, price, region FROM {reader} ORDER BY id"
    described = run_copy(plane, "duckdb-job", athena(query, fmt))
    assert described["ProcessingJobStatus"] == "Completed", described
    copied = read_parts(plane, "copied/duckdb-job/")
    assert copied.to_pylist() == ROWS
    uploaded = plane.keys("athena/duckdb-job/query/")
    assert [k.rsplit("/", 1)[1].split(".")[0] for k in uploaded][:1] == ["part-00000"]
    assert read_parts(plane, "athena/duckdb-job/query/").to_pylist() == ROWS


def test_duckdb_results_shard_by_part_across_instances(plane: Plane) -> None:
    put_sources(plane)
    query = "SELECT id FROM read_parquet('s3://jobs/lake/parquet/*.parquet') ORDER BY id"
    described = run_copy(
        plane,
        "duckdb-sharded",
        athena(query, DataDistributionType="ShardedByS3Key"),
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 2, "InstanceType": "local", "VolumeSizeInGB": 1}
        },
    )
    assert described["ProcessingJobStatus"] == "Completed", described
    # 10 rows in parts of 3: parts 0 and 2 on algo-1, 1 and 3 on algo-2; all parts once.
    ids = sorted(read_parts(plane, "copied/duckdb-sharded/").column("id").to_pylist())
    assert ids == list(range(1, 11))
    assert len(plane.keys("copied/duckdb-sharded/")) == 4


def test_a_duckdb_sql_error_fails_the_job_precisely(plane: Plane) -> None:
    described = run_copy(plane, "duckdb-bad", athena("SELECT * FROM no_such_table"))
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "ClientError: ProcessingInput 'query' (AthenaDatasetDefinition): the query failed: "
        "Catalog Error: Table with name no_such_table does not exist!"
    )


def test_duckdb_cannot_read_the_servers_files(plane: Plane) -> None:
    described = run_copy(plane, "duckdb-escape", athena("SELECT * FROM read_csv('/etc/passwd')"))
    assert described["ProcessingJobStatus"] == "Failed"
    assert "Permission Error" in described["FailureReason"]


@pytest.fixture
def s3_plane(s3_settings: None) -> Iterator[Plane]:
    reset_settings()
    yield from start_plane(get_settings())


@pytest.mark.s3
def test_duckdb_reads_an_s3_store(s3_plane: Plane) -> None:
    put_sources(s3_plane)
    query = "SELECT * FROM read_parquet('s3://jobs/lake/parquet/*.parquet') ORDER BY id"
    described = run_copy(s3_plane, "duckdb-s3", athena(query, "TEXTFILE"))
    assert described["ProcessingJobStatus"] == "Completed", described
    assert read_parts(s3_plane, "copied/duckdb-s3/").to_pylist() == ROWS


# -- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture
def warehouse(postgres_database_url: str) -> str:
    """A database holding ``sales`` with typed columns, NULLs and 25 rows."""
    dsn = postgres_database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE sales (id integer PRIMARY KEY, customer text, amount numeric(10, 2),"
            " ratio double precision, paid boolean, day date, at timestamptz, note jsonb)"
        )
        for i in range(1, 26):
            connection.execute(
                "INSERT INTO sales VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    i,
                    None if i % 7 == 0 else f"customer-{i}",
                    Decimal(f"{i * 3}.{i:02d}"),
                    i / 8,
                    i % 2 == 0,
                    dt.date(2026, 1, 1) + dt.timedelta(days=i),
                    dt.datetime(2026, 1, 1, i % 24, tzinfo=dt.UTC),
                    psycopg.types.json.Jsonb({"n": i}),
                ),
            )
    return postgres_database_url


def source_rows(url: str, query: str) -> list[tuple[Any, ...]]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        return list(connection.execute(query).fetchall())


def test_postgres_query_materialises_exactly_the_source_rows(plane: Plane, warehouse: str) -> None:
    query = "SELECT * FROM sales WHERE id > 2 ORDER BY id"
    database = warehouse.rsplit("/", 1)[1]
    described = run_copy(
        plane,
        "pg-job",
        redshift(warehouse.rsplit("/", 1)[0] + "/postgres", query, database=database),
    )
    assert described["ProcessingJobStatus"] == "Completed", described
    copied = read_parts(plane, "copied/pg-job/")
    expected = source_rows(warehouse, query)
    assert copied.num_rows == len(expected) == 23
    got = [tuple(row.values()) for row in copied.to_pylist()]
    for ours, theirs in zip(got, expected, strict=True):
        assert ours[:7] == theirs[:7]
        assert json.loads(ours[7]) == theirs[7]
    assert copied.schema.field("amount").type == pa.decimal128(10, 2)
    assert copied.schema.field("at").type == pa.timestamp("us", tz="UTC")
    shown = described["ProcessingInputs"][1]["DatasetDefinition"]["RedshiftDatasetDefinition"]
    assert shown["ClusterId"].startswith("postgresql+psycopg://postgres@")


def test_a_named_connection_keeps_the_password_on_the_server(
    warehouse: str, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    secret_url = warehouse.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    monkeypatch.setenv("MODELYARD_SQL_CONNECTIONS", json.dumps({"warehouse": secret_url}))
    reset_settings()
    for plane in start_plane(get_settings()):
        described = run_copy(
            plane,
            "pg-named",
            redshift(
                "warehouse",
                "SELECT id FROM sales ORDER BY id",
                "CSV",
                database=warehouse.rsplit("/", 1)[1],
            ),
        )
        assert described["ProcessingJobStatus"] == "Completed", described
        ids = read_parts(plane, "copied/pg-named/").column("id").to_pylist()
        assert ids == [row[0] for row in source_rows(warehouse, "SELECT id FROM sales ORDER BY id")]
        assert "s3cret" not in json.dumps(described)
        config = plane.client.get_json("/processing-jobs/pg-named")
        assert "s3cret" not in json.dumps(config)


def test_a_postgres_sql_error_fails_the_job_precisely(plane: Plane, warehouse: str) -> None:
    database = warehouse.rsplit("/", 1)[1]
    described = run_copy(
        plane, "pg-bad", redshift(warehouse, "SELECT nope FROM sales", database=database)
    )
    assert described["ProcessingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(
        "ClientError: ProcessingInput 'query' (RedshiftDatasetDefinition): the query failed on "
    )
    assert 'column "nope" does not exist' in described["FailureReason"]


def test_an_unreachable_database_fails_the_job_without_its_password(plane: Plane) -> None:
    url = "postgresql+psycopg://analyst:hunter2@127.0.0.1:9/warehouse"
    described = run_copy(plane, "pg-down", redshift(url, "SELECT 1"))
    assert described["ProcessingJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert reason.startswith(
        "ClientError: ProcessingInput 'query' (RedshiftDatasetDefinition): cannot connect to "
        "postgresql+psycopg://analyst:***@127.0.0.1:9/"
    )
    assert "hunter2" not in json.dumps(described)
