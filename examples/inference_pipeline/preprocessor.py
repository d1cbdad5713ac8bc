"""A scikit-learn preprocessor for an inference pipeline: SageMaker script mode, unchanged.

Trained, it fits a ``StandardScaler`` on every CSV of the ``train`` channel (header
row; the label column named by ``--target`` is left out) and saves it with joblib.
Served as the first container of a ``PipelineModel``, it reads CSV or JSON rows and
answers the scaled rows in CSV, which the next container (XGBoost) reads as is: give
the model ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT=text/csv``, as sagemaker's own
scikit-learn + XGBoost pipeline example does, since the client's ``Accept`` is for
the last container only.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

MODEL_FILE = "model.joblib"


def model_fn(model_dir: str) -> StandardScaler:
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


def input_fn(input_data: str | bytes, content_type: str) -> np.ndarray:
    text = input_data.decode() if isinstance(input_data, bytes) else input_data
    if content_type == "text/csv":
        return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)
    if content_type == "application/json":
        return np.atleast_2d(np.asarray(json.loads(text), dtype=float))
    raise ValueError(f"{content_type} is not supported: send text/csv or application/json")


def predict_fn(data: np.ndarray, model: StandardScaler) -> Any:
    return model.transform(data)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[str, str]:
    """CSV whatever is asked: the next container of the pipeline reads it."""
    rows = (",".join(repr(float(value)) for value in row) for row in prediction)
    return "\n".join(rows) + "\n", "text/csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=str, default="target")
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    args, _ = parser.parse_known_args()
    files = sorted(glob.glob(os.path.join(args.train, "*.csv")))
    frame = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    scaler = StandardScaler().fit(frame.drop(columns=args.target, errors="ignore").to_numpy())
    joblib.dump(scaler, os.path.join(args.model_dir, MODEL_FILE))


if __name__ == "__main__":
    main()
