"""Model tests: shapes, training on every device, reproducibility, checkpoints, quality.

They are marked ``model``: with ``--mltk-changed-since origin/main`` they run only when
a file of ``mltk_model_paths`` (pyproject.toml) changed. Tests taking ``device`` run once
per available device (``[cpu]``, ``[cuda]``...).
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from credit_scoring.checkpoint import load_checkpoint, save_checkpoint
from credit_scoring.features import FEATURE_NAMES, Scaler
from credit_scoring.model import CreditNet
from credit_scoring.serving import CreditScorer, serving_rows
from credit_scoring.train import evaluate, train
from mlops_testkit import (
    assert_batch_invariant,
    assert_checkpoint_roundtrip,
    assert_deterministic,
    assert_finite,
    assert_loss_decreases,
    assert_output_shape,
    assert_overfits_batch,
    assert_params_update,
)

pytestmark = pytest.mark.model
N_FEATURES = len(FEATURE_NAMES)
BCE = nn.BCEWithLogitsLoss()


@pytest.fixture
def batch(applicants):
    """One 64-row batch of scaled features and default labels."""
    rows = applicants.head(64)
    x = torch.from_numpy(Scaler.fit(applicants).transform(rows))
    y = torch.tensor(rows["defaulted"].to_numpy(), dtype=torch.float32)
    return x, y


def test_output_is_one_logit_per_applicant(batch):
    assert_output_shape(CreditNet(N_FEATURES), batch[0], (64,), dtype=torch.float32)


def test_overfits_one_batch(batch, device):
    assert_overfits_batch(CreditNet(N_FEATURES), batch, BCE, device=device)


def test_loss_decreases(batch, device):
    assert_loss_decreases(CreditNet(N_FEATURES), batch, BCE, device=device)


def test_every_parameter_trains(batch, device):
    assert_params_update(CreditNet(N_FEATURES), batch, BCE, expect_trainable=True, device=device)


def test_outputs_and_gradients_are_finite(batch, device):
    assert_finite(CreditNet(N_FEATURES).to(device), batch[0].to(device), grads=True)


def test_training_loop_lowers_the_loss(applicants, device):
    result = train(applicants, epochs=3, device=device)
    assert result.losses[-1] < result.losses[0]


@pytest.mark.devices("cpu", "cuda")
def test_probabilities_are_probabilities(device):
    model = CreditNet(N_FEATURES).to(device)
    proba = model.predict_proba(torch.randn(64, N_FEATURES, device=device))
    assert ((proba >= 0) & (proba <= 1)).all()


@pytest.mark.model(deterministic=True)
def test_training_is_reproducible(applicants, seed):
    assert_deterministic(lambda: train(applicants, epochs=2, seed=seed).model, seed=seed)


def test_prediction_is_deterministic(batch):
    model = CreditNet(N_FEATURES)  # predict_proba switches to eval mode: dropout is off
    assert_deterministic(lambda: model.predict_proba(batch[0]), reseed=False, runs=3)


def test_serving_is_batch_invariant(applicants):
    # an applicant's risk must not depend on who else is in the request: the served
    # scorer (raw rows in, probabilities out) alone, in chunks and shuffled
    trained = train(applicants, epochs=1)
    scorer = CreditScorer(trained.model, trained.scaler)
    assert_batch_invariant(lambda rows: scorer.predict(None, rows), serving_rows(applicants[:200]))


def test_a_loader_that_forgets_eval_is_caught(batch):
    # the bug this guards against: a network rebuilt from its state dict stays in
    # training mode, so BatchNorm normalises each request by itself
    rebuilt = CreditNet(N_FEATURES)
    with pytest.raises(AssertionError, match="training mode"):
        assert_batch_invariant(rebuilt, batch[0])


def test_checkpoint_round_trip(applicants, batch, tmp_path):
    trained = train(applicants, epochs=1).model  # batch-norm statistics have moved
    assert_checkpoint_roundtrip(
        trained, batch[0], save=save_checkpoint, load=load_checkpoint, tmp_path=tmp_path
    )


def test_model_beats_chance_on_held_out_applicants(split, seed):
    train_frame, test_frame = split
    metrics = evaluate(train(train_frame, epochs=6, seed=seed), test_frame)
    assert metrics["auc"] > 0.7, metrics
