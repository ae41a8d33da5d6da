"""Drift between a reference (training) sample and a current (serving) sample.

How a column is judged
    * Kind: columns of object, string, category or bool dtype are categorical, the rest
      numeric (datetimes as their timestamps); ``categorical=[...]`` names the
      categorical columns explicitly.
    * Tests: numeric columns get the two-sample Kolmogorov-Smirnov test, categorical ones
      the chi-square test on category counts (categories unseen in the reference are
      evidence of drift; categories expected fewer than 5 times are pooled so the
      chi-square approximation holds).
    * Many columns: p-values are corrected for testing them all at once: ``holm``
      (default, controls the family-wise error rate), ``bh`` (Benjamini-Hochberg,
      false discovery rate), ``bonferroni`` or ``none``. So a 200-column table does not
      cry wolf 10 times per run at alpha 0.05.
    * Effect sizes: ``wasserstein`` (normalised by the reference's standard deviation),
      ``psi`` (population stability index over 10 reference-quantile bins, or over
      categories) and ``jensenshannon`` (distance, base 2, in [0, 1]) judge how *much*
      a column moved against a threshold (default 0.1 for each; ``thresholds=`` takes
      a method or column name). With large samples a p-value flags differences nobody
      cares about; a threshold says what matters. An effect-size verdict is also gated
      by the column's corrected test: a column drifts only if its effect exceeds the
      threshold *and* the test rejects, so small samples cannot drift by noise alone.
    * ``method="auto"``: the test (KS / chi-square) while the smaller sample has fewer
      than ``AUTO_EFFECT_SIZE_FROM`` (10,000) non-missing values, above that the effect
      size (normalised Wasserstein / Jensen-Shannon).
    * A method given for the whole frame applies to the columns it fits and its
      counterpart to the others (ks <-> chi2, wasserstein <-> jensenshannon; psi fits
      both); a method named for one column (``method={"age": "psi"}``) must fit it.
    * Missing values are never dropped silently: each row reports the missing share on
      both sides. For categorical columns "missing" is a category of its own; for
      numeric ones the test of the values and a test of the missing share are combined
      (Bonferroni: twice the smaller p-value), and an effect-size verdict also flags a
      missing share that moved by more than the threshold. A column entirely missing in
      the current sample drifts; one entirely missing in the reference is an error.

Each numeric column is sorted once per side; the KS statistic and the Wasserstein
distance are read off the two empirical CDFs, exactly while each side has at most
``GRID_POINTS`` (8,192) values, else on a grid of that many quantiles per side (the KS
statistic is then within 2 / 8,192 of exact). KS p-values are exact (scipy) up to
``EXACT_P_UP_TO`` (1,000) values per side and asymptotic above.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.extras import require
from mlops_testkit.score import evidences

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

    @property
    def verdict(self) -> str:
        return "DRIFT" if self.drifted else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


@dataclass
class DriftReport:
    """Rows per column, drifted first, plus the settings that produced them."""

    rows: list[DriftRow]
    alpha: float
    correction: str
    method: str | Mapping[str, str]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted(self) -> list[str]:
        return [r.column for r in self.rows if r.drifted]

    @property
    def passed(self) -> bool:
        return not self.drifted

    @property
    def headline(self) -> str:
        name = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}.get(
            self.correction, "no correction"
        )
        return (
            f"{len(self.drifted)} of {len(self.rows)} columns drifted "
            f"(alpha {self.alpha:g}, {name})"
        )

    def as_dicts(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in self.rows]

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.as_dicts())

    def table(self, max_rows: int = 15) -> str:
        rows = [
            {
                "column": r.column,
                "method": r.method,
                "statistic": r.statistic,
                "p-value": r.p_value,
                "adjusted p": r.p_adjusted,
                "threshold": "-" if r.threshold is None else r.threshold,
                "missing ref/cur": f"{r.missing_reference:.1%}/{r.missing_current:.1%}",
                "verdict": r.verdict + (f" ({r.note})" if r.note else ""),
            }
            for r in self.rows
        ]
        return table(
            rows,
            [
                "column",
                "method",
                "statistic",
                "p-value",
                "adjusted p",
                "threshold",
                "missing ref/cur",
                "verdict",
            ],
            max_rows=max_rows,
        )


# --- argument checking -----------------------------------------------------------------------


def _as_pandas(frame: Any, name: str) -> Any:
    pd = require("pandas", "drift_report")
    if isinstance(frame, pd.DataFrame):
        if frame.empty or len(frame) == 0:
            raise MltkUsageError(f"drift_report: {name} is an empty DataFrame (no rows)")
        return frame
    if type(frame).__module__.split(".")[0] == "polars" and hasattr(frame, "to_pandas"):
        return _as_pandas(frame.to_pandas(), name)
    raise MltkUsageError(
        f"drift_report: {name} must be a pandas DataFrame, got {type(frame).__name__}"
    )


def _kinds(
    reference: Any, current: Any, columns: Sequence[str], categorical: Sequence[str] | None
) -> dict[str, str]:
    pd = require("pandas", "drift_report")
    api = pd.api.types
    forced = set(categorical or ())
    unknown = forced - set(columns)
    if unknown:
        raise MltkUsageError(
            f"drift_report: categorical names {sorted(unknown)} that are not among the "
            "columns compared"
        )

    def kind_of(dtype: Any) -> str:
        if api.is_bool_dtype(dtype) or not (
            api.is_numeric_dtype(dtype) or api.is_datetime64_any_dtype(dtype)
        ):
            return "categorical"
        return "numeric"

    kinds = {}
    ref_dtypes, cur_dtypes = reference.dtypes, current.dtypes
    for col in columns:
        ref_kind, cur_kind = kind_of(ref_dtypes[col]), kind_of(cur_dtypes[col])
        if col in forced:
            kinds[col] = "categorical"
        elif ref_kind != cur_kind and not _all_missing(reference[col], current[col]):
            raise MltkUsageError(
                f"drift_report: column {col!r} is {ref_dtypes[col]} in reference but "
                f"{cur_dtypes[col]} in current; convert one of them, or pass "
                f"categorical=[{col!r}] to compare it as categories"
            )
        else:
            kinds[col] = ref_kind
    return kinds


def _all_missing(*series: Any) -> bool:
    return any(s.isna().all() for s in series)


# A method given for the whole frame applies to the columns it fits, and its
# counterpart to the others; a method named for one column must fit that column.
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


# --- numeric columns -------------------------------------------------------------------------


@dataclass
class _NumericSummary:
    ref: Any  # sorted finite values
    cur: Any
    n_ref_total: int
    n_cur_total: int


def _numeric_values(series: Any) -> Any:
    import numpy as np

    pd = require("pandas", "drift_report")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
        values[series.isna().to_numpy()] = np.nan
    else:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[~np.isnan(values)]
    values.sort()
    return values


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


def _numeric_row(
    column: str, ref_series: Any, cur_series: Any, method: str, thresholds: Any
) -> DriftRow:
    import numpy as np

    ref, cur = _numeric_values(ref_series), _numeric_values(cur_series)
    n_ref, n_cur = len(ref_series), len(cur_series)
    miss_ref, miss_cur = n_ref - len(ref), n_cur - len(cur)
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
    if len(ref) == 0:
        raise MltkUsageError(
            f"drift_report: column {column!r} has no value in reference (all {n_ref} missing); "
            "leave it out with columns=, or fix the reference sample"
        )
    if method == "auto":
        method = "wasserstein" if min(len(ref), len(cur)) >= AUTO_EFFECT_SIZE_FROM else "ks"
    row.method = method
    if method in CATEGORICAL_ONLY:
        raise MltkUsageError(
            f"drift_report: method {method!r} does not apply to numeric column {column!r}; "
            "use ks, wasserstein, psi or jensenshannon (or categorical=[...] to treat it as "
            "categories)"
        )
    if len(cur) == 0:
        row.statistic, row.p_value, row.drifted = math.inf, 0.0, True
        row.note = "all missing in current"
        row.threshold = _effect_threshold(thresholds, column, method)
        return row
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


def _js_numeric(ref: Any, cur: Any) -> float:
    return _js(*_reference_bins(ref, cur))


def _js(p: Any, q: Any) -> float:
    from scipy.spatial import distance

    value = distance.jensenshannon(p, q, base=2)
    return 0.0 if not math.isfinite(value) else float(value)


def _effect_threshold(thresholds: Any, column: str, method: str) -> float | None:
    if method in ("ks", "chi2"):
        return None
    return _threshold_for(thresholds, column, method)


# --- categorical columns ---------------------------------------------------------------------


def _counts(series: Any) -> dict[Any, int]:
    counts = series.value_counts(dropna=False, sort=False)
    out: dict[Any, int] = {}
    for key, value in counts.items():
        label = MISSING if _is_missing(key) else key
        out[label] = out.get(label, 0) + int(value)
    return {k: v for k, v in out.items() if v}


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value) or value is None or str(value) in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return False


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


def _categorical_row(
    column: str, ref_series: Any, cur_series: Any, method: str, thresholds: Any
) -> DriftRow:
    import numpy as np

    ref_c, cur_c = _counts(ref_series), _counts(cur_series)
    n_ref, n_cur = len(ref_series), len(cur_series)
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
    keys = list(dict.fromkeys([*map(str, ref_c), *map(str, cur_c)]))
    ref_by = {str(k): v for k, v in ref_c.items()}
    cur_by = {str(k): v for k, v in cur_c.items()}
    p = np.array([ref_by.get(k, 0) for k in keys], dtype=float)
    q = np.array([cur_by.get(k, 0) for k in keys], dtype=float)
    chi2, row.p_value = _chi2(p, q)
    unseen = [k for k in keys if k not in ref_by]
    if unseen:
        row.note = f"unseen: {', '.join(unseen[:3])}" + (" ..." if len(unseen) > 3 else "")
    if method == "chi2":
        row.statistic = chi2
    elif method == "psi":
        row.statistic = _psi(p / p.sum(), q / q.sum())
    else:
        row.statistic = _js(p, q)
    row.threshold = _effect_threshold(thresholds, column, method)
    return row


# --- corrections and verdicts ----------------------------------------------------------------


def adjust_p_values(p_values: Sequence[float], correction: str = "holm") -> list[float]:
    """Correct p-values for testing several columns at once.

    >>> [round(p, 3) for p in adjust_p_values([0.01, 0.04, 0.03], "holm")]
    [0.03, 0.06, 0.06]
    """
    if correction not in CORRECTIONS:
        raise MltkUsageError(
            f"correction must be one of {', '.join(CORRECTIONS)}, got {correction!r}"
        )
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


def drift_report(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    method: str | Mapping[str, str] = "auto",
    alpha: float = 0.05,
    correction: str = "holm",
    thresholds: Mapping[str, float] | None = None,
) -> DriftReport:
    """Per-column drift between ``reference`` and ``current``, without asserting.

    Same arguments as :func:`assert_no_drift`; returns a :class:`DriftReport` whose rows
    (drifted columns first) feed reports, MLflow logging and gates.

    Example::

        report = drift_report(train_df, serving_df)
        mlflow.log_metric("drifted_columns", len(report.drifted))
        report.to_frame().to_csv("drift.csv")
    """
    reference = _as_pandas(reference, "reference")
    current = _as_pandas(current, "current")
    if not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise MltkUsageError(f"drift_report: alpha must be in (0, 1), got {alpha!r}")
    if correction not in CORRECTIONS:
        raise MltkUsageError(
            f"drift_report: correction must be one of {', '.join(CORRECTIONS)}, got "
            f"{correction!r}"
        )
    if isinstance(method, str):
        _method_for(method, "(all)", "numeric")
    elif not isinstance(method, Mapping):
        raise MltkUsageError(
            f"drift_report: method must be a name or a mapping column -> name, got {method!r}"
        )
    if columns is None:
        cols = list(dict.fromkeys([*reference.columns, *current.columns]))
    elif isinstance(columns, str):
        raise MltkUsageError(f"drift_report: columns must be a list of names, got {columns!r}")
    else:
        cols = list(columns)
    if not cols:
        raise MltkUsageError("drift_report: no column to compare")
    for name, frame in (("reference", reference), ("current", current)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise MltkUsageError(
                f"drift_report: column(s) {missing} missing from {name}; compare the same "
                "columns on both sides, or choose them with columns="
            )
    kinds = _kinds(reference, current, cols, categorical)

    def one(col: str) -> DriftRow:
        chosen = _method_for(method, col, kinds[col])
        build = _numeric_row if kinds[col] == "numeric" else _categorical_row
        return build(col, reference[col], current[col], chosen, thresholds)

    big = len(reference) > GRID_POINTS or len(current) > GRID_POINTS
    if big and len(cols) > 1:
        # numpy sorts and searches without the GIL: two threads use both cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            rows = list(pool.map(one, cols))
    else:
        rows = [one(c) for c in cols]

    adjusted = adjust_p_values([r.p_value for r in rows], correction)
    for row, p_adj in zip(rows, adjusted, strict=True):
        row.p_adjusted = p_adj
        significant = p_adj < alpha
        if row.threshold is None:
            row.drifted = significant
        elif row.note == "all missing in current":
            row.drifted = True
        else:
            moved = row.statistic > row.threshold
            missing_moved = abs(row.missing_current - row.missing_reference) > _threshold_for(
                thresholds, row.column, "missing"
            )
            row.drifted = significant and (moved or missing_moved)
            if significant and missing_moved and not moved:
                row.note = (row.note + "; " if row.note else "") + "missing share moved"
    rows.sort(key=lambda r: (not r.drifted, r.p_adjusted, r.column))
    return DriftReport(rows, float(alpha), correction, method)


def _record(report: DriftReport, reference: Any, current: Any) -> None:
    from mlops_testkit.results import histogram, record

    plots = {}
    for row in report.rows:
        if row.drifted and row.kind == "numeric" and len(plots) < 6:
            plots[row.column] = histogram(reference[row.column], current[row.column])
    record(
        "drift",
        drifted=report.drifted,
        columns=len(report.rows),
        alpha=report.alpha,
        correction=report.correction,
        rows=[
            {
                "column": r.column,
                "method": r.method,
                "statistic": r.statistic,
                "p_adjusted": r.p_adjusted,
                "drifted": r.drifted,
            }
            for r in report.rows
        ],
        histograms={k: v for k, v in plots.items() if v},
    )


@evidences("mon-2")
def assert_no_drift(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    method: str | Mapping[str, str] = "auto",
    alpha: float = 0.05,
    correction: str = "holm",
    thresholds: Mapping[str, float] | None = None,
) -> DriftReport:
    """Assert that no column drifted between ``reference`` and ``current``.

    ``method`` is ``auto`` (size-aware), ``ks``, ``chi2``, ``psi``, ``wasserstein`` or
    ``jensenshannon``, or a mapping column -> method. p-values are corrected for the
    number of columns (``correction``: holm, bh, bonferroni, none). See the module
    documentation for the exact rules. Returns the :class:`DriftReport`.

    Example::

        @pytest.mark.data
        def test_serving_data_has_not_drifted(train_df, serving_df):
            assert_no_drift(train_df, serving_df, columns=FEATURES, alpha=0.01)
    """
    __tracebackhide__ = True
    report = drift_report(
        reference,
        current,
        columns=columns,
        categorical=categorical,
        method=method,
        alpha=alpha,
        correction=correction,
        thresholds=thresholds,
    )
    _record(report, reference, current)
    if report.passed:
        return report
    raise AssertionError(
        message(
            report.headline
            + ": "
            + ", ".join(report.drifted[:8])
            + (" ..." if len(report.drifted) > 8 else ""),
            report.table(),
            "If the change is expected (a new source, a season), refresh the reference "
            "sample; otherwise look upstream of the drifted columns. drift_report(...) gives "
            "these rows as data; thresholds= tunes effect sizes, columns= the scope.",
        )
    )
