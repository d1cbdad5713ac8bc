"""The end-to-end walk through modelyard on embedded defaults (``make demo``).

data source -> data preparation -> training -> deployment -> monitoring & maintenance,
written as a SageMaker notebook would be (replace ``modelyard`` by ``sagemaker`` and the
calls are SageMaker's), on a local server that starts by itself:

1. a dataset scikit-learn ships goes into the object store;
2. a processing job splits and scales it (``examples/processing/preprocessing.py``);
3. a training job fits a random forest on the splits (``examples/sklearn/train.py``);
4. the model serves on a real-time endpoint that captures its traffic;
5. a canary update to a second model bakes under a 5xx alarm, then is rolled back by
   hand in seconds (the old fleet is still warm); autoscaling watches the variant;
6. a batch transform job scores the test split, each prediction joined to its row;
7. the endpoint's metrics and captured requests are read back, and everything is
   cleaned up.

The framework image is built on the first run and cached on the machine.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer

import modelyard
from modelyard.deserializers import JSONDeserializer
from modelyard.inputs import TrainingInput
from modelyard.model_monitor import DataCaptureConfig
from modelyard.processing import ProcessingInput, ProcessingOutput
from modelyard.sdk import objects
from modelyard.serializers import CSVSerializer
from modelyard.sklearn.estimator import SKLearn
from modelyard.sklearn.model import SKLearnModel
from modelyard.sklearn.processing import SKLearnProcessor

EXAMPLES = Path(__file__).resolve().parent
console = Console()


def stage(title: str) -> None:
    console.rule(f"[bold]{title}")


def upload_dataset(session: modelyard.Session, scratch: Path) -> str:
    frame = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    directory = scratch / "raw"
    directory.mkdir()
    frame.to_csv(directory / "breast_cancer.csv", index=False)
    uri = session.upload_data(str(directory), key_prefix="demo/raw", progress=True)
    console.print(f"{len(frame)} rows, {frame.shape[1] - 1} features -> {uri}")
    return uri


def prepare(session: modelyard.Session, raw_uri: str) -> dict[str, str]:
    processor = SKLearnProcessor(
        framework_version="1.5",
        role=modelyard.get_execution_role(),
        instance_type="ml.m5.large",
        instance_count=1,
        sagemaker_session=session,
    )
    processor.run(
        code=str(EXAMPLES / "processing" / "preprocessing.py"),
        inputs=[ProcessingInput(source=raw_uri, destination="/opt/ml/processing/input/data")],
        outputs=[
            ProcessingOutput(output_name=name, source=f"/opt/ml/processing/{name}")
            for name in ("train", "validation", "test", "scaler")
        ],
        arguments=["--train-ratio", "0.7", "--validation-ratio", "0.15"],
        logs=False,
    )
    assert processor.latest_job is not None
    outputs = processor.latest_job.describe()["ProcessingOutputConfig"]["Outputs"]
    found = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in outputs}
    for name, uri in found.items():
        console.print(f"  {name:<10} {uri}")
    return found


def train(session: modelyard.Session, splits: dict[str, str]) -> SKLearn:
    estimator = SKLearn(
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        framework_version="1.5",
        instance_type="ml.m5.large",
        role=modelyard.get_execution_role(),
        sagemaker_session=session,
        hyperparameters={"n_estimators": 50, "max_depth": 5, "target": "label"},
        metric_definitions=[{"Name": "test:accuracy", "Regex": "test_accuracy=([0-9.]+)"}],
    )
    estimator.fit(
        {
            "train": TrainingInput(splits["train"], content_type="text/csv"),
            "test": TrainingInput(splits["test"], content_type="text/csv"),
        },
        logs="None",
    )
    job = estimator.latest_training_job.describe()
    for metric in job.get("FinalMetricDataList", []):
        console.print(f"  {metric['MetricName']} = {metric['Value']:.4f}")
    console.print(f"  model: {estimator.model_data}")
    return estimator


def test_rows(session: modelyard.Session, test_uri: str) -> pd.DataFrame:
    bucket, _, prefix = test_uri.removeprefix("s3://").partition("/")
    return pd.read_csv(pd.io.common.StringIO(session.read_s3_file(bucket, f"{prefix}/test.csv")))


def deploy(estimator: SKLearn, session: modelyard.Session, name: str) -> Any:
    capture = f"s3://{session.default_bucket()}/demo/capture"
    predictor = estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m5.large",
        endpoint_name=name,
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
        data_capture_config=DataCaptureConfig(
            enable_capture=True, sampling_percentage=100, destination_s3_uri=capture
        ),
    )
    console.print(f"endpoint {name}: {session.describe_endpoint(name)['EndpointStatus']}")
    return predictor


def predict(predictor: Any, frame: pd.DataFrame) -> float:
    features = frame.drop(columns="label").to_numpy()
    answers = predictor.predict(features)
    accuracy = float((pd.Series(answers) == frame["label"].to_numpy()).mean())
    console.print(f"  {len(answers)} predictions, accuracy {accuracy:.3f}")
    return accuracy


def safe_update(estimator: SKLearn, session: modelyard.Session, name: str) -> None:
    """A canary to a second model under an alarm, then a manual rollback while it bakes."""
    session.put_metric_alarm(
        AlarmName=f"{name}-5xx",
        MetricName="Invocation5XXErrors",
        Dimensions=[{"Name": "EndpointName", "Value": name}],
        Statistic="Average",
        Period=10,
        EvaluationPeriods=1,
        Threshold=0.05,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    candidate = SKLearnModel(
        model_data=estimator.model_data,
        role=modelyard.get_execution_role(),
        entry_point="train.py",
        source_dir=str(EXAMPLES / "sklearn"),
        framework_version="1.5",
        sagemaker_session=session,
        name=f"{name}-v2",
    )
    candidate.create(instance_type="ml.m5.large")
    config = f"{name}-v2"
    session.create_endpoint_config(config, f"{name}-v2", 1, "ml.m5.large")
    session.update_endpoint_with_deployment_config(
        name,
        config,
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20},
                    "WaitIntervalInSeconds": 5,
                },
                "TerminationWaitInSeconds": 300,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": f"{name}-5xx"}]},
        },
        wait=False,
    )
    deadline = time.monotonic() + 300
    seen = ""
    while time.monotonic() < deadline and seen != "Baking":
        summary = session.describe_endpoint(name).get("PendingDeploymentSummary") or {}
        for variant in summary.get("ProductionVariants", []):
            for status in variant.get("VariantStatus", []):
                if status["Status"] != seen:
                    seen = status["Status"]
                    console.print(f"  {config}: {seen} ({status['StatusMessage']})")
        time.sleep(0.5)
    started = time.monotonic()
    session.rollback_endpoint(name)
    described = session.describe_endpoint(name)
    console.print(
        f"  rolled back by hand in {time.monotonic() - started:.1f} s: "
        f"{described['EndpointConfigName']} serves again ({described['EndpointStatus']})"
    )


def autoscale(session: modelyard.Session, name: str) -> None:
    client = session.autoscaling_client()
    resource = f"endpoint/{name}/variant/AllTraffic"
    client.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MinCapacity=1,
        MaxCapacity=3,
    )
    client.put_scaling_policy(
        PolicyName=f"{name}-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 600.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    )
    targets = client.describe_scalable_targets(ServiceNamespace="sagemaker")
    for target in targets["ScalableTargets"]:
        console.print(
            f"  {target['ResourceId']}: {target['MinCapacity']}..{target['MaxCapacity']} "
            "replicas, target 600 invocations per instance per minute"
        )


def batch_transform(
    estimator: SKLearn, session: modelyard.Session, scratch: Path, rows: pd.DataFrame
) -> None:
    directory = scratch / "batch"
    directory.mkdir()
    features = rows.drop(columns="label")
    features.insert(0, "id", [f"row-{i}" for i in range(len(features))])
    features.to_csv(directory / "rows.csv", index=False, header=False)
    input_uri = session.upload_data(str(directory), key_prefix="demo/batch/input")
    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m5.large",
        accept="text/csv",
        assemble_with="Line",
        output_path=f"s3://{session.default_bucket()}/demo/batch/output",
    )
    transformer.transform(
        input_uri,
        content_type="text/csv",
        split_type="Line",
        input_filter="$[1:]",
        join_source="Input",
        output_filter="$[0,-1]",
        logs=False,
    )
    bucket, _, prefix = transformer.output_path.removeprefix("s3://").partition("/")
    lines = session.read_s3_file(bucket, f"{prefix}/rows.csv.out").splitlines()
    console.print(f"  {len(lines)} rows scored, no endpoint left running; first: {lines[:3]}")


def monitor(session: modelyard.Session, name: str) -> None:
    table = Table("metric", "variant", "value")
    for point in session.endpoint_metrics(name):
        if point["MetricName"] in {"Invocations", "ModelLatency", "OverheadLatency"}:
            table.add_row(point["MetricName"], point["VariantName"], f"{point['Value']:.1f}")
    console.print(table)
    bucket = session.default_bucket()
    deadline = time.monotonic() + 30
    captured: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not captured:
        captured = list(objects.list_objects(session.client, bucket, f"demo/capture/{name}/"))
        time.sleep(0.5)
    if captured:
        first = json.loads(session.read_s3_file(bucket, captured[0]["Key"]).splitlines()[0])
        console.print(
            f"  {len(captured)} capture file(s); a record holds "
            f"{', '.join(first['captureData'])} with event id {first['eventMetadata']['eventId']}"
        )
    alarms = session.describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]
    for alarm in alarms:
        console.print(f"  alarm {alarm['AlarmName']}: {alarm['StateValue']}")


def main() -> None:
    started = time.monotonic()
    console.rule("[bold]modelyard demo")
    session = modelyard.Session()
    console.print(f"control plane: {session.url} (home {session.settings.home})")
    name = f"demo-{int(time.time())}"
    with tempfile.TemporaryDirectory(prefix="modelyard-demo-") as directory:
        scratch = Path(directory)
        stage("1. data source: the object store")
        raw = upload_dataset(session, scratch)
        stage("2. data preparation: a processing job")
        splits = prepare(session, raw)
        stage("3. training: a scikit-learn training job")
        estimator = train(session, splits)
        rows = test_rows(session, splits["test"])
        stage("4. deployment: a real-time endpoint with data capture")
        predictor = deploy(estimator, session, name)
        try:
            predict(predictor, rows)
            stage("5. maintenance: a canary update, a rollback, autoscaling")
            safe_update(estimator, session, name)
            predict(predictor, rows)
            autoscale(session, name)
            stage("6. batch transform")
            batch_transform(estimator, session, scratch, rows)
            stage("7. monitoring: metrics, captured traffic, alarms")
            monitor(session, name)
        finally:
            predictor.delete_endpoint()
    console.rule(f"[bold green]done in {time.monotonic() - started:.1f} s")
    session.close()


if __name__ == "__main__":
    main()
