"""The two feature pipelines, and the applicant records around the model.

Training computes features in batch (:meth:`credit_scoring.features.Scaler.transform`
over a frame). Serving computes them one request at a time, from the JSON a client
sends, in plain Python: a second implementation of the same features, which is exactly
where training/serving skew creeps in. ``tests/test_features.py`` checks that both give
the same values for the same applicants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.data import HOME_OWNERSHIP, REGIONS
from credit_scoring.features import FEATURE_NAMES, NUMERIC, Scaler
from credit_scoring.serving import serving_rows

KEY = "applicant_id"


def training_features(frame: pd.DataFrame, scaler: Scaler) -> pd.DataFrame:
    """The training pipeline's features of ``frame``, keyed by applicant."""
    out = pd.DataFrame(scaler.transform(frame), columns=list(FEATURE_NAMES))
    out.insert(0, KEY, frame[KEY].to_numpy())
    return out


def serve_one(request: Mapping[str, Any], scaler: Scaler) -> list[float]:
    """The serving pipeline: one applicant's JSON request -> its scaled features."""
    income = max(float(request["income"]), 1.0)
    raw = [float(request[name]) for name in NUMERIC]
    raw += [
        math.log(income),
        float(request["debt"]) / income,
        float(request["loan_amount"]) / income,
    ]
    raw += [1.0 if request["region"] == r else 0.0 for r in REGIONS]
    raw += [1.0 if request["home_ownership"] == h else 0.0 for h in HOME_OWNERSHIP]
    return [(v - m) / s for v, m, s in zip(raw, scaler.mean, scaler.scale, strict=True)]


def serving_features(frame: pd.DataFrame, scaler: Scaler) -> pd.DataFrame:
    """Run every applicant of ``frame`` through :func:`serve_one`, as requests arrive."""
    requests = serving_rows(frame).to_dict(orient="records")
    values = np.array([serve_one(r, scaler) for r in requests], dtype=np.float32)
    out = pd.DataFrame(values, columns=list(FEATURE_NAMES))
    out.insert(0, KEY, [r[KEY] for r in requests])
    return out


def contact_records(frame: pd.DataFrame) -> pd.DataFrame:
    """The CRM record of each applicant: how to reach them. Never a feature."""
    ids = frame[KEY].to_numpy()
    return pd.DataFrame(
        {
            KEY: ids,
            "email": [f"applicant{i}@example.com" for i in ids],
            "phone": [f"+44 20 7946 {i % 10_000:04d}" for i in ids],
        }
    )
