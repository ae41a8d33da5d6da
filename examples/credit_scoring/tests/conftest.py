"""Fixtures of the example project. ``seed`` comes from mlops-testkit: the same
``--mltk-seed`` replays the same data."""

from __future__ import annotations

import pytest

from credit_scoring.data import generate_applicants, train_test_split


@pytest.fixture
def applicants(seed):
    """4,000 synthetic applicants, drawn from the run's seed."""
    return generate_applicants(4_000, seed=seed)


@pytest.fixture
def split(applicants, seed):
    """A random 80/20 train/test split of ``applicants``."""
    return train_test_split(applicants, test_share=0.2, seed=seed)
