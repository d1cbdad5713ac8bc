"""Train a random forest on a CSV dataset: a SageMaker script-mode entry point, unchanged.

Run by the training toolkit with the hyperparameters as arguments
(``--n_estimators 100 --max_depth 4``) and SageMaker's ``SM_*`` variables: it reads
every CSV of the ``train`` channel (header row, label column named by ``--target``),
reports the accuracy on the ``test`` channel in a line the job's MetricDefinitions
parse, and saves the model with joblib in ``SM_MODEL_DIR``. ``model_fn`` beside the
training code is what SageMaker's scikit-learn serving container loads it with.
"""

from __future__ import annotations

import argparse
import glob
import os

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

MODEL_FILE = "model.joblib"


def model_fn(model_dir: str) -> RandomForestClassifier:
    """Load the model saved by this script (SageMaker's scikit-learn serving contract)."""
    return joblib.load(os.path.join(model_dir, MODEL_FILE))


def read_channel(directory: str) -> pd.DataFrame:
    files = sorted(glob.glob(os.path.join(directory, "*.csv")))
    if not files:
        raise ValueError(f"no CSV files in {directory}")
    return pd.concat([pd.read_csv(path) for path in files], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=None)
    parser.add_argument("--target", type=str, default="target")
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()

    train = read_channel(args.train)
    features = [column for column in train.columns if column != args.target]
    print(f"training on {len(train)} rows, features: {', '.join(features)}", flush=True)
    model = RandomForestClassifier(
        n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=0
    )
    model.fit(train[features], train[args.target])
    print(f"train_accuracy={model.score(train[features], train[args.target]):.4f}", flush=True)

    if args.test:
        test = read_channel(args.test)
        print(f"test_accuracy={model.score(test[features], test[args.target]):.4f}", flush=True)

    joblib.dump(model, os.path.join(args.model_dir, MODEL_FILE))


if __name__ == "__main__":
    main()
