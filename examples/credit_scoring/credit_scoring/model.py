"""The PyTorch model: a small MLP that outputs the logit of default."""

from __future__ import annotations

import torch
from torch import nn


class CreditNet(nn.Module):
    """MLP with batch norm and dropout; ``forward`` returns logits of shape (batch,)."""

    def __init__(self, n_features: int, hidden: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).squeeze(-1)

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """Probability of default, in eval mode."""
        was_training = self.training
        self.eval()
        try:
            return torch.sigmoid(self(x))
        finally:
            self.train(was_training)
