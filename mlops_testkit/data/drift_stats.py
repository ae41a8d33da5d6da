"""The statistics of drift on plain numpy arrays and counts: KS, Wasserstein, PSI,
Jensen-Shannon, chi-square, and corrections for testing many columns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mlops_testkit import MltkUsageError

METHODS = ("auto", "ks", "chi2", "psi", "wasserstein", "jensenshannon")
CORRECTIONS = ("holm", "bh", "bonferroni", "none")
DEFAULT_THRESHOLDS = {"wasserstein": 0.1, "psi": 0.1, "jensenshannon": 0.1, "missing": 0.1}
AUTO_EFFECT_SIZE_FROM = 10_000
EXACT_P_UP_TO = 1_000  # exact KS p-values up to this many values per side
GRID_POINTS = 8192
PSI_BINS = 10
MIN_EXPECTED = 5.0
MISSING = "(missing)"
NUMERIC_ONLY = ("ks", "wasserstein")
CATEGORICAL_ONLY = ("chi2",)


def _grid(values: Any) -> Any:
    import numpy as np

    if len(values) <= GRID_POINTS:
        return values
    idx = np.linspace(0, len(values) - 1, GRID_POINTS).round().astype(np.int64)
    return values[idx]


def _ks_and_wasserstein(ref: Any, cur: Any) -> tuple[float, float, float]:
    """KS statistic, its p-value, and the Wasserstein distance of two sorted samples.

    Both statistics come from the two empirical CDFs evaluated on the merged sample
    points: exact while each sample has at most GRID_POINTS values, else on a grid of
    GRID_POINTS quantiles per sample (KS error <= 2 / GRID_POINTS).
    """
    import numpy as np
    from scipy import special, stats

    n, m = len(ref), len(cur)
    if n <= GRID_POINTS and m <= GRID_POINTS:
        # a stable argsort merges the two sorted runs in linear time; the CDFs are
        # running counts, read at the last of each run of tied values
        merged = np.concatenate([ref, cur])
        order = np.argsort(merged, kind="stable")
        points = merged[order]
        from_ref = order < n
        last = np.append(points[1:] != points[:-1], True)
        f_ref = np.cumsum(from_ref)[last] / n
        f_cur = np.cumsum(~from_ref)[last] / m
        points = points[last]
    else:
        points = np.sort(np.concatenate([_grid(ref), _grid(cur)]), kind="stable")
        f_ref = np.searchsorted(ref, points, side="right") / n
        f_cur = np.searchsorted(cur, points, side="right") / m
    gap = np.abs(f_ref - f_cur)
    d = float(gap.max())
    wasserstein = float(np.sum(gap[:-1] * np.diff(points)))
    if n <= EXACT_P_UP_TO and m <= EXACT_P_UP_TO:
        p = float(stats.ks_2samp(ref, cur, method="exact").pvalue)
    else:  # Kolmogorov's limit with Stephens' small-sample correction
        root = math.sqrt(n * m / (n + m))
        p = float(special.kolmogorov((root + 0.12 + 0.11 / root) * d))
    return d, min(max(p, 0.0), 1.0), wasserstein


def _reference_bins(ref: Any, cur: Any) -> tuple[Any, Any]:
    """Counts of both samples in PSI_BINS quantile bins of the reference."""
    import numpy as np

    edges = np.unique(np.quantile(ref, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    q = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    return p, q


def _psi_numeric(ref: Any, cur: Any) -> float:
    p, q = _reference_bins(ref, cur)
    return _psi(p / len(ref), q / len(cur))


def _psi(p: Any, q: Any) -> float:
    import numpy as np

    eps = 1e-4
    p, q = np.clip(p, eps, None), np.clip(q, eps, None)
    return float(np.sum((q - p) * np.log(q / p)))


def _missing_test(miss_ref: int, n_ref: int, miss_cur: int, n_cur: int) -> float:
    """p-value of "the missing share is the same on both sides" (2x2 table)."""
    import numpy as np
    from scipy import stats

    obs = np.array([[miss_ref, n_ref - miss_ref], [miss_cur, n_cur - miss_cur]], dtype=float)
    if obs[:, 0].sum() == 0 or obs[:, 1].sum() == 0:
        return 1.0
    if _expected(obs).min() < MIN_EXPECTED:
        return float(stats.fisher_exact(obs.astype(int)).pvalue)
    return _pearson(obs)[1]


def _js_numeric(ref: Any, cur: Any) -> float:
    return _js(*_reference_bins(ref, cur))


def _js(p: Any, q: Any) -> float:
    from scipy.spatial import distance

    value = distance.jensenshannon(p, q, base=2)
    return 0.0 if not math.isfinite(value) else float(value)


def _expected(obs: Any) -> Any:
    return obs.sum(axis=1, keepdims=True) * obs.sum(axis=0, keepdims=True) / obs.sum()


def _chi2(ref_counts: Any, cur_counts: Any) -> tuple[float, float]:
    """Chi-square test of a 2 x K table; categories expected < 5 times are pooled."""
    import numpy as np

    obs = np.vstack([ref_counts, cur_counts]).astype(float)
    rare = _expected(obs).min(axis=0) < MIN_EXPECTED
    if rare.any():
        obs = np.hstack([obs[:, ~rare], obs[:, rare].sum(axis=1, keepdims=True)])
        if obs.shape[1] > 2 and _expected(obs)[:, -1].min() < MIN_EXPECTED:
            # the pooled bin is still rare: merge it into the smallest category
            smallest = int(np.argmin(obs[:, :-1].sum(axis=0)))
            obs[:, smallest] += obs[:, -1]
            obs = obs[:, :-1]
    if obs.shape[1] < 2:
        return 0.0, 1.0
    return _pearson(obs)


def _pearson(obs: Any) -> tuple[float, float]:
    """Pearson's chi-square statistic of a 2 x K table and its p-value."""
    from scipy import special

    expected = _expected(obs)
    statistic = float((((obs - expected) ** 2) / expected).sum())
    return statistic, float(special.chdtrc(obs.shape[1] - 1, statistic))


# --- corrections and verdicts ----------------------------------------------------------------


def adjust_p_values(p_values: Sequence[float], correction: str = "holm") -> list[float]:
    """Correct p-values for testing several columns at once.

    >>> [round(p, 3) for p in adjust_p_values([0.01, 0.04, 0.03], "holm")]
    [0.03, 0.06, 0.06]

    A NaN p-value is refused: it is no evidence either way, and reading it as 1 would
    drop it silently. (The kit's own checks, which report a test that could not be
    computed as such, pass ``nan_rejects_nothing=True``.)
    """
    return adjusted_p_values(p_values, correction, nan_rejects_nothing=False)


def adjusted_p_values(
    p_values: Sequence[float], correction: str = "holm", *, nan_rejects_nothing: bool = True
) -> list[float]:
    """:func:`adjust_p_values`, with a NaN p-value (a test that could not be computed,
    reported as such by the caller) counted as 1: it rejects nothing."""
    if correction not in CORRECTIONS:
        raise MltkUsageError(
            f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}"
        )
    try:
        p_values = [float(p) for p in p_values]
    except (TypeError, ValueError):
        raise MltkUsageError(
            f"adjust_p_values: p_values must be a sequence of numbers in [0, 1], got {p_values!r}"
        ) from None
    if not nan_rejects_nothing and any(p != p for p in p_values):
        raise MltkUsageError(
            f"adjust_p_values: a p-value is NaN (no evidence either way), got {p_values!r}; "
            "leave out the tests that could not be computed, or count them as failed"
        )
    if not all(0.0 <= p <= 1.0 or p != p for p in p_values):
        raise MltkUsageError(f"adjust_p_values: every p-value must be in [0, 1], got {p_values!r}")
    # a NaN p-value (a test that could not be computed) rejects nothing
    p_values = [1.0 if p != p else p for p in p_values]
    m = len(p_values)
    if correction == "none" or m == 0:
        return list(p_values)
    if correction == "bonferroni":
        return [min(1.0, p * m) for p in p_values]
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    if correction == "holm":
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p_values[i]))
            adjusted[i] = running
        return adjusted
    running = 1.0  # Benjamini-Hochberg step-up
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, p_values[i] * m / (rank + 1))
        adjusted[i] = min(1.0, running)
    return adjusted
