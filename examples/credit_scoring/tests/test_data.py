"""Data tests: the generator and the split produce what the model expects."""

from __future__ import annotations

import pytest

from credit_scoring.data import COLUMNS, REGIONS, generate_applicants

pytestmark = pytest.mark.data


def test_columns_and_no_nulls(applicants):
    assert tuple(applicants.columns) == COLUMNS
    assert not applicants.isna().any().any()


def test_values_are_plausible(applicants):
    assert applicants["age"].between(18, 79).all()
    assert (applicants["income"] > 0).all()
    assert (applicants["late_payments"] >= 0).all()
    # nobody has a credit history longer than their adult life
    assert (applicants["credit_history_months"] <= (applicants["age"] - 18) * 12).all()
    assert set(applicants["region"].unique()) <= set(REGIONS)


def test_default_rate_is_realistic(applicants):
    assert 0.05 < applicants["defaulted"].mean() < 0.35


def test_generator_is_reproducible(seed):
    assert generate_applicants(500, seed=seed).equals(generate_applicants(500, seed=seed))
    assert not generate_applicants(500, seed=seed).equals(generate_applicants(500, seed=seed + 1))


def test_split_shares_no_applicant(applicants, split):
    train, test = split
    assert set(train["applicant_id"]).isdisjoint(test["applicant_id"])
    assert len(train) + len(test) == len(applicants)
