"""Behavioral tests of the trained credit model, on whole frames (vectorised)."""

from __future__ import annotations

import pytest
import torch

from credit_scoring.train import train
from mlops_testkit import assert_directional, assert_invariant, perturb

pytestmark = pytest.mark.behavioral


@pytest.fixture(scope="module")
def scorer():
    """predict(frame) -> probability of default, from a model trained once."""
    from credit_scoring.data import generate_applicants

    result = train(generate_applicants(4_000, seed=0), epochs=6, seed=0)

    def predict(frame):
        x = torch.from_numpy(result.scaler.transform(frame))
        return result.model.predict_proba(x).numpy()

    return predict


@pytest.fixture
def applicants_sample(applicants):
    return applicants.head(500)


def test_more_debt_never_lowers_the_default_risk(scorer, applicants_sample):
    """DIR: with 20% more debt, the predicted risk of default must not go down (a
    tolerance of 0.01 absorbs the network's small non-monotone wiggles)."""
    assert_directional(
        scorer,
        applicants_sample,
        perturb.increase("debt", factor=1.2),
        expect="not_decrease",
        tolerance=0.01,
        name="debt",
    )


def test_more_late_payments_raise_the_risk_for_most(scorer, applicants_sample):
    """DIR with a rate threshold: two more late payments raise the risk for nearly all."""
    assert_directional(
        scorer,
        applicants_sample,
        perturb.increase("late_payments", by=2),
        expect="increase",
        max_fail_rate=0.05,
        name="late payments",
    )


def test_the_applicant_id_is_irrelevant(scorer, applicants_sample):
    """INV: shuffling identifiers changes nothing (the model must not read them)."""
    assert_invariant(
        scorer,
        applicants_sample,
        perturb.jitter("applicant_id", 0.5),
        tolerance=1e-6,
        name="applicant id",
    )


def test_tiny_income_noise_does_not_flip_decisions(scorer, applicants_sample):
    """INV: +-1% noise on income moves no risk score by more than 0.02."""
    assert_invariant(
        scorer,
        applicants_sample,
        perturb.jitter("income", 0.01),
        tolerance=0.02,
        name="income noise",
    )


def test_more_income_never_lowers_the_approval_score(scorer, applicants_sample):
    """DIR: approval is 1 - risk of default; 20% more income must not raise the risk."""
    assert_directional(
        scorer,
        applicants_sample,
        perturb.increase("income", factor=1.2),
        expect="not_increase",
        tolerance=0.01,
        name="income",
    )
