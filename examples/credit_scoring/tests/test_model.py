"""Model tests: shapes, training on every device, reproducibility, quality.

They are marked ``model``: with ``--mltk-changed-since origin/main`` they run only when
a file of ``mltk_model_paths`` (pyproject.toml) changed.
"""

from __future__ import annotations

import pytest
import torch
from credit_scoring.features import FEATURE_NAMES
from credit_scoring.model import CreditNet
from credit_scoring.train import evaluate, train

pytestmark = pytest.mark.model


def test_output_is_one_logit_per_applicant(device):
    model = CreditNet(len(FEATURE_NAMES)).to(device)
    assert model(torch.randn(16, len(FEATURE_NAMES), device=device)).shape == (16,)


def test_training_lowers_the_loss(applicants, device):
    result = train(applicants, epochs=3, device=device)
    assert result.losses[-1] < result.losses[0]


@pytest.mark.devices("cpu", "cuda")
def test_probabilities_are_probabilities(device):
    model = CreditNet(len(FEATURE_NAMES)).to(device)
    proba = model.predict_proba(torch.randn(64, len(FEATURE_NAMES), device=device))
    assert ((proba >= 0) & (proba <= 1)).all()


@pytest.mark.model(deterministic=True)
def test_training_is_reproducible(applicants, seed):
    first = train(applicants, epochs=2, seed=seed).model.state_dict()
    second = train(applicants, epochs=2, seed=seed).model.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_model_beats_chance_on_held_out_applicants(split, seed):
    train_frame, test_frame = split
    metrics = evaluate(train(train_frame, epochs=6, seed=seed), test_frame)
    assert metrics["auc"] > 0.7, metrics
