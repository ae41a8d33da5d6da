"""Tests written for the faults `pytest --mltk-mutate` showed this suite let through.

Each test names the mutant it kills. Before these, the suite's ML mutation score (0.81)
listed `reduction_sum` as a survivor (Adam rescales gradients, so a summed loss trains
almost as well and no training test noticed), `eval_mode_during_training` (the network
still learns in eval mode, but BatchNorm never learns its running statistics, so serving
normalises with 0 and 1), and `workers_not_seeded` as not applicable (no `DataLoader`
anywhere, so nothing showed that a loader follows the run's seed).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from credit_scoring.features import FEATURE_NAMES, Scaler
from credit_scoring.model import CreditNet
from credit_scoring.train import train

pytestmark = pytest.mark.model


@pytest.fixture
def tensors(applicants):
    """256 applicants as scaled features and default labels."""
    rows = applicants.head(256)
    x = torch.from_numpy(Scaler.fit(applicants).transform(rows))
    y = torch.tensor(rows["defaulted"].to_numpy(), dtype=torch.float32)
    return x, y


def test_the_loss_is_a_mean_per_applicant(tensors):
    # kills reduction_sum: an untrained model's BCE is about ln 2 = 0.69 per applicant
    # whatever the batch size; a summed loss is 256 times that
    x, y = tensors
    loss = nn.BCEWithLogitsLoss()(CreditNet(len(FEATURE_NAMES))(x), y).item()
    assert 0.3 < loss < 1.5, f"loss {loss:.2f} for 256 applicants: is it summed?"


def epoch_labels(tensors, seed):
    loader = DataLoader(
        TensorDataset(*tensors),
        batch_size=64,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    return torch.cat([labels for _, labels in loader])


def test_a_shuffled_loader_follows_the_seed(tensors, seed):
    # kills workers_not_seeded: one seed, one order of batches
    assert torch.equal(epoch_labels(tensors, seed), epoch_labels(tensors, seed))


def test_training_moves_the_batchnorm_statistics(applicants):
    # kills eval_mode_during_training: in eval mode BatchNorm keeps mean 0, variance 1
    norm = train(applicants, epochs=1).model.body[1]
    assert norm.num_batches_tracked.item() > 0
    assert not torch.allclose(norm.running_var, torch.ones_like(norm.running_var))
