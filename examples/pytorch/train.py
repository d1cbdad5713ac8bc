"""Train a small PyTorch classifier on CSV data: a SageMaker script-mode entry point, unchanged.

Arguments ``--epochs --lr --hidden``; channels ``SM_CHANNEL_TRAIN`` / ``SM_CHANNEL_TEST``
(CSV with a header row, the class in ``--target``). Prints ``epoch=N loss=...`` and
``test_accuracy=...`` for the job's metric definitions; saves the weights as
``model.pth`` and the network's shape as ``model.json``; ``model_fn`` rebuilds it, as
SageMaker's PyTorch serving container calls it.
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import pandas as pd
import torch
from torch import nn


class Normalize(nn.Module):
    """Standardizes the inputs with the training set's mean and deviation (saved buffers)."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("std", torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def build(features: int, hidden: int, classes: int) -> nn.Sequential:
    return nn.Sequential(
        Normalize(features), nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes)
    )


def model_fn(model_dir: str) -> nn.Module:
    """Rebuild the network saved by this script (SageMaker's PyTorch serving contract)."""
    with open(os.path.join(model_dir, "model.json")) as handle:
        shape = json.load(handle)
    model = build(shape["features"], shape["hidden"], shape["classes"])
    model.load_state_dict(torch.load(os.path.join(model_dir, "model.pth")))
    return model.eval()


def read_channel(directory: str, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    files = sorted(glob.glob(os.path.join(directory, "*.csv")))
    frame = pd.concat([pd.read_csv(path) for path in files], ignore_index=True)
    features = torch.tensor(frame.drop(columns=target).to_numpy(), dtype=torch.float32)
    return features, torch.tensor(frame[target].to_numpy(), dtype=torch.long)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--target", type=str, default="target")
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()

    torch.manual_seed(0)
    x, y = read_channel(args.train, args.target)
    classes = int(y.max()) + 1
    model = build(x.shape[1], args.hidden, classes)
    model[0].mean.copy_(x.mean(0))
    model[0].std.copy_(x.std(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if epoch % 20 == 0 or epoch == args.epochs - 1:
            print(f"epoch={epoch} loss={loss.item():.4f}", flush=True)

    if args.test:
        tx, ty = read_channel(args.test, args.target)
        with torch.no_grad():
            accuracy = (model(tx).argmax(1) == ty).float().mean().item()
        print(f"test_accuracy={accuracy:.4f}", flush=True)
    torch.save(model.state_dict(), os.path.join(args.model_dir, "model.pth"))
    shape = {"features": x.shape[1], "hidden": args.hidden, "classes": classes}
    with open(os.path.join(args.model_dir, "model.json"), "w") as handle:
        json.dump(shape, handle)


if __name__ == "__main__":
    main()
