"""Training/serving skew: the same raw rows, through both pipelines, give the same features.

Feed the *same* raw rows to the training pipeline and to the serving pipeline, keep a key
column (or several) in both outputs, and compare the two feature frames row by row after
joining them on the key. This is the check that catches a serving pipeline that scales
with the wrong mean, rounds differently, fills missing values differently or drops rows:
bugs that leave every distribution plausible, so a drift test cannot see them.

How values are compared
    * Numeric features (booleans too) match when ``|training - serving| <= tolerance`` or
      ``|training - serving| <= tolerance * |training|``: absolute for values near zero,
      relative for large ones; float32 serving against float64 training stays within the
      default ``1e-6``. ``tolerance`` may be a mapping feature -> tolerance (finite).
      Complex features use the modulus of the difference, so the imaginary part counts.
    * Infinities match only the same infinity: ``+inf`` never matches ``5.0`` or ``-inf``.
    * List, tuple and array cells (embeddings) match when they have the same shape and
      every element matches (numbers within ``tolerance``); other cells (strings,
      categories, datetimes) match when equal.
    * Missing values match missing values only.
    * Keys present on one side only are reported, and fail unless ``allow_missing_keys``.

The join is an index look-up (no merge): 1M keyed rows x 20 features take well under a
second (``benchmarks/bench_features.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import flag, number
from mlops_testkit._checks import columns_of, distinct, finish, label, table_renderer
from mlops_testkit.data.skew_cells import (
    MAX_EXAMPLES,
    WHERE,
    as_numbers,
    compare_numeric,
    compare_values,
    is_complex,
    is_numeric,
)
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult, plain
from mlops_testkit.reporting.score import evidences

COLUMNS = (
    "feature",
    "compared",
    "mismatches",
    "mismatch rate",
    "max abs diff",
    "max rel diff",
    "examples",
    "verdict",
)


@dataclass
class SkewResult(CheckResult):
    """Per feature: rows compared, mismatches, largest differences and examples."""

    kind: ClassVar[str] = "skew"
    name: str = ""
    on: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    compared: int = 0  # keys found on both sides
    training_rows: int = 0
    serving_rows: int = 0
    missing_in_serving: list[Any] = field(default_factory=list)  # examples of keys
    missing_in_training: list[Any] = field(default_factory=list)
    n_missing_in_serving: int = 0
    n_missing_in_training: int = 0
    max_mismatch_rate: float = 0.0
    allow_missing_keys: bool = False

    @property
    def skewed(self) -> list[str]:
        return [r["feature"] for r in self.rows if r["verdict"] == "SKEW"]

    @property
    def keys_missing(self) -> bool:
        return bool(self.n_missing_in_serving or self.n_missing_in_training)

    @property
    def passed(self) -> bool:
        if self.compared == 0 or not self.rows:
            return False
        return not self.skewed and (self.allow_missing_keys or not self.keys_missing)

    @property
    def headline(self) -> str:
        on = ", ".join(self.on)
        if self.compared == 0:
            return f"no key of {on} is on both sides: nothing was compared"
        text = (
            f"{len(self.skewed)} of {len(self.rows)} features differ between the training and "
            f"serving pipelines ({self.compared} rows joined on {on}, max mismatch rate "
            f"{self.max_mismatch_rate:g})"
        )
        missing = []
        if self.n_missing_in_serving:
            missing.append(f"{self.n_missing_in_serving} key(s) missing from serving")
        if self.n_missing_in_training:
            missing.append(f"{self.n_missing_in_training} key(s) missing from training")
        if missing:
            allowed = " (allowed)" if self.allow_missing_keys else ""
            text += "; " + " and ".join(missing) + allowed
            examples = [*self.missing_in_serving, *self.missing_in_training][:MAX_EXAMPLES]
            text += f", e.g. {', '.join(map(repr, examples))}"
        return text

    def extra(self) -> dict[str, Any]:
        return {
            "on": self.on,
            "compared": self.compared,
            "missing_in_serving": self.n_missing_in_serving,
            "missing_in_training": self.n_missing_in_training,
        }


table_renderer(
    "skew",
    "training/serving skew",
    COLUMNS,
    failing=lambda row: row.get("verdict") == "SKEW",
)


def _frame(obj: Any, name: str) -> Any:
    pd = require("pandas", WHERE)
    if type(obj).__module__.split(".")[0] == "polars" and hasattr(obj, "to_pandas"):
        obj = obj.to_pandas()
    if not isinstance(obj, pd.DataFrame):
        raise MltkUsageError(
            f"{WHERE}: {name} must be a pandas (or polars) DataFrame of features with the key "
            f"column(s), got {type(obj).__name__}"
        )
    if len(obj) == 0:
        raise MltkUsageError(f"{WHERE}: {name} is empty (no rows): nothing to compare")
    if not obj.columns.is_unique:
        dup = sorted({label(c) for c in obj.columns[obj.columns.duplicated()]})
        raise MltkUsageError(f"{WHERE}: {name} has duplicate column names {dup}")
    distinct(obj.columns, f"the columns of {name}", WHERE)
    return obj


def _columns(frame: Any, names: Sequence[Any]) -> Any:
    """``frame[names]`` by position: pandas turns a list of names into an Index of its
    string dtype first, which refuses names with a lone surrogate."""
    return frame.iloc[:, [frame.columns.get_loc(c) for c in names]]


def _keys(frame: Any, on: list[str], name: str) -> Any:
    """The key index of ``frame``: unique, no missing key."""
    pd = require("pandas", WHERE)
    missing = [c for c in on if c not in frame.columns]
    if missing:
        raise MltkUsageError(
            f"{WHERE}: key column(s) {missing} missing from {name}; keep the key in both "
            "pipelines' outputs"
        )
    keys = _columns(frame, on)
    nulls = keys.isna().any(axis=1)
    if nulls.any():
        raise MltkUsageError(
            f"{WHERE}: {int(nulls.sum())} row(s) of {name} have a missing key in {on}; every "
            "row needs a key to be joined"
        )
    try:
        if len(on) == 1:
            index = pd.Index(keys.iloc[:, 0])
        else:
            index = pd.MultiIndex.from_arrays([keys.iloc[:, i] for i in range(len(on))])
        unique = index.is_unique
    except TypeError as exc:  # list or array cells cannot be hashed
        raise MltkUsageError(
            f"{WHERE}: the key {on} of {name} holds values that cannot be joined on ({exc}); "
            "join on scalar keys (numbers, strings, dates)"
        ) from None
    if not unique:
        dup = index[index.duplicated()]
        raise MltkUsageError(
            f"{WHERE}: the key {on} is not unique in {name}: {len(dup)} duplicate(s), e.g. "
            f"{dup[0]!r}; join on column(s) that identify each row"
        )
    return index


def _tolerance(tolerance: float | Mapping[str, float], feature: str) -> float:
    value = tolerance.get(feature, 1e-6) if isinstance(tolerance, Mapping) else tolerance
    return float(value)


def _check_tolerance(tolerance: Any) -> None:
    """A finite number >= 0, or a mapping feature -> such a number."""
    items = tolerance.items() if isinstance(tolerance, Mapping) else [(None, tolerance)]
    for feature, tol in items:
        name = "tolerance" if feature is None else f"tolerance[{feature!r}]"
        if isinstance(tol, float) and math.isinf(tol):
            raise MltkUsageError(
                f"{WHERE}: {name} must be a finite number >= 0, got {tol!r}: an infinite "
                "tolerance matches every pair of numbers, so the check could not fail"
            )
        try:
            number(tol, name, WHERE, low=0.0)
        except MltkUsageError as exc:
            raise MltkUsageError(
                f"{exc} (tolerance is a number >= 0, or a mapping feature -> number)"
            ) from None


def skew_report(
    training_features: Any,
    serving_features: Any,
    *,
    on: str | Sequence[str] | None = None,
    tolerance: float | Mapping[str, float] = 1e-6,
    max_mismatch_rate: float = 0.0,
    features: Sequence[str] | None = None,
    allow_missing_keys: bool = False,
    name: str | None = None,
) -> SkewResult:
    """Compare the features two pipelines computed from the same raw rows, joined on ``on``.

    ``training_features`` and ``serving_features`` are the two pipelines' outputs (pandas
    or polars frames), each with the key column(s) ``on``. Every other column is a feature
    and must be on both sides (``features=`` compares a subset). A feature is skewed when
    its share of mismatching rows exceeds ``max_mismatch_rate``. Returns a
    :class:`SkewResult`; :func:`assert_no_skew` asserts it.

    Example::

        raw = load_raw_sample()
        report = skew_report(training_pipeline(raw), serving_pipeline(raw), on="id")
        print(report.headline)
    """
    if on is None:
        raise MltkUsageError(
            f"{WHERE}: on= is required: name the key column(s) that identify a row on both "
            "sides, so the same rows are compared value by value. To compare the "
            "distributions of two different samples, use assert_no_drift instead."
        )
    keys = columns_of(on, "on", WHERE) or []
    rate = number(
        max_mismatch_rate,
        "max_mismatch_rate",
        WHERE,
        low=0.0,
        high=1.0,
        high_open=True,
        why="a rate of 1 tolerates every row mismatching, so the check could not fail",
    )
    _check_tolerance(tolerance)
    allow = flag(allow_missing_keys, "allow_missing_keys", WHERE)
    train = _frame(training_features, "training_features")
    serve = _frame(serving_features, "serving_features")
    idx_t, idx_s = _keys(train, keys, "training_features"), _keys(serve, keys, "serving_features")
    wanted = columns_of(features, "features", WHERE)
    if wanted is None:
        only_t = [c for c in train.columns if c not in keys and c not in serve.columns]
        only_s = [c for c in serve.columns if c not in keys and c not in train.columns]
        if only_t or only_s:
            where = [
                *(f"{c!r} only in training_features" for c in only_t[:5]),
                *(f"{c!r} only in serving_features" for c in only_s[:5]),
            ]
            raise MltkUsageError(
                f"{WHERE}: the pipelines output different features: {'; '.join(where)}; both "
                "must compute the same features (or pass features=[...] to compare a subset)"
            )
        wanted = [c for c in train.columns if c not in keys]
    else:
        for col in wanted:
            for side, frame in (("training_features", train), ("serving_features", serve)):
                if col not in frame.columns:
                    raise MltkUsageError(f"{WHERE}: feature {col!r} is missing from {side}")
        overlap = [c for c in wanted if c in keys]
        if overlap:
            raise MltkUsageError(
                f"{WHERE}: features names the key column(s) {overlap}; a key is joined on, "
                "not compared"
            )
    if not wanted:
        raise MltkUsageError(f"{WHERE}: no feature column besides the key {keys} to compare")
    if isinstance(tolerance, Mapping):
        unknown = sorted(str(c) for c in tolerance if c not in wanted)
        if unknown:
            raise MltkUsageError(f"{WHERE}: tolerance names unknown feature(s) {unknown}")

    import numpy as np

    pos_in_s = idx_s.get_indexer(idx_t)
    found = pos_in_s >= 0
    pos_t = np.flatnonzero(found)
    pos_s = pos_in_s[found]
    missing_s = idx_t[~found]
    in_s = np.zeros(len(idx_s), dtype=bool)
    in_s[pos_s] = True
    missing_t = idx_s[~in_s]
    rows = []
    if len(pos_t):
        numeric = [c for c in wanted if is_numeric(train[c].dtype) and is_numeric(serve[c].dtype)]
        found_rows: dict[Any, dict[str, Any]] = {}
        for part, dtype in ((False, np.float64), (True, np.complex128)):
            group = [
                c
                for c in numeric
                if (is_complex(train[c].dtype) or is_complex(serve[c].dtype)) == part
            ]
            if not group:
                continue
            compared_group = compare_numeric(
                as_numbers(_columns(train, group), dtype),
                as_numbers(_columns(serve, group), dtype),
                pos_t,
                pos_s,
                idx_t,
                np.array([_tolerance(tolerance, c) for c in group], dtype=np.float64),
            )
            found_rows.update(zip(group, compared_group, strict=True))
        for col in wanted:
            compared = found_rows.get(col) or compare_values(
                train[col], serve[col], pos_t, pos_s, idx_t, _tolerance(tolerance, col)
            )
            row = {"feature": label(col), "compared": len(pos_t), **compared}
            row["mismatch rate"] = row["mismatches"] / len(pos_t)
            row["verdict"] = "SKEW" if row["mismatch rate"] > rate else "ok"
            rows.append({c: row[c] for c in COLUMNS})
        rows.sort(key=lambda r: (r["verdict"] != "SKEW", -r["mismatch rate"], r["feature"]))
    return SkewResult(
        name=name or f"skew:{','.join(map(label, keys))}",
        on=[label(k) for k in keys],
        rows=rows,
        compared=len(pos_t),
        training_rows=len(train),
        serving_rows=len(serve),
        missing_in_serving=[plain(k) for k in missing_s[:MAX_EXAMPLES]],
        missing_in_training=[plain(k) for k in missing_t[:MAX_EXAMPLES]],
        n_missing_in_serving=len(missing_s),
        n_missing_in_training=len(missing_t),
        max_mismatch_rate=rate,
        allow_missing_keys=allow,
    )


@evidences("mon-3")
def assert_no_skew(
    training_features: Any,
    serving_features: Any,
    *,
    on: str | Sequence[str] | None = None,
    tolerance: float | Mapping[str, float] = 1e-6,
    max_mismatch_rate: float = 0.0,
    features: Sequence[str] | None = None,
    allow_missing_keys: bool = False,
    name: str | None = None,
) -> SkewResult:
    """Assert that the training and serving pipelines compute the same features.

    Run the same raw rows through both pipelines, keep the key column(s) ``on`` in both
    outputs, and pass the two frames. Fails naming each feature whose share of rows
    differing by more than ``tolerance`` exceeds ``max_mismatch_rate``, with the largest
    differences and example keys; keys found on one side only fail too, unless
    ``allow_missing_keys=True``. Evidences ML Test Score item mon-3.

    Example::

        def test_serving_matches_training(raw_sample):
            assert_no_skew(
                training_features(raw_sample),
                serving_features(raw_sample),
                on="applicant_id",
                tolerance=1e-5,
            )
    """
    __tracebackhide__ = True
    result = skew_report(
        training_features,
        serving_features,
        on=on,
        tolerance=tolerance,
        max_mismatch_rate=max_mismatch_rate,
        features=features,
        allow_missing_keys=allow_missing_keys,
        name=name,
    )
    return finish(
        result,
        COLUMNS,
        "Make serving reuse the training pipeline's code and fitted state (the same scaler, "
        "vocabulary and fill values), or fix the step the skewed features share.",
    )
