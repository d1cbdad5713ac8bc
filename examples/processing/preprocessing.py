"""Split and scale a dataset with scikit-learn and pandas: a SageMaker processing script.

Runs unchanged on SageMaker and on modelyard (SKLearnProcessor, ``framework_version="1.5"``).
Reads every CSV under /opt/ml/processing/input/data (features, then a ``label`` column),
writes train/validation/test splits, standardised with the training split's statistics,
under /opt/ml/processing/{train,validation,test}/ and the scaler's parameters under
/opt/ml/processing/scaler/.

    python3 preprocessing.py --train-ratio 0.7 --validation-ratio 0.15
"""

import argparse
import glob
import json
import os

import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

BASE = "/opt/ml/processing"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-ratio", type=float, default=0.7)
    parser.add_argument("--validation-ratio", type=float, default=0.15)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args()

    files = sorted(glob.glob(os.path.join(BASE, "input", "data", "*.csv")))
    if not files:
        raise FileNotFoundError(f"no CSV file under {BASE}/input/data")
    frame = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    features = [column for column in frame.columns if column != "label"]
    print(f"read {len(frame)} rows, {len(features)} features from {len(files)} files")

    train, rest = train_test_split(
        frame, train_size=args.train_ratio, random_state=args.random_state
    )
    validation_share = args.validation_ratio / (1 - args.train_ratio)
    validation, test = train_test_split(
        rest, train_size=validation_share, random_state=args.random_state
    )

    scaler = StandardScaler().fit(train[features])
    for name, split in (("train", train), ("validation", validation), ("test", test)):
        scaled = pd.DataFrame(scaler.transform(split[features]), columns=features)
        scaled.insert(0, "label", split["label"].to_numpy())
        directory = os.path.join(BASE, name)
        os.makedirs(directory, exist_ok=True)
        scaled.to_csv(os.path.join(directory, f"{name}.csv"), index=False)
        print(f"{name}: {len(scaled)} rows")

    os.makedirs(os.path.join(BASE, "scaler"), exist_ok=True)
    with open(os.path.join(BASE, "scaler", "scaler.json"), "w") as fh:
        json.dump(
            {"features": features, "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()},
            fh,
        )


if __name__ == "__main__":
    main()
