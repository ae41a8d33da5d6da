"""
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
      Infinite values of a numeric column measure nothing: they count as missing.

Each numeric column is sorted once per side; the KS statistic and the Wasserstein
distance are read off the two empirical CDFs, exactly while each side has at most
``GRID_POINTS`` (8,192) values, else on a grid of that many quantiles per side (the KS
statistic is then within 2 / 8,192 of exact). KS p-values are exact (scipy) up to
``EXACT_P_UP_TO`` (1,000) values per side and asymptotic above.

Where the data lives (polars, Parquet paths, PyArrow, Spark: see
:mod:`~mlops_testkit.data.backends`), the engine computes and only summaries come back.
Exact: row, missing and category counts, hence chi-square, categorical PSI and
Jensen-Shannon; numeric PSI and Jensen-Shannon from exact counts in reference-decile bins
of the grid. Bounded: KS and Wasserstein are read off exact histograms in a grid of
8,192 bins both sides share (:mod:`~mlops_testkit.data.sketch`); ``DriftRow.bound`` is
how far each can be from its exact value (about one bin's mass for KS; 0 for
integer-valued columns and for sides of at most 8,192 rows, which send their values).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.data.backends import (
    backend_for,
    check_columns,
    has_rows,
    kinds,
    numeric_sides,
)
from mlops_testkit.data.drift_rows import (  # noqa: F401 - DriftRow and the limits are public here
    IDENTIFIER_SHARE,
    MIN_VALUES,
    DriftRow,
    _binned_row,
    _categorical_row,
    _method_for,
    _numeric_row,
    _threshold_for,
    _too_many_row,
)
from mlops_testkit.data.drift_stats import (
    CORRECTIONS,
    GRID_POINTS,
    adjust_p_values,  # noqa: F401 - re-exported: mlops_testkit.data imports it from here
    adjusted_p_values,
)
from mlops_testkit.data.sketch import binned_histogram
from mlops_testkit.reporting.results import (
    CheckResult,
    Renderer,
    Section,
    display,
    histogram,
    record,
    register,
    short_test,
)
from mlops_testkit.reporting.score import evidences

MAX_PLOTS = 6  # histograms of drifted numeric columns in a report


@dataclass
class DriftReport(CheckResult):
    """Rows per column, drifted first, plus the settings that produced them. It passes
    only when no column drifted and every column could be judged."""

    kind = "drift"
    rows: list[DriftRow]
    alpha: float
    correction: str
    method: str | Mapping[str, str]
    plots: dict[str, Any] = field(default_factory=dict)  # column -> histogram, drifted ones
    name: str = ""

    @property
    def drifted(self) -> list[str]:
        return [r.column for r in self.rows if r.drifted]

    @property
    def not_applicable(self) -> list[str]:
        return [r.column for r in self.rows if not r.applicable]

    @property
    def passed(self) -> bool:
        return bool(self.rows) and not self.drifted and not self.not_applicable

    def record_fields(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "not_applicable": self.not_applicable,
            "columns": len(self.rows),
            "alpha": self.alpha,
            "correction": self.correction,
            "rows": [
                {
                    "column": r.column,
                    "method": r.method,
                    "statistic": r.statistic,
                    "p_adjusted": r.p_adjusted,
                    "drifted": r.drifted,
                    "verdict": r.verdict,
                    "note": r.note,
                }
                for r in self.rows
            ],
            "histograms": self.plots,
        }

    @property
    def headline(self) -> str:
        name = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}.get(
            self.correction, "no correction"
        )
        text = (
            f"{len(self.drifted)} of {len(self.rows)} columns drifted "
            f"(alpha {self.alpha:g}, {name})"
        )
        if self.not_applicable:
            text += f"; {len(self.not_applicable)} could not be judged: " + ", ".join(
                self.not_applicable[:5]
            )
        return text

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


# A method given for the whole frame applies to the columns it fits, and its
# counterpart to the others; a method named for one column must fit that column.
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
    ref_b = backend_for(reference, "reference", "drift_report")
    cur_b = backend_for(current, "current", "drift_report")
    if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and 0 < alpha < 1):
        raise MltkUsageError(f"drift_report: alpha must be in (0, 1), got {alpha!r}")
    if correction not in CORRECTIONS:
        raise MltkUsageError(
            f"drift_report: correction must be one of {', '.join(CORRECTIONS)}, got "
            f"{correction!r}"
        )
    if thresholds is not None:
        if not isinstance(thresholds, Mapping):
            raise MltkUsageError(
                f"drift_report: thresholds must be a mapping method or column -> number, got "
                f"{thresholds!r}"
            )
        for key in thresholds:
            _threshold_for(thresholds, key, str(key))
    if isinstance(method, str):
        _method_for(method, "(all)", "numeric")
    elif not isinstance(method, Mapping):
        raise MltkUsageError(
            f"drift_report: method must be a name or a mapping column -> name, got {method!r}"
        )
    for side in (ref_b, cur_b):
        check_columns(side)
        if not has_rows(side):  # the same 0-row rule on every engine
            raise MltkUsageError(
                f"drift_report: {side.name} is an empty {side.noun} (no rows): nothing to "
                "compare; check the query or the files that should hold the data"
            )
    if columns is None:
        cols = list(dict.fromkeys([*ref_b.columns, *cur_b.columns]))
    elif isinstance(columns, str) or not isinstance(columns, Sequence):
        raise MltkUsageError(f"drift_report: columns must be a list of names, got {columns!r}")
    else:
        cols = list(columns)
        repeated = sorted({display(c) for c in cols if cols.count(c) > 1})
        if repeated:
            raise MltkUsageError(f"drift_report: columns names {repeated} more than once")
    if not cols:
        raise MltkUsageError("drift_report: no column to compare")
    for name, side in (("reference", ref_b), ("current", cur_b)):
        missing = [c for c in cols if not side.has(c)]
        if missing:
            raise MltkUsageError(
                f"drift_report: column(s) {missing} missing from {name}; compare the same "
                "columns on both sides, or choose them with columns="
            )
    kind = kinds(ref_b, cur_b, cols, categorical, "drift_report")
    for col in cols:
        _method_for(method, col, kind[col])  # a bad method fails before any engine work
    numeric = numeric_sides(ref_b, cur_b, [c for c in cols if kind[c] == "numeric"])
    categories = [c for c in cols if kind[c] == "categorical"]
    ref_counts, cur_counts = ref_b.categories(categories), cur_b.categories(categories)
    n_ref, n_cur = ref_b.n_rows(), cur_b.n_rows()

    def one(col: Any) -> DriftRow:
        chosen = _method_for(method, col, kind[col])
        if kind[col] == "numeric":
            row = _numeric_row(col, *numeric[col], chosen, thresholds)
        else:
            row = _categorical_row(
                col, ref_counts[col], cur_counts[col], n_ref, n_cur, chosen, thresholds
            )
        row.column = display(col)
        return row

    big = n_ref > GRID_POINTS or n_cur > GRID_POINTS
    if big and len(cols) > 1:
        # numpy sorts and searches without the GIL: two threads use both cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            rows = list(pool.map(one, cols))
    else:
        rows = [one(c) for c in cols]

    for row in rows:
        if row.applicable and not math.isfinite(row.p_value):
            row.applicable = False  # a test that could not be computed judged nothing
            row.note = (row.note + "; " if row.note else "") + "the test is undefined here"
    judged = [r for r in rows if r.applicable]
    adjusted = adjusted_p_values([r.p_value for r in judged], correction)
    for row, p_adj in zip(judged, adjusted, strict=True):
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
    rows.sort(key=lambda r: (r.applicable, not r.drifted, r.p_adjusted, r.column))
    report = DriftReport(rows, float(alpha), correction, method)
    # histograms of the drifted columns an engine counted in a grid (no values came back)
    for col, (ref_side, cur_side, grid) in numeric.items():
        name = display(col)
        if grid is not None and name in report.drifted and len(report.plots) < MAX_PLOTS:
            hist = binned_histogram(grid, ref_side.binned, cur_side.binned)
            if hist:
                report.plots[name] = hist
    return report


def _plots(report: DriftReport, reference: Any, current: Any) -> dict[str, Any]:
    """Histograms of the drifted numeric columns (up to ``MAX_PLOTS``), for the report:
    from the values of pandas frames, else those drift_report drew from an engine's grid
    counts."""
    pd = sys.modules.get("pandas")
    if pd is None or not all(isinstance(f, pd.DataFrame) for f in (reference, current)):
        return report.plots  # an engine sent grid counts, not values
    by_name = {display(c): c for c in reference.columns}
    plots = {}
    for row in report.rows:
        if (
            row.drifted
            and row.kind == "numeric"
            and len(plots) < MAX_PLOTS
            and row.column in by_name
        ):
            col = by_name[row.column]
            hist = histogram(reference[col], current[col])
            if hist:
                plots[row.column] = hist
    return plots


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
    report.plots = _plots(report, reference, current)
    record(report)
    if report.passed:
        return report
    raise AssertionError(
        message(
            report.headline
            + (": " + ", ".join(report.drifted[:8]) if report.drifted else "")
            + (" ..." if len(report.drifted) > 8 else ""),
            report.table(),
            "If the change is expected (a new source, a season), refresh the reference "
            "sample; otherwise look upstream of the drifted columns. drift_report(...) gives "
            "these rows as data; thresholds= tunes effect sizes, columns= the scope.",
        )
    )


# --- how drift shows ---------------------------------------------------------------------


def _summary(results: list[dict[str, Any]]) -> list[str]:
    drifted = sorted({c for r in results for c in r.get("drifted") or []})
    checked = sum(int(r.get("columns") or 0) for r in results)
    line = f"drift: {len(drifted)} drifted column(s) of {checked} checked"
    if drifted:
        line += ": " + ", ".join(drifted[:8]) + (" ..." if len(drifted) > 8 else "")
    lines = [line]
    for r in results:
        if not r.get("passed"):
            lines.append(f"  {short_test(r)}: {r.get('headline')}")
    return lines


def _junit(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [("mltk_drifted", ",".join(result.get("drifted") or []) or "-")]


def _sections(results: list[dict[str, Any]]) -> list[Section]:
    from mlops_testkit.reporting.plots import histograms

    out = []
    for r in results:
        for column, hist in (r.get("histograms") or {}).items():
            image, text = histograms(
                hist["edges"], hist["reference"], hist["current"], title=f"drift: {column}"
            )
            out.append(
                Section(
                    f"Drift of {column}", text=text, image=image, note=f"test: {short_test(r)}"
                )
            )
    return out


register(Renderer("drift", summary=_summary, junit=_junit, sections=_sections))
