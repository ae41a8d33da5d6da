"""Saving and loading a trained model with its feature scaler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from credit_scoring.features import FEATURE_NAMES, Scaler
from credit_scoring.model import CreditNet


def save_checkpoint(model: CreditNet, path: str | Path, scaler: Scaler | None = None) -> None:
    """Save the full state_dict (parameters and batch-norm buffers) and the scaler."""
    payload = {"state_dict": model.state_dict(), "n_features": len(FEATURE_NAMES)}
    if scaler is not None:
        payload["mean"] = torch.from_numpy(scaler.mean)
        payload["scale"] = torch.from_numpy(scaler.scale)
    torch.save(payload, path)


def load_checkpoint(path: str | Path) -> CreditNet:
    """Rebuild the model from a checkpoint, in eval mode."""
    payload = torch.load(path, weights_only=True)
    model = CreditNet(payload["n_features"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def load_scaler(path: str | Path) -> Scaler:
    payload = torch.load(path, weights_only=True)
    return Scaler(np.asarray(payload["mean"]), np.asarray(payload["scale"]))
