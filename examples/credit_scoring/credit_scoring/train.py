"""Training: fit the scaler and the model, report metrics, save a checkpoint, and
optionally register the model in MLflow as the new ``challenger``.

python -m credit_scoring.train --rows 20000 --epochs 8 --out artifacts/model.pt
python -m credit_scoring.train --register credit-scoring
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from credit_scoring.checkpoint import save_checkpoint
from credit_scoring.data import generate_applicants, train_test_split
from credit_scoring.features import FEATURE_NAMES, Scaler
from credit_scoring.model import CreditNet


@dataclass
class TrainResult:
    model: CreditNet
    scaler: Scaler
    losses: list[float] = field(default_factory=list)


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y_true = np.asarray(y_true).astype(bool)
    ranks = pd.Series(np.asarray(scores)).rank(method="average").to_numpy()
    n_pos, n_neg = y_true.sum(), (~y_true).sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc needs both classes in y_true")
    return float((ranks[y_true].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def train(
    frame: pd.DataFrame,
    *,
    epochs: int = 8,
    batch_size: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Train a CreditNet on ``frame``; reproducible for a given seed on one device."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    scaler = Scaler.fit(frame)
    x = torch.from_numpy(scaler.transform(frame))
    y = torch.from_numpy(frame["defaulted"].to_numpy(dtype=np.float32))
    model = CreditNet(len(FEATURE_NAMES)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    result = TrainResult(model, scaler)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            xb, yb = x[idx].to(device), y[idx].to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        result.losses.append(total / len(x))
    model.eval()
    return result


def evaluate(result: TrainResult, frame: pd.DataFrame) -> dict[str, float]:
    x = torch.from_numpy(result.scaler.transform(frame))
    device = next(result.model.parameters()).device
    proba = result.model.predict_proba(x.to(device)).cpu().numpy()
    y = frame["defaulted"].to_numpy()
    return {
        "auc": roc_auc(y, proba),
        "accuracy": float(((proba >= 0.5) == y).mean()),
        "default_rate": float(y.mean()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the credit-scoring model.")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("artifacts/model.pt"))
    parser.add_argument(
        "--register",
        metavar="NAME",
        default=None,
        help="Log the run to MLflow (MLFLOW_TRACKING_URI, default ./mlflow.db), register "
        "the model as a new version of NAME and point the 'challenger' alias at it",
    )
    parser.add_argument(
        "--shuffle-labels",
        action="store_true",
        help="Train on shuffled labels: a deliberately bad candidate the gates must refuse",
    )
    args = parser.parse_args(argv)
    train_frame, test_frame = train_test_split(generate_applicants(args.rows, seed=args.seed))
    if args.shuffle_labels:
        labels = train_frame["defaulted"].sample(frac=1.0, random_state=args.seed).to_numpy()
        train_frame = train_frame.assign(defaulted=labels)
    result = train(train_frame, epochs=args.epochs, seed=args.seed)
    metrics = evaluate(result, test_frame)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(result.model, args.out, result.scaler)
    print(" ".join(f"{k}={v:.4f}" for k, v in metrics.items()), f"-> {args.out}")
    if args.register:
        from credit_scoring.serving import register

        version = register(
            result.model,
            result.scaler,
            test_frame,
            name=args.register,
            metrics=metrics,
            params={"rows": args.rows, "epochs": args.epochs, "seed": args.seed},
        )
        print(f"registered {args.register} v{version} (alias challenger)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
