"""Two leak rules of :mod:`mlops_testkit.data.target_leakage` beyond a feature's score.

A copy of the label (:func:`label_copy_evidence`)
    A value derived from the outcome (a field logged after it, a noisy copy of the label)
    carries no information about the other features once the label is known: it is
    independent of them given the label. An honest strong feature (a bureau score) is
    computed from, or shares causes with, the applicant's other attributes, so it keeps
    sharing information with them within each class. For each strong feature (skill at
    least :data:`STRONG_SKILL`, ROC AUC 0.75) the other features predict it, out of fold,
    with a ridge regression on an additive basis of them (each numeric view's rank and
    :data:`BINS` quantile bins, each category's :data:`TOP_CATEGORIES` most frequent
    values); the dependence is the rank correlation of the feature with that prediction:

    * ``with others``: over all rows, ``z_m = atanh(rho_m) * sqrt(n - 3)``;
    * ``given label``: within each class, the classes' Fisher z pooled,
      ``z_w = sum((n_c - 3) * atanh(rho_c)) / sqrt(sum(n_c - 3))``.

    The feature is a suspected copy of the label when ``z_m >= 4`` (the other features do
    predict it: through the label, for a copy) and ``z_w < min(3, z_m / 2)``: what is left
    once the label is known is neither significant at three standard errors nor half the
    dependence seen overall. For a true copy ``z_w`` is a standard normal, so it is flagged
    with probability at least ``Phi(2) = 0.977`` at the floor ``z_m = 4`` and
    ``Phi(3) = 0.9987`` once ``z_m >= 6``. An honest feature is flagged only when its
    within-class dependence on the others is not significant; the rule cannot tell a
    copy from an honest feature that shares nothing with the others, which is why it
    needs ``z_m >= 4``. Classification targets only.

Recorded after the label (:func:`timing_evidence`)
    ``available_at={"feature": "its timestamp column"}`` with ``label_time=`` (a column of
    timestamps or one datetime): a value recorded after the label time is a leak whatever
    its score (a point-in-time join that took a later value); a value without a timestamp
    cannot be shown to precede the label and fails too.

Imports only the standard library at the top.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._checks import label
from mlops_testkit.data.target_leakage_scores import FOLDS, codes_of, numeric_views
from mlops_testkit.extras import require

WHERE = "target_leakage_report"
STRONG_SKILL = 0.5  # 2 * (AUC - 0.5): ROC AUC 0.75
MIN_MARGINAL_Z = 4.0
MAX_GIVEN_Z = 3.0
BINS = 8
TOP_CATEGORIES = 10
RIDGE = 5.0  # pseudo-rows per basis column: a bin of a few rows learns little
MIN_CLASS_ROWS = 30


def _block(series: Any, column: Any) -> Any:
    """The additive basis of one feature: per numeric view its rank scaled to [0, 1], its
    quantile bin (one-hot) and a missing flag; per category column its most frequent
    values (one-hot, missing a value of its own)."""
    import numpy as np

    n = len(series)
    views = numeric_views(series)
    parts = []
    if views is None:
        codes = codes_of(series, column)
        top = np.argsort(-np.bincount(codes), kind="stable")[:TOP_CATEGORIES]
        parts.append((codes[:, None] == top[None, :]).astype(float))
    else:
        for _, x in views:
            ok = ~np.isnan(x)
            u = np.zeros(n)
            if ok.any():
                top = np.nanmax(x)
                u[ok] = x[ok] / top if top > 0 else 0.0
                edges = np.unique(np.quantile(u[ok], np.linspace(0, 1, BINS + 1)[1:-1]))
                bins = np.searchsorted(edges, u, side="right")
                onehot = np.zeros((n, len(edges) + 1))
                onehot[np.flatnonzero(ok), bins[ok]] = 1.0
                parts.append(onehot)
            parts.append(np.column_stack([u, (~ok).astype(float)]))
    return np.column_stack(parts) if parts else np.zeros((n, 0))


def _rank_corr(a: Any, b: Any) -> float:
    """Spearman's rank correlation (average ranks for ties); 0 when either is constant."""
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = math.sqrt(float(ra @ ra) * float(rb @ rb))
    return float(ra @ rb) / den if den > 0 else 0.0


def _dependence(X: Any, f: Any, rows: Any, seed: int) -> tuple[float, int] | None:
    """How well the other features (``X``) predict ``f`` on ``rows``: the rank correlation
    of ``f`` with its out-of-fold ridge prediction, and the rows used (None: too few rows
    or ``f`` constant there)."""
    import numpy as np

    if len(rows) < MIN_CLASS_ROWS or np.ptp(f[rows]) == 0 or X.shape[1] == 0:
        return None
    from scipy.stats import rankdata

    target = rankdata(f[rows]) / len(rows)
    fold = np.random.default_rng(seed).permutation(len(rows)) % FOLDS
    pred = np.empty(len(rows))
    eye = RIDGE * np.eye(X.shape[1])
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        A = X[rows[train]]
        mu = A.mean(axis=0)
        A = A - mu
        t = target[train]
        beta = np.linalg.solve(A.T @ A + eye, A.T @ (t - t.mean()))
        pred[test] = (X[rows[test]] - mu) @ beta + t.mean()
    return _rank_corr(target, pred), len(rows)


def _z(rho: float, n: int) -> float:
    return math.atanh(max(min(rho, 0.999999), -0.999999)) * math.sqrt(max(n - 3, 1))


def label_copy_evidence(
    frame: Any,
    columns: Sequence[Any],
    candidates: Mapping[int, Any],
    y: Any,
    seed: int,
) -> dict[int, dict[str, Any]]:
    """For each candidate (its position in ``columns`` -> its values: the ranks of its
    numeric view, or its out-of-fold class-1 probability), its dependence on the other
    ``columns`` overall and given the label ``y`` (class codes), and whether that marks
    a copy of the label."""
    import numpy as np

    out: dict[int, dict[str, Any]] = {}
    if not candidates:
        return out
    blocks = [_block(frame.iloc[:, frame.columns.get_loc(col)], col) for col in columns]
    classes = np.unique(y)
    for n_col, (pos, values) in enumerate(candidates.items()):
        others = [b for j, b in enumerate(blocks) if j != pos]
        evidence: dict[str, Any] = {"with others": math.nan, "given label": math.nan}
        out[pos] = evidence
        if not others:
            evidence["note"] = "no other feature to compare with"
            continue
        X = np.column_stack(others)
        f = np.asarray(values, dtype=float)
        finite = np.isfinite(f)
        marginal = _dependence(X, f, np.flatnonzero(finite), seed + n_col)
        within = [
            _dependence(X, f, np.flatnonzero(finite & (y == c)), seed + n_col + 1 + i)
            for i, c in enumerate(classes)
        ]
        within = [w for w in within if w is not None]
        if marginal is None or not within:
            evidence["note"] = "too few rows with a value in each class"
            continue
        rho_m, n_m = marginal
        weights = np.array([n - 3 for _, n in within], dtype=float)
        zs = np.array([math.atanh(max(min(r, 0.999999), -0.999999)) for r, _ in within])
        pooled = float((weights * zs).sum() / weights.sum())
        z_w = float((weights * zs).sum() / math.sqrt(weights.sum()))
        z_m = _z(rho_m, n_m)
        evidence.update(
            {
                "with others": rho_m,
                "given label": math.tanh(pooled),
                "z_m": z_m,
                "z_w": z_w,
                "copy": z_m >= MIN_MARGINAL_Z and z_w < min(MAX_GIVEN_Z, z_m / 2),
            }
        )
    return out


# --- timing: recorded after the label --------------------------------------------------------


def _is_datetime(series: Any) -> bool:
    api = require("pandas", WHERE).api.types
    return bool(api.is_datetime64_any_dtype(series.dtype))


def timing_columns(
    df: Any, available_at: Any, label_time: Any
) -> tuple[dict[Any, Any], Any] | None:
    """Check ``available_at`` and ``label_time``: the mapping feature -> timestamp column,
    and the label time (a column name or one ``pandas.Timestamp``); None when neither
    is given."""
    pd = require("pandas", WHERE)
    if available_at is None and label_time is None:
        return None
    if available_at is None:
        raise MltkUsageError(
            f"{WHERE}: label_time= needs available_at= (a mapping feature -> the column of "
            "timestamps at which each value was recorded)"
        )
    if label_time is None:
        raise MltkUsageError(
            f"{WHERE}: available_at= needs label_time= (the column of label timestamps, or "
            "one datetime, after which a feature value is a leak)"
        )
    if not isinstance(available_at, Mapping) or not available_at:
        raise MltkUsageError(
            f"{WHERE}: available_at must be a non-empty mapping feature -> column of "
            f"timestamps, got {available_at!r}"
        )
    for feature, ts in available_at.items():
        for what, col in (("feature", feature), ("timestamp column", ts)):
            if not isinstance(col, str | int) or isinstance(col, bool) or col not in df.columns:
                raise MltkUsageError(
                    f"{WHERE}: available_at[{feature!r}] = {ts!r}: {what} {col!r} is not a "
                    "column of df"
                )
        if not _is_datetime(df[ts]):
            raise MltkUsageError(
                f"{WHERE}: available_at[{feature!r}]: column {ts!r} holds {df[ts].dtype}, not "
                f"datetimes; convert it with pd.to_datetime(df[{ts!r}])"
            )
    if isinstance(label_time, str):
        if label_time not in df.columns:
            raise MltkUsageError(
                f"{WHERE}: label_time {label_time!r} is not a column of df; pass the column "
                "of label timestamps or one datetime"
            )
        if not _is_datetime(df[label_time]):
            raise MltkUsageError(
                f"{WHERE}: label_time column {label_time!r} holds {df[label_time].dtype}, "
                f"not datetimes; convert it with pd.to_datetime(df[{label_time!r}])"
            )
        if df[label_time].isna().all():
            raise MltkUsageError(
                f"{WHERE}: label_time column {label_time!r} has no timestamp (all missing): "
                "nothing to compare the feature times with"
            )
        return dict(available_at), label_time
    datetime_like = (_dt.datetime, _dt.date, pd.Timestamp)
    numpy_time = type(label_time).__name__ == "datetime64"
    if not isinstance(label_time, datetime_like) and not numpy_time:
        raise MltkUsageError(
            f"{WHERE}: label_time must be a column name or a datetime, got {label_time!r}"
        )
    stamp = pd.Timestamp(label_time)
    if pd.isna(stamp):
        raise MltkUsageError(f"{WHERE}: label_time is NaT: no time to compare with")
    return dict(available_at), stamp


def timing_evidence(df: Any, available_at: Mapping[Any, Any], label_time: Any) -> dict:
    """Per feature of ``available_at``: values compared, values recorded after the label
    time, values without a timestamp, and the latest lead over the label."""
    pd = require("pandas", WHERE)
    label_is_column = not isinstance(label_time, pd.Timestamp)
    when = df[label_time] if label_is_column else label_time
    known = df[label_time].notna() if label_is_column else pd.Series(True, index=df.index)
    out = {}
    for feature, ts in available_at.items():
        stamps = df[ts]
        present = df[feature].notna() & known
        try:
            after = present & stamps.notna() & (stamps > when)
        except TypeError as exc:  # tz-aware against naive
            where = f"column {label_time!r}" if label_is_column else f"{label_time}"
            raise MltkUsageError(
                f"{WHERE}: available_at[{feature!r}] column {ts!r} and label_time {where} "
                f"cannot be compared ({exc}); give both a time zone or neither"
            ) from None
        untimed = present & stamps.isna()
        lead = None
        if after.any():
            gaps = stamps[after] - (when[after] if label_is_column else when)
            lead = gaps.max()
        out[label(feature)] = {
            "compared": int(present.sum()),
            "after label": int(after.sum()),
            "untimed": int(untimed.sum()),
            "lead": lead,
        }
    return out
