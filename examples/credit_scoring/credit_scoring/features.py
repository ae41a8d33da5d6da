"""Feature code: raw applicant columns -> a standardised float32 matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credit_scoring.data import HOME_OWNERSHIP, REGIONS

NUMERIC = ("age", "employment_years", "credit_history_months", "late_payments")
FEATURE_NAMES = (
    *NUMERIC,
    "log_income",
    "debt_to_income",
    "loan_to_income",
    *(f"region_{r}" for r in REGIONS),
    *(f"home_{h}" for h in HOME_OWNERSHIP),
)


def raw_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Derive the model's features from raw columns (before scaling)."""
    income = frame["income"].clip(lower=1.0)
    out = pd.DataFrame({name: frame[name].astype(float) for name in NUMERIC})
    out["log_income"] = np.log(income)
    out["debt_to_income"] = frame["debt"] / income
    out["loan_to_income"] = frame["loan_amount"] / income
    for region in REGIONS:
        out[f"region_{region}"] = (frame["region"] == region).astype(float)
    for home in HOME_OWNERSHIP:
        out[f"home_{home}"] = (frame["home_ownership"] == home).astype(float)
    return out[list(FEATURE_NAMES)]


@dataclass
class Scaler:
    """Standardise features with the mean and spread of the training data."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> Scaler:
        values = raw_features(frame).to_numpy(dtype=np.float64)
        scale = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        values = raw_features(frame).to_numpy(dtype=np.float64)
        return ((values - self.mean) / self.scale).astype(np.float32)
