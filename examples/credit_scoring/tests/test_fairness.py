"""Gates a regulated lender needs before the candidate ships: approvals fair by sex,
probabilities that mean what they say, a lead over a simpler model, and no slice of
applicants whose risk the model underestimates.

Every verdict carries a bootstrap interval: a gate fails on clear evidence, not on noise.
Like test_gates.py, these judge the registry's candidate (register one first:
`python -m credit_scoring.train --register credit-scoring`).
"""

from __future__ import annotations

import pytest

from credit_scoring.data import SENSITIVE, generate_applicants
from credit_scoring.serving import serving_rows
from mlops_testkit import (
    assert_beats_baseline,
    assert_calibrated,
    assert_fairness,
    assert_no_weak_slices,
)

pytestmark = pytest.mark.gate
APPROVE_BELOW = 0.3  # the lending policy: approve when the default risk is under 30%


@pytest.fixture(scope="module")
def holdout():
    """Applicants no candidate trained on, fixed so verdicts compare over time."""
    return generate_applicants(4_000, seed=2024)


@pytest.fixture(scope="module")
def risk(candidate, holdout):
    return candidate.predict(serving_rows(holdout))


def test_approvals_are_fair_by_sex(holdout, risk):
    # demographic parity with the four-fifths rule, and at most 5 points apart; sex is
    # never a model input (serving_rows drops it), so a gap would come from proxies
    approved = (risk < APPROVE_BELOW).astype(int)
    assert_fairness(None, approved, holdout["sex"], min_ratio=0.8, max_gap=0.05)


def test_default_probabilities_are_calibrated(holdout, risk):
    # the risk is priced and thresholded: 30% must mean 30%
    assert_calibrated(holdout["defaulted"], risk, max_ece=0.05)


def test_beats_a_linear_model(holdout, risk):
    # the network must earn its complexity against a ridge model of the raw columns
    X = serving_rows(holdout).drop(columns="applicant_id")
    assert_beats_baseline(
        holdout["defaulted"], risk, baseline="linear", metric="roc_auc", X=X, n_boot=500
    )


def risk_not_underestimated(defaulted, risk):
    """Per applicant, predicted minus observed default: a slice whose mean trails the
    overall one is a group whose risk the model underestimates (scores that merely
    reflect a harder slice, like the Brier score, would flag hard slices instead)."""
    return risk - defaulted


def test_no_slice_has_its_risk_underestimated(holdout, risk):
    # region x age band, income x home ownership, ...: every feature and pair of them
    features = holdout.drop(columns=["applicant_id", "defaulted", *SENSITIVE])
    assert_no_weak_slices(
        features, holdout["defaulted"], risk, metric=risk_not_underestimated, max_gap=0.05
    )
