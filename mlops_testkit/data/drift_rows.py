"""The verdict on one column of a drift test: its row (:class:`DriftRow`), built from
the two sides' values or engine summaries by :func:`_numeric_row`, :func:`_binned_row`
and :func:`_categorical_row`, and the rules that make a column not applicable (too few
values, an identifier). :mod:`mlops_testkit.data.drift` corrects and judges the rows."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.data.backends import (
    NumericSide,
    TooMany,
)
from mlops_testkit.data.drift_stats import (
    AUTO_EFFECT_SIZE_FROM,
    CATEGORICAL_ONLY,
    DEFAULT_THRESHOLDS,
    METHODS,
    MIN_EXPECTED,
    MISSING,
    NUMERIC_ONLY,
    _chi2,
    _js,
    _js_numeric,
    _ks_and_wasserstein,
    _missing_test,
    _psi,
    _psi_numeric,
)
from mlops_testkit.reporting.results import (
    display,
)

MIN_VALUES = 5  # fewer values on a side and a column's drift is not judged
IDENTIFIER_SHARE = 0.95  # a categorical column this unique in the reference is an identifier


@dataclass
class DriftRow:
    """The verdict on one column."""

    column: str
    kind: str  # numeric | categorical
    method: str  # the method that decided: ks, chi2, psi, wasserstein, jensenshannon
    statistic: float
    p_value: float
    p_adjusted: float = math.nan
    threshold: float | None = None  # effect-size threshold, None for tests
    drifted: bool = False
    n_reference: int = 0
    n_current: int = 0
    missing_reference: float = 0.0
    missing_current: float = 0.0
    note: str = ""
    applicable: bool = True  # False: too few values, or an identifier: nothing judged
    bound: float = 0.0  # the statistic is within this of its exact value (engine sketches)

    @property
    def verdict(self) -> str:
        if not self.applicable:
            return "N/A"
        return "DRIFT" if self.drifted else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


COUNTERPART = {
    "numeric": {"chi2": "ks"},
    "categorical": {"ks": "chi2", "wasserstein": "jensenshannon"},
}


def _method_for(method: str | Mapping[str, str], column: str, kind: str) -> str:
    chosen = method.get(column, "auto") if isinstance(method, Mapping) else method
    if chosen not in METHODS:
        raise MltkUsageError(
            f"drift_report: unknown method {chosen!r} for column {column!r}; expected one of "
            f"{', '.join(METHODS)}"
        )
    if isinstance(method, str):
        return COUNTERPART[kind].get(chosen, chosen)
    return chosen


def _threshold_for(thresholds: Mapping[str, float] | None, column: str, method: str) -> float:
    given = thresholds or {}
    value = given.get(column, given.get(method, DEFAULT_THRESHOLDS.get(method)))
    if not isinstance(value, int | float) or isinstance(value, bool) or not value >= 0:
        raise MltkUsageError(
            f"drift_report: threshold for {column!r} ({method}) must be a number >= 0, "
            f"got {value!r}"
        )
    return float(value)


def _numeric_row(
    column: str,
    ref_side: NumericSide,
    cur_side: NumericSide,
    grid: Any,
    method: str,
    thresholds: Any,
) -> DriftRow:
    import numpy as np

    n_ref, n_cur = ref_side.n, cur_side.n
    miss_ref, miss_cur = ref_side.missing, cur_side.missing
    valid_ref, valid_cur = n_ref - miss_ref, n_cur - miss_cur
    row = DriftRow(
        column,
        "numeric",
        method,
        math.nan,
        math.nan,
        n_reference=n_ref,
        n_current=n_cur,
        missing_reference=miss_ref / n_ref,
        missing_current=miss_cur / n_cur,
    )
    if valid_ref == 0:
        raise MltkUsageError(
            f"drift_report: column {display(column)!r} has no value in reference (all {n_ref} "
            f"missing{'' if ref_side.all_missing() else ' or infinite'}); leave it out with "
            "columns=, or fix the reference sample"
        )
    if method == "auto":
        method = "wasserstein" if min(valid_ref, valid_cur) >= AUTO_EFFECT_SIZE_FROM else "ks"
    row.method = method
    if method in CATEGORICAL_ONLY:
        raise MltkUsageError(
            f"drift_report: method {method!r} does not apply to numeric column {column!r}; "
            "use ks, wasserstein, psi or jensenshannon (or categorical=[...] to treat it as "
            "categories)"
        )
    if _too_few(row, valid_ref, valid_cur):
        return row
    if valid_cur == 0:
        row.statistic, row.p_value, row.drifted = math.inf, 0.0, True
        row.note = "all missing in current"
        row.threshold = _effect_threshold(thresholds, column, method)
        return row
    if grid is not None:  # histograms in a shared grid, counted by an engine
        return _binned_row(row, ref_side, cur_side, grid, method, thresholds)
    ref, cur = ref_side.values, cur_side.values
    d, p_ks, wasserstein = _ks_and_wasserstein(ref, cur)
    p = p_ks
    if miss_ref or miss_cur:
        p = min(1.0, 2 * min(p_ks, _missing_test(miss_ref, n_ref, miss_cur, n_cur)))
    row.p_value = p
    if method == "ks":
        row.statistic = d
    elif method == "wasserstein":
        scale = float(np.std(ref))
        row.statistic = (
            wasserstein / scale if scale > 0 else (0.0 if wasserstein == 0 else math.inf)
        )
    elif method == "psi":
        row.statistic = _psi_numeric(ref, cur)
    else:  # jensenshannon over the PSI bins
        row.statistic = _js_numeric(ref, cur)
    row.threshold = _effect_threshold(thresholds, column, method)
    return row


def _binned_row(
    row: DriftRow, ref: NumericSide, cur: NumericSide, grid: Any, method: str, thresholds: Any
) -> DriftRow:
    """The numeric row from exact histograms in a shared grid (see data/sketch.py)."""
    from scipy import special

    from mlops_testkit.data.sketch import decile_counts, ks_wasserstein

    n, m = ref.valid, cur.valid
    d, wasserstein, d_bound, w_bound = ks_wasserstein(grid, ref.binned, cur.binned)
    root = math.sqrt(n * m / (n + m))
    p = float(special.kolmogorov((root + 0.12 + 0.11 / root) * d))
    if ref.missing or cur.missing:
        p = min(1.0, 2 * min(p, _missing_test(ref.missing, ref.n, cur.missing, cur.n)))
    row.p_value = min(max(p, 0.0), 1.0)
    if method == "ks":
        row.statistic, row.bound = d, d_bound
    elif method == "wasserstein":
        scale = ref.binned.std
        if scale > 0:
            row.statistic, row.bound = wasserstein / scale, w_bound / scale
        else:
            row.statistic = 0.0 if wasserstein == 0 and w_bound == 0 else math.inf
    else:
        p_bins, q_bins = decile_counts(grid, ref.binned, cur.binned)
        if method == "psi":
            row.statistic = _psi(p_bins / p_bins.sum(), q_bins / q_bins.sum())
        else:
            row.statistic = _js(p_bins, q_bins)
    row.threshold = _effect_threshold(thresholds, row.column, method)
    return row


def _has_rare(p: Any, q: Any) -> bool:
    import numpy as np

    obs = np.vstack([p, q])
    total = obs.sum()
    expected = obs.sum(axis=1, keepdims=True) * obs.sum(axis=0, keepdims=True) / total
    return bool((expected.min(axis=0) < MIN_EXPECTED).any())


def _unseen_p(unseen: int, n: int, missing_mass: float, n_ref: int) -> float:
    """P(at least ``unseen`` of ``n`` current values are new | the reference's
    Good-Turing missing mass), an exact binomial tail."""
    from scipy import stats

    rate = min(1.0, max(missing_mass, 1.0 / (n_ref + 1)))
    if unseen == 0:
        return 1.0
    return float(stats.binom.sf(unseen - 1, n, rate))


def _effect_threshold(thresholds: Any, column: str, method: str) -> float | None:
    if method in ("ks", "chi2"):
        return None
    return _threshold_for(thresholds, column, method)


def _categorical_row(
    column: str, ref_c: Any, cur_c: Any, n_ref: int, n_cur: int, method: str, thresholds: Any
) -> DriftRow:
    import numpy as np

    if isinstance(ref_c, TooMany) or isinstance(cur_c, TooMany):
        return _too_many_row(column, ref_c, cur_c, n_ref, n_cur, method)
    row = DriftRow(
        column,
        "categorical",
        method,
        math.nan,
        math.nan,
        n_reference=n_ref,
        n_current=n_cur,
        missing_reference=ref_c.get(MISSING, 0) / n_ref,
        missing_current=cur_c.get(MISSING, 0) / n_cur,
    )
    if set(ref_c) == {MISSING}:
        raise MltkUsageError(
            f"drift_report: column {column!r} has no value in reference (all {n_ref} missing); "
            "leave it out with columns=, or fix the reference sample"
        )
    valid_ref = n_ref - ref_c.get(MISSING, 0)
    valid_cur = n_cur - cur_c.get(MISSING, 0)
    if method == "auto":
        method = "jensenshannon" if min(valid_ref, valid_cur) >= AUTO_EFFECT_SIZE_FROM else "chi2"
    if method in NUMERIC_ONLY:
        raise MltkUsageError(
            f"drift_report: method {method!r} does not apply to categorical column "
            f"{column!r}; use chi2, psi or jensenshannon"
        )
    row.method = method
    if _too_few(row, valid_ref, valid_cur):
        return row
    distinct = len(ref_c) - (MISSING in ref_c)
    if valid_ref >= MIN_VALUES and distinct >= IDENTIFIER_SHARE * valid_ref:
        row.applicable = False
        row.note = (
            f"looks like an identifier ({distinct} distinct of {valid_ref} values): drift is "
            "not applicable; leave it out with columns="
        )
        return row
    keys = list(dict.fromkeys([*map(str, ref_c), *map(str, cur_c)]))
    ref_by = {str(k): v for k, v in ref_c.items()}
    cur_by = {str(k): v for k, v in cur_c.items()}
    p = np.array([ref_by.get(k, 0) for k in keys], dtype=float)
    q = np.array([cur_by.get(k, 0) for k in keys], dtype=float)
    chi2, row.p_value = _chi2(p, q)
    unseen = [k for k in keys if k not in ref_by]
    if _has_rare(p, q):
        # Rare categories are pooled for chi-square; judge the unseen share too, against
        # the Good-Turing estimate of how much of a new sample the reference never saw.
        unseen_count = int(sum(cur_by.get(k, 0) for k in unseen if k != MISSING))
        singletons = sum(1 for k, v in ref_by.items() if v == 1 and k != MISSING)
        p_unseen = _unseen_p(unseen_count, valid_cur, singletons / valid_ref, valid_ref)
        row.p_value = min(1.0, 2 * min(row.p_value, p_unseen))
        if unseen_count:
            row.note = f"{unseen_count / valid_cur:.0%} of current values unseen in reference"
    if unseen and not row.note:
        row.note = f"unseen: {', '.join(unseen[:3])}" + (" ..." if len(unseen) > 3 else "")
    if method == "chi2":
        row.statistic = chi2
    elif method == "psi":
        row.statistic = _psi(p / p.sum(), q / q.sum())
    else:
        row.statistic = _js(p, q)
    row.threshold = _effect_threshold(thresholds, column, method)
    return row


def _too_many_row(
    column: str, ref_c: Any, cur_c: Any, n_ref: int, n_cur: int, method: str
) -> DriftRow:
    """More categories than an engine sends back: an identifier, or too many to compare."""
    row = DriftRow(column, "categorical", method, math.nan, math.nan, applicable=False)
    row.n_reference, row.n_current = n_ref, n_cur
    side, n = (ref_c, n_ref) if isinstance(ref_c, TooMany) else (cur_c, n_cur)
    what = (
        "looks like an identifier"
        if side is ref_c and side.distinct >= IDENTIFIER_SHARE * n
        else "has too many categories to compare"
    )
    row.note = (
        f"{what} ({side.distinct} distinct of {n} values): drift is not applicable; leave it "
        "out with columns="
    )
    return row


def _too_few(row: DriftRow, valid_ref: int, valid_cur: int) -> bool:
    """Mark a row not applicable when a side has too few values to judge drift."""
    all_missing_now = valid_cur == 0 and min(valid_ref, row.n_current) >= MIN_VALUES
    if min(valid_ref, valid_cur) >= MIN_VALUES or all_missing_now:
        return False
    row.applicable = False
    row.note = (
        f"too few values to judge ({valid_ref} in reference, {valid_cur} in current; "
        f"at least {MIN_VALUES} each)"
    )
    return True
