"""The processing SDK against a served control plane, as a SageMaker notebook uses it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelyard
from modelyard.dataset_definition.inputs import AthenaDatasetDefinition, DatasetDefinition
from modelyard.processing import (
    FrameworkProcessor,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    Processor,
)
from modelyard.sdk.training_jobs import UnexpectedStatusException
from modelyard.sklearn import SKLearn
from modelyard.sklearn.processing import SKLearnProcessor
from tests.integration.processing.conftest import BUCKET, Plane

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "processing"


@pytest.fixture
def session(plane: Plane) -> Iterator[modelyard.Session]:
    with modelyard.Session(
        server_url=plane.client.base_url, settings=plane.services.settings
    ) as found:
        yield found


def test_sklearn_processor_runs_the_split_and_scale_example(
    plane: Plane, session: modelyard.Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    lines = ["f1,f2,label"] + [f"{i},{i * 10},{i % 2}" for i in range(100)]
    (data / "part.csv").write_text("\n".join(lines) + "\n")
    processor = SKLearnProcessor(
        framework_version="1.5",
        role="arn:aws:iam::000000000000:role/r",
        instance_type="ml.m5.large",
        instance_count=1,
        base_job_name="prep",
        sagemaker_session=session,
    )
    processor.run(
        code=str(EXAMPLES / "preprocessing.py"),
        inputs=[ProcessingInput(source=str(data), destination="/opt/ml/processing/input/data")],
        outputs=[
            ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}")
            for name in ("train", "validation", "test", "scaler")
        ],
        arguments=["--train-ratio", "0.6", "--validation-ratio", "0.2"],
    )
    assert processor.latest_job is not None
    job = processor.latest_job.job_name
    assert job.startswith("prep-")
    assert "read 100 rows, 2 features from 1 files" in capsys.readouterr().out
    described = processor.latest_job.describe()
    assert described["ProcessingJobStatus"] == "Completed"
    code = described["ProcessingInputs"][1]
    assert code["InputName"] == "code"
    assert code["S3Input"]["S3Uri"] == f"s3://modelyard/{job}/input/code/preprocessing.py"
    sizes = {}
    for name in ("train", "validation", "test"):
        text = plane.store.get_object("modelyard", f"{job}/output/{name}/{name}.csv").decode()
        sizes[name] = len(text.splitlines()) - 1
    assert sizes == {"train": 60, "validation": 20, "test": 20}
    scaler = json.loads(plane.store.get_object("modelyard", f"{job}/output/scaler/scaler.json"))
    assert scaler["features"] == ["f1", "f2"]
    assert processor.jobs == [processor.latest_job]


def test_framework_processor_runs_a_source_directory(
    plane: Plane, session: modelyard.Session, tmp_path: Path
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "helpers.py").write_text("def greet(name):\n    return f'hello {name}'\n")
    (source / "main.py").write_text(
        "import sys, helpers\n"
        "open('/opt/ml/processing/output/out.txt', 'w').write(helpers.greet(sys.argv[1]))\n"
    )
    processor = FrameworkProcessor(
        estimator_cls=SKLearn,
        framework_version="1.5",
        role="arn:aws:iam::000000000000:role/r",
        instance_count=1,
        instance_type="local",
        sagemaker_session=session,
    )
    processor.run(
        code="main.py",
        source_dir=str(source),
        outputs=[
            ProcessingOutput(source="/opt/ml/processing/output", destination=f"s3://{BUCKET}/fw")
        ],
        arguments=["world"],
        logs=False,
    )
    assert processor.image_uri == "sklearn:1.5"
    assert plane.store.get_object(BUCKET, "fw/out.txt") == b"hello world"
    assert processor.entrypoint == ["/bin/bash", "/opt/ml/processing/input/entrypoint/runproc.sh"]


def test_a_duckdb_dataset_definition_and_a_failure_through_the_sdk(
    plane: Plane, session: modelyard.Session
) -> None:
    plane.put("lake/items.csv", "id,price\n1,2.5\n2,3.5\n")
    plane.put("code/count.py", "import os\nprint(sorted(os.listdir('/opt/ml/processing/q')))\n")
    processor = Processor(
        role="arn:aws:iam::000000000000:role/r",
        image_uri="sklearn:1.5",
        instance_count=1,
        instance_type="local",
        entrypoint=["python3", "/opt/ml/processing/input/code/count.py"],
        sagemaker_session=session,
    )
    query = AthenaDatasetDefinition(
        catalog="AwsDataCatalog",
        database="default",
        query_string="SELECT sum(price) AS total FROM read_csv('s3://jobs/lake/items.csv')",
        output_s3_uri=f"s3://{BUCKET}/athena/",
        output_format="PARQUET",
    )
    processor.run(
        inputs=[
            ProcessingInput(
                source=f"s3://{BUCKET}/code/count.py",
                destination="/opt/ml/processing/input/code",
            ),
            ProcessingInput(
                input_name="q",
                dataset_definition=DatasetDefinition(
                    local_path="/opt/ml/processing/q", athena_dataset_definition=query
                ),
            ),
        ],
        job_name="sdk-duckdb",
        wait=True,
        logs=False,
    )
    found = ProcessingJob.from_processing_name(session, "sdk-duckdb")
    assert found.inputs is not None
    definition = found.inputs[1].dataset_definition
    assert definition is not None
    assert definition.athena_dataset_definition == query
    assert plane.logs("sdk-duckdb").strip() == "['part-00000.parquet']"

    processor.entrypoint = ["python3", "-c", "raise SystemExit('no data today')"]
    out = io.StringIO()
    processor.run(job_name="sdk-failing", wait=False, logs=False)
    assert processor.latest_job is not None
    with pytest.raises(UnexpectedStatusException, match="no data today"):
        processor.latest_job.wait(logs=True, out=out)
