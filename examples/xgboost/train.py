"""Train an XGBoost regressor on CSV data: a SageMaker script-mode entry point, unchanged.

The hyperparameters arrive as arguments (``--num_round 100 --max_depth 3 --eta 0.1``),
the channels as ``SM_CHANNEL_TRAIN`` / ``SM_CHANNEL_VALIDATION`` (CSV files with a header
row, the label in ``--target``). XGBoost's own evaluation log (``[9]#011train-rmse:...``)
is what the job's MetricDefinitions parse, as with SageMaker's XGBoost container. The
booster is saved as ``xgboost-model``, the name SageMaker's XGBoost serving loads.
"""

from __future__ import annotations

import argparse
import glob
import os

import pandas as pd
import xgboost as xgb

MODEL_FILE = "xgboost-model"


def model_fn(model_dir: str) -> xgb.Booster:
    """Load the booster saved by this script (SageMaker's XGBoost serving contract)."""
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, MODEL_FILE))
    return booster


def read_channel(directory: str, target: str) -> xgb.DMatrix:
    files = sorted(glob.glob(os.path.join(directory, "*.csv")))
    frame = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    return xgb.DMatrix(frame.drop(columns=target), label=frame[target])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--eta", type=float, default=0.1)
    parser.add_argument("--objective", type=str, default="reg:squarederror")
    parser.add_argument("--target", type=str, default="target")
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", type=str, default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args, _ = parser.parse_known_args()

    train = read_channel(args.train, args.target)
    watchlist = [(train, "train")]
    if args.validation:
        watchlist.append((read_channel(args.validation, args.target), "validation"))
    params = {"max_depth": args.max_depth, "eta": args.eta, "objective": args.objective}
    booster = xgb.train(params, train, num_boost_round=args.num_round, evals=watchlist)
    booster.save_model(os.path.join(args.model_dir, MODEL_FILE))


if __name__ == "__main__":
    main()
