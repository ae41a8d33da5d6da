"""A realistic synthetic generator of loan applicants and whether they defaulted.

The default probability follows a logistic model of debt-to-income, late payments,
credit history, age, employment and region, so a model has real signal to learn, and
the noise keeps it from being trivially separable.

``sex`` is a sensitive attribute: kept for fairness audits, never a model input (see
``SENSITIVE``), and unrelated to default. It is drawn from its own random stream, so the
other columns are the same for a seed as they were before it was added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("north", "south", "east", "west")
HOME_OWNERSHIP = ("rent", "own", "mortgage")
SEXES = ("female", "male")
SENSITIVE = ("sex",)  # audited for fairness, never sent to the model
COLUMNS = (
    "applicant_id",
    "age",
    "income",
    "employment_years",
    "debt",
    "credit_history_months",
    "late_payments",
    "loan_amount",
    "region",
    "home_ownership",
    "sex",
    "defaulted",
)


def generate_applicants(n: int, seed: int = 0) -> pd.DataFrame:
    """Generate ``n`` applicants, reproducibly from ``seed``."""
    if n <= 0:
        raise ValueError(f"n must be a positive number of applicants, got {n}")
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, size=n)
    region = rng.choice(REGIONS, size=n, p=[0.3, 0.25, 0.25, 0.2])
    region_income = {"north": 1.1, "south": 0.9, "east": 1.0, "west": 1.05}
    income = (
        rng.lognormal(mean=10.6, sigma=0.45, size=n)
        * np.vectorize(region_income.get)(region)
        * np.clip(0.6 + (age - 18) / 60, 0.6, 1.4)
    ).round(0)
    employment_years = np.minimum(rng.gamma(2.0, 3.0, size=n), age - 16).round(1)
    debt = (income * rng.beta(2.0, 5.0, size=n) * 1.2).round(0)
    credit_history_months = np.minimum(rng.gamma(3.0, 30.0, size=n), (age - 18) * 12).astype(int)
    late_payments = rng.poisson(0.6 + 2.0 * (debt / income), size=n)
    loan_amount = (income * rng.uniform(0.1, 0.8, size=n)).round(-2)
    home = rng.choice(HOME_OWNERSHIP, size=n, p=[0.4, 0.25, 0.35])

    logit = (
        -2.6
        + 3.2 * (debt / income)
        + 0.45 * late_payments
        + 1.1 * (loan_amount / income)
        - 0.004 * credit_history_months
        - 0.015 * (age - 40)
        - 0.05 * employment_years
        + 0.25 * (home == "rent")
        + 0.15 * (region == "south")
    )
    defaulted = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    sex = np.random.default_rng((seed, 1)).choice(SEXES, size=n)  # a stream of its own
    return pd.DataFrame(
        {
            "applicant_id": np.arange(n) + 100_000 * (seed % 1000),
            "age": age,
            "income": income,
            "employment_years": employment_years,
            "debt": debt,
            "credit_history_months": credit_history_months,
            "late_payments": late_payments,
            "loan_amount": loan_amount,
            "region": pd.Categorical(region, categories=REGIONS),
            "home_ownership": pd.Categorical(home, categories=HOME_OWNERSHIP),
            "sex": pd.Categorical(sex, categories=SEXES),
            "defaulted": defaulted,
        },
        columns=list(COLUMNS),
    )


def serving_sample(n: int, seed: int = 1) -> pd.DataFrame:
    """Applicants arriving in production: the same population, freshly drawn, without
    the label (it is only known months later)."""
    return generate_applicants(n, seed=seed + 10_000).drop(columns=["defaulted"])


def train_test_split(
    frame: pd.DataFrame, test_share: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows at random into train and test frames (no row in both)."""
    if not 0.0 < test_share < 1.0:
        raise ValueError(f"test_share must be between 0 and 1, got {test_share}")
    order = np.random.default_rng(seed).permutation(len(frame))
    cut = round(len(frame) * (1.0 - test_share))
    train = frame.iloc[order[:cut]].reset_index(drop=True)
    test = frame.iloc[order[cut:]].reset_index(drop=True)
    return train, test
