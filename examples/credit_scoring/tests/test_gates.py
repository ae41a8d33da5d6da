"""Gates the model must pass before promotion: quality bars, every region, no regression
against the model in production, and cost budgets. `pytest --mltk-gate-report PATH`
writes their results for `mlops-testkit gate PATH` (the deploy stage)."""

from __future__ import annotations

import pytest
import torch

from credit_scoring.train import evaluate, train
from mlops_testkit import (
    assert_latency,
    assert_metric,
    assert_model_size,
    assert_no_regression,
    assert_slices,
)

pytestmark = pytest.mark.gate


@pytest.fixture(scope="module")
def evaluated():
    """The candidate and a stand-in champion (fewer epochs), scored on held-out data."""
    from credit_scoring.data import generate_applicants, train_test_split

    train_frame, test_frame = train_test_split(generate_applicants(8_000, seed=0), seed=0)
    candidate = train(train_frame, epochs=8, seed=0)
    champion = train(train_frame, epochs=2, seed=1)

    def proba(result):
        x = torch.from_numpy(result.scaler.transform(test_frame))
        return result.model.predict_proba(x).numpy()

    return {
        "test": test_frame,
        "candidate": candidate,
        "metrics": evaluate(candidate, test_frame),
        "p_candidate": proba(candidate),
        "p_champion": proba(champion),
    }


def test_auc_meets_the_bar(evaluated):
    assert_metric("auc", evaluated["metrics"]["auc"], min=0.72)


def test_every_region_is_served_well(evaluated):
    test = evaluated["test"]
    assert_slices(
        test["defaulted"],
        evaluated["p_candidate"],
        test["region"].astype(str),
        metric="roc_auc",
        min=0.65,
        max_gap=0.08,
        name="auc per region",
    )


def test_not_worse_than_the_champion(evaluated):
    # per-example Brier scores (negated: higher is better) make the comparison paired
    y = evaluated["test"]["defaulted"].to_numpy()
    cand = -((evaluated["p_candidate"] - y) ** 2)
    champ = -((evaluated["p_champion"] - y) ** 2)
    assert_no_regression(
        "neg_brier",
        float(cand.mean()),
        float(champ.mean()),
        tolerance=0.002,
        candidate_scores=cand,
        baseline_scores=champ,
    )


def test_latency_budget(evaluated):
    model, scaler = evaluated["candidate"].model, evaluated["candidate"].scaler
    batch = evaluated["test"].head(256)

    def predict(frame):
        return model.predict_proba(torch.from_numpy(scaler.transform(frame)))

    assert_latency(predict, batch, p95_ms=50, warmup=3, repeats=10, rounds=5)


def test_size_budget(evaluated):
    assert_model_size(evaluated["candidate"].model, max_mb=1.0, max_params=100_000)
