"""Leakage between splits: rows (or keys) of the test set that are also in training."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.data.backends.pandas import check_unique_columns
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult, display, record

TRAIN_ROW, TEST_ROW = "__mltk_train_row__", "__mltk_test_row__"


@dataclass
class LeakageReport(CheckResult):
    """Test rows found in train: how many, what share, and examples."""

    kind = "leakage"
    leaked: int
    total: int
    on: list[str]
    examples: list[dict[str, Any]] = field(default_factory=list)  # test row, train row, values
    name: str = "split leakage"

    @property
    def rows(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return self.examples

    @property
    def share(self) -> float:
        return self.leaked / self.total if self.total else 0.0

    @property
    def passed(self) -> bool:
        return self.leaked == 0 and self.total > 0

    @property
    def headline(self) -> str:
        return (
            f"{self.leaked} of {self.total} test rows ({self.share:.1%}) also appear in train "
            f"(compared on {', '.join(map(str, self.on[:6]))})"
        )


def _frame(obj: Any, name: str) -> Any:
    pd = require("pandas", "leakage_report")
    if not isinstance(obj, pd.DataFrame):
        raise MltkUsageError(
            f"leakage_report: {name} must be a pandas DataFrame, got {type(obj).__name__}"
        )
    if len(obj) == 0:
        raise MltkUsageError(
            f"leakage_report: {name} is empty: an empty DataFrame (no rows), nothing to compare"
        )
    check_unique_columns(obj, name, "leakage_report")
    return obj


def _rounded(frame: Any, on: list[str], decimals: int | Mapping[str, int] | None) -> Any:
    pd = require("pandas", "leakage_report")
    out = frame[on]
    if decimals is None:
        return out
    out = out.copy()
    for j, col in enumerate(on):
        places = decimals.get(col) if isinstance(decimals, Mapping) else decimals
        if places is not None and pd.api.types.is_float_dtype(out.iloc[:, j].dtype):
            out.isetitem(j, out.iloc[:, j].round(places))
    return out


def _on_columns(train: Any, test: Any, on: Any) -> list[Any]:
    """The columns compared: ``on`` (one name or a list of names), or all shared ones."""
    if on is None:
        cols = [c for c in test.columns if c in train.columns]
        if not cols:
            raise MltkUsageError("leakage_report: train and test share no column; pass on=")
        return cols
    one = isinstance(on, str) or not isinstance(on, Sequence | Iterable)
    cols = [on] if one else list(on)
    if not cols:
        raise MltkUsageError("leakage_report: on= is empty; name the column(s) to compare")
    repeated = sorted({display(c) for c in cols if cols.count(c) > 1})
    if repeated:
        raise MltkUsageError(f"leakage_report: on= names {repeated} more than once")
    for name, frame in (("train", train), ("test", test)):
        try:
            missing = [display(c) for c in cols if c not in frame.columns]
        except TypeError:  # an unhashable name
            missing = [display(c) for c in cols]
        if missing:
            raise MltkUsageError(f"leakage_report: column(s) {missing} missing from {name}")
    return cols


def _check_round(decimals: Any) -> None:
    places = list(decimals.values()) if isinstance(decimals, Mapping) else [decimals]
    if decimals is None or all(
        isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in places if p is not None
    ):
        return
    raise MltkUsageError(
        "leakage_report: round must be decimals or a mapping column -> decimals (integers "
        f">= 0: the engines do not round to tens), got {decimals!r}"
    )


def _awkward(value: Any) -> bool:
    """A cell pandas cannot hash: unhashable, or text with a lone surrogate."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeError:
            return True
        return False
    try:
        hash(value)
    except TypeError:
        return True
    return False


def _text_key(value: Any) -> Any:
    """``repr(value)`` (one-to-one), except that a missing value stays missing."""
    if value is None or (isinstance(value, float) and value != value):
        return value
    return repr(value)


def leakage_report(
    train: Any,
    test: Any,
    *,
    on: Sequence[str] | None = None,
    round: int | Mapping[str, int] | None = None,
    max_examples: int = 10,
) -> LeakageReport:
    """Find test rows whose ``on`` columns (default: all shared columns) also occur in
    train. ``round`` (decimals, or a mapping column -> decimals) rounds float columns
    first, to catch near-duplicates. Missing values compare equal to each other.
    Examples name their rows: the index (pandas), the row position (polars, Arrow,
    Parquet), or ``file.parquet:row`` for a Spark DataFrame read from files (Spark's
    ``_metadata``); a Spark DataFrame built in memory has no row identity, and its
    examples show the key columns only.

    Example::

        report = leakage_report(train_df, test_df, on=["customer_id"])
        print(f"{report.share:.1%} of test customers are also in train")
    """
    engine = _engine_report(train, test, on, round, max_examples)
    if engine is not None:
        return engine
    pd = require("pandas", "leakage_report")
    import numpy as np

    train, test = _frame(train, "train"), _frame(test, "test")
    cols = _on_columns(train, test, on)
    _check_round(round)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise MltkUsageError(
            f"leakage_report: max_examples must be an integer >= 0, got {max_examples!r}"
        )
    # compare by position: column names of any type (None, NaN, tuples) cannot confuse merge
    keys = [f"__mltk_key_{i}__" for i in range(len(cols))]
    left = _rounded(train, cols, round).set_axis(keys, axis=1)
    right = _rounded(test, cols, round).set_axis(keys, axis=1)
    try:
        hash_train = pd.util.hash_pandas_object(left, index=False)
        hash_test = pd.util.hash_pandas_object(right, index=False)
    except (TypeError, UnicodeError):
        # unhashable cells (lists, dicts, sets) or text that is not valid Unicode (a lone
        # surrogate): compare their repr instead, which is one-to-one; missing stays missing
        bad = [c for c in keys if left[c].map(_awkward).any() or right[c].map(_awkward).any()]
        left = left.assign(**{c: left[c].map(_text_key) for c in bad})
        right = right.assign(**{c: right[c].map(_text_key) for c in bad})
        hash_train = pd.util.hash_pandas_object(left, index=False)
        hash_test = pd.util.hash_pandas_object(right, index=False)
    candidates = hash_test.isin(set(hash_train.to_numpy()))
    if not candidates.any():
        return LeakageReport(0, len(test), [display(c) for c in cols])
    # confirm candidates by value, so a hash collision never counts as a leak
    train_keys = left.assign(**{TRAIN_ROW: range(len(left))}).drop_duplicates(subset=keys)
    cand = right[candidates.to_numpy()]
    cand = cand.assign(**{TEST_ROW: np.flatnonzero(candidates.to_numpy())})
    matched = cand.merge(train_keys, on=keys, how="inner")
    confirmed = list(zip(matched[TEST_ROW], matched[TRAIN_ROW], strict=True))
    examples = [
        {
            "test row": test.index[ti],
            "train row": train.index[tr],
            **{display(c): right.iat[ti, j] for j, c in enumerate(cols[:6])},
        }
        for ti, tr in confirmed[:max_examples]
    ]
    return LeakageReport(len(confirmed), len(test), [display(c) for c in cols], examples)


def _engine_report(
    train: Any, test: Any, on: Any, decimals: Any, max_examples: int
) -> LeakageReport | None:
    """Leakage when a side lives in an engine (polars, Parquet, Spark): an exact join in
    the engine of the higher rank; None when both sides are pandas DataFrames."""
    import sys

    from mlops_testkit.data.backends import backend_for, check_columns, has_rows

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(train, pd.DataFrame) and isinstance(test, pd.DataFrame):
        return None
    where = "leakage_report"
    sides = []
    for obj, name in ((train, "train"), (test, "test")):
        if pd is not None and isinstance(obj, pd.DataFrame):
            _frame(obj, name)
        side = backend_for(obj, name, where)
        check_columns(side)
        if not has_rows(side):  # the same 0-row rule on every engine
            raise MltkUsageError(
                f"leakage_report: {name} is empty: an empty {side.noun} (no rows), nothing "
                "to compare"
            )
        sides.append(side)
    train_b, test_b = sides
    cols = _on_columns(train_b, test_b, on)
    _check_round(decimals)
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 0:
        raise MltkUsageError(
            f"leakage_report: max_examples must be an integer >= 0, got {max_examples!r}"
        )
    if train_b.rank < test_b.rank:  # the join runs in the stronger engine
        train_b = type(test_b)(test_b.adopt(train_b), "train", where)
    leaked, total, examples = train_b.leaks(train_b.adopt(test_b), cols, decimals, max_examples)
    return LeakageReport(leaked, total, [display(c) for c in cols], examples)


def assert_no_leakage(
    train: Any,
    test: Any,
    *,
    on: Sequence[str] | None = None,
    round: int | Mapping[str, int] | None = None,
    max_examples: int = 10,
) -> LeakageReport:
    """Assert that no test row (or key, with ``on=``) also appears in train.

    Example::

        @pytest.mark.data
        def test_split_does_not_leak(train_df, test_df):
            assert_no_leakage(train_df, test_df, on=["customer_id"])
            assert_no_leakage(train_df, test_df, round=3)   # near-duplicate feature rows
    """
    __tracebackhide__ = True
    report = record(leakage_report(train, test, on=on, round=round, max_examples=max_examples))
    if report.passed:
        return report
    shown = report.on if len(report.on) <= 6 else [*report.on[:6], "..."]
    raise AssertionError(
        message(
            f"{report.leaked} of {report.total} test rows ({report.share:.1%}) also appear in "
            f"train (compared on {', '.join(map(str, shown))}"
            + (f", rounded to {round}" if round is not None else "")
            + ")",
            table(
                report.examples, ["test row", "train row", *report.on[:6]], max_rows=max_examples
            )
            + (
                f"\n+{report.leaked - len(report.examples)} more"
                if report.leaked > len(report.examples)
                else ""
            ),
            "Split by entity or time (e.g. group by customer id) and deduplicate before "
            "splitting, so the test score measures generalisation, not memory.",
        )
    )
