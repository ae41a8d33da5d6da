"""The data contracts: raw applicant records, and the model's features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from credit_scoring.data import HOME_OWNERSHIP, REGIONS, SEXES
from credit_scoring.features import FEATURE_NAMES


class RawApplicants(pa.DataFrameModel):
    """One row per loan application, as it arrives from the application system."""

    applicant_id: int = pa.Field(ge=0, unique=True)
    age: int = pa.Field(ge=18, le=100)
    income: float = pa.Field(ge=0)
    employment_years: float = pa.Field(ge=0, le=70)
    debt: float = pa.Field(ge=0)
    credit_history_months: int = pa.Field(ge=0)
    late_payments: int = pa.Field(ge=0, le=100)
    loan_amount: float = pa.Field(ge=0)
    region: pd.CategoricalDtype(categories=list(REGIONS)) = pa.Field(isin=list(REGIONS))
    home_ownership: pd.CategoricalDtype(categories=list(HOME_OWNERSHIP)) = pa.Field(
        isin=list(HOME_OWNERSHIP)
    )
    sex: pd.CategoricalDtype(categories=list(SEXES)) = pa.Field(isin=list(SEXES))
    defaulted: int = pa.Field(isin=[0, 1])

    class Config:
        strict = True
        ordered = True


def _finite(series: pd.Series) -> pd.Series:
    return pd.Series(np.isfinite(series.to_numpy(dtype=float)), index=series.index)


FEATURES = pa.DataFrameSchema(
    {
        name: pa.Column(
            float,
            [pa.Check(_finite, name="finite")]
            + ([pa.Check.isin([0.0, 1.0])] if name.startswith(("region_", "home_")) else [])
            + ([pa.Check.ge(0)] if name.endswith("_to_income") else []),
        )
        for name in FEATURE_NAMES
    },
    name="features",
    strict=True,
    ordered=True,
)
