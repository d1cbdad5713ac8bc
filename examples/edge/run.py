"""Train on iris, compile for a Raspberry Pi, package, deploy to a fleet, serve on the "device".

    python examples/edge/run.py

The SageMaker Neo + Edge Manager workflow on open standards: ``SKLearn(...).fit()``
trains (``examples/sklearn/train.py``); ``estimator.compile_model(...)`` makes a
verified ONNX model for ``rasp4b`` (the report says how close it is to the
original); an edge packaging job signs it; the fleet ``kiosks`` gets it deployed;
and an edge agent (``modelyard-edge``, normally on the device: ``pip install
./edge-agent``) syncs, switches to it and predicts, with no framework installed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris

import modelyard
from modelyard.inputs import TrainingInput
from modelyard.sklearn.estimator import SKLearn

HERE = Path(__file__).resolve().parent
LABELS = ["setosa", "versicolor", "virginica"]


def main() -> list[str]:
    from modelyard_edge import AgentConfig, EdgeAgent

    session = modelyard.Session()
    client = session.client
    bucket = session.default_bucket()
    with tempfile.TemporaryDirectory(prefix="edge-") as scratch:
        work = Path(scratch)
        frame = load_iris(as_frame=True).frame
        (work / "train").mkdir()
        frame.to_csv(work / "train" / "train.csv", index=False)
        (work / "test").mkdir()
        frame.sample(30, random_state=0).to_csv(work / "test" / "test.csv", index=False)
        train_uri = session.upload_data(str(work / "train"), key_prefix="examples/edge/train")
        test_uri = session.upload_data(str(work / "test"), key_prefix="examples/edge/test")
        estimator = SKLearn(
            entry_point="train.py",
            source_dir=str(HERE.parent / "sklearn"),
            framework_version="1.5",
            instance_type="ml.m5.large",
            role=modelyard.get_execution_role(),
            sagemaker_session=session,
            hyperparameters={"n_estimators": 30, "max_depth": 4},
        )
        estimator.fit(
            {"train": TrainingInput(train_uri, content_type="text/csv"), "test": test_uri}
        )

        stamp = time.strftime("%Y%m%d%H%M%S")
        compiled = estimator.compile_model(
            target_instance_family="rasp4b",
            input_shape={"input": [1, 4]},
            output_path=f"s3://{bucket}/examples/edge/compiled",
            framework="sklearn",
            framework_version="1.5",
            job_name=f"iris-rasp4b-{stamp}",
        )
        verification = compiled.report["Verification"]
        error = verification["MaxAbsoluteError"]
        print(
            f"compiled: {compiled.model_data} (max abs error {error:.2g},"
            f" label agreement {verification['LabelAgreement']})"
        )

        keys = {
            k["KeyName"]: k["PublicKey"]
            for k in client.get_json("/edge/signing-keys")["SigningKeys"]
        }
        public = (
            keys.get("examples")
            or client.post_json("/edge/signing-keys", {"KeyName": "examples"})["PublicKey"]
        )
        job = f"iris-package-{stamp}"
        client.post_json(
            "/edge-packaging-jobs",
            {
                "EdgePackagingJobName": job,
                "CompilationJobName": compiled.job_name,
                "ModelName": "iris",
                "ModelVersion": stamp,
                "ResourceKey": "examples",
                "OutputConfig": {"S3OutputLocation": f"s3://{bucket}/examples/edge/packages"},
                "Processing": {"Postprocessing": {"Labels": LABELS}},
            },
        )
        while client.get_json(f"/edge-packaging-jobs/{job}")["EdgePackagingJobStatus"] not in (
            "COMPLETED",
            "FAILED",
        ):
            time.sleep(0.2)
        fleets = {
            f["DeviceFleetName"] for f in client.get_json("/edge/fleets")["DeviceFleetSummaries"]
        }
        if "kiosks" not in fleets:
            client.post_json("/edge/fleets", {"DeviceFleetName": "kiosks"})
        client.request("PUT", "/edge/fleets/kiosks/deployment", json={"EdgePackagingJobName": job})

        agent = EdgeAgent(
            AgentConfig(
                root=work / "device",
                device="kiosk-1",
                fleet="kiosks",
                control_plane=session.url,
                trusted_keys=[public],
            )
        )
        print("device sync:", agent.sync_once().get("Update"))
        rows = np.asarray([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32)
        labels = [str(label) for label in agent.predict(rows)["label"]]
        print(f"device kiosk-1 serves iris {agent.version}: {labels}")
        agent.sync_once()
        device = client.get_json("/edge/devices/kiosk-1")
        print(
            f"control plane: kiosk-1 {device['DeviceDeploymentStatus']}, "
            f"{device['CaptureCount']} captures"
        )
        return labels


if __name__ == "__main__":
    main()
