"""Data tests: contracts of raw data and features, drift of serving data, leakage of the
split, and a property test of the feature code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from credit_scoring.data import COLUMNS, generate_applicants, serving_sample
from credit_scoring.features import raw_features
from credit_scoring.schemas import FEATURES, RawApplicants
from mlops_testkit import assert_no_drift, assert_no_leakage, assert_schema, frames

pytestmark = pytest.mark.data
FEATURE_COLUMNS = [c for c in COLUMNS if c not in ("applicant_id", "defaulted")]


def test_raw_data_meets_its_contract(applicants):
    assert_schema(applicants, RawApplicants)


def test_features_meet_their_contract(applicants):
    assert_schema(raw_features(applicants), FEATURES)


def test_default_rate_is_realistic(applicants):
    assert 0.05 < applicants["defaulted"].mean() < 0.35


def test_generator_is_reproducible(seed):
    assert generate_applicants(500, seed=seed).equals(generate_applicants(500, seed=seed))
    assert not generate_applicants(500, seed=seed).equals(generate_applicants(500, seed=seed + 1))


def test_serving_data_has_not_drifted(applicants, seed):
    # every feature column at once; p-values are Holm-corrected for the 10 columns
    assert_no_drift(applicants, serving_sample(3_000, seed=seed), columns=FEATURE_COLUMNS)


@pytest.fixture
def serving_log(tmp_path, seed):
    """The serving log as a Parquet dataset, one file a day, as the serving job writes it."""
    pytest.importorskip("polars")  # Parquet paths are read by polars: mlops-testkit[polars]
    folder = tmp_path / "serving_log"
    folder.mkdir()
    for day in range(3):
        log = serving_sample(1_000, seed=seed + day)
        log.to_parquet(folder / f"day-{day}.parquet", index=False)
    return folder


def test_serving_log_has_not_drifted(applicants, serving_log):
    # the log stays where it lives: polars scans the files, only counts come back
    assert_no_drift(applicants, str(serving_log), columns=FEATURE_COLUMNS)


def test_split_does_not_leak(split):
    train, test = split
    assert_no_leakage(train, test, on=["applicant_id"])
    assert_no_leakage(train.drop(columns="applicant_id"), test.drop(columns="applicant_id"))


@pytest.mark.mlscore("data-7")  # ML Test Score: all input feature code is tested
@settings(max_examples=50, deadline=None)
@given(raw=frames(RawApplicants, size=(1, 40)))
def test_feature_code_keeps_its_contract_for_any_valid_input(raw):
    assert_schema(raw_features(raw), FEATURES)
