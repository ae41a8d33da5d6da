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
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult, plain
from mlops_testkit.reporting.score import evidences

WHERE = "skew_report"
MAX_EXAMPLES = 3
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


def _is_numeric(dtype: Any) -> bool:
    api = require("pandas", WHERE).api.types
    return bool(api.is_numeric_dtype(dtype) or api.is_bool_dtype(dtype)) and not (
        isinstance(getattr(dtype, "name", None), str) and dtype.name == "category"
    )


def _is_complex(dtype: Any) -> bool:
    return bool(require("pandas", WHERE).api.types.is_complex_dtype(dtype))


def _numbers(frame: Any, dtype: Any) -> Any:
    import numpy as np

    return frame.to_numpy(dtype=dtype, na_value=np.nan)


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


def _same(a: Any, b: Any) -> Any:
    """Exact equality of numbers, a NaN matching a NaN (per part for complex numbers)."""
    import numpy as np

    if np.iscomplexobj(a) or np.iscomplexobj(b):
        a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
        return _same(a.real, b.real) & _same(a.imag, b.imag)
    return (a == b) | (np.isnan(a) & np.isnan(b))


def _close(a: Any, b: Any, tol: Any) -> tuple[Any, Any]:
    """Which pairs of numbers match (``|a - b| <= tol * max(|a|, 1)`` for finite pairs,
    the same value for infinities and NaN) and ``|a - b|``. Works on real and complex
    arrays of one shape; ``tol`` broadcasts."""
    import numpy as np

    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        diff = np.abs(a - b)
        scale = np.maximum(np.abs(a), 1.0)
        scale *= tol
        ok = diff <= scale  # NaN differences do not
        nonfinite = ~(np.isfinite(a) & np.isfinite(b))
        if nonfinite.any():  # inf - 5 is inf, and inf <= inf * tol: compare exactly
            ok[nonfinite] = _same(np.asarray(a)[nonfinite], np.asarray(b)[nonfinite])
    return ok, diff


def _example(key: Any, t: Any, s: Any) -> str:
    key = plain(key)

    def show(v: Any) -> str:
        if isinstance(v, float) and not math.isfinite(v):  # plain() turns these into None
            return "NaN" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, complex):
            return str(v)
        v = plain(v) if v is not None and not _is_container(v) else v
        if isinstance(v, float):
            return "NaN" if math.isnan(v) else f"{v:.6g}"
        text = repr(v) if isinstance(v, str) else str(v)
        return label(text if len(text) <= 80 else text[:77] + "...")

    return f"{label(repr(key))}: {show(t)} vs {show(s)}"


def _compare_numeric(
    a_all: Any, b_all: Any, pos_t: Any, pos_s: Any, keys: Any, tol: Any
) -> list[dict[str, Any]]:
    """Compare numeric features in blocks of rows: ``a_all``/``b_all`` are 2-D float arrays
    (rows x features) of each side, ``tol`` the features' tolerances."""
    import numpy as np

    k = a_all.shape[1]
    mismatches = np.zeros(k, dtype=np.int64)
    max_abs = np.full(k, np.nan)
    max_rel = np.full(k, np.nan)
    worst: list[list[tuple[float, int]]] = [[] for _ in range(k)]
    step = 1 << 16
    for start in range(0, len(pos_t), step):
        a = a_all[pos_t[start : start + step]]
        b = b_all[pos_s[start : start + step]]
        ok, diff = _close(a, b, tol)
        bad = ~ok
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            scale = np.abs(a)
            rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
            max_rel = np.fmax(max_rel, np.fmax.reduce(rel, axis=0))
            max_abs = np.fmax(max_abs, np.fmax.reduce(diff, axis=0))
        mismatches += bad.sum(axis=0)
        for j in np.flatnonzero(bad.any(axis=0)):
            rows = np.flatnonzero(bad[:, j])
            score = np.where(np.isfinite(diff[rows, j]), diff[rows, j], np.inf)
            top = rows[np.argsort(-score, kind="stable")[:MAX_EXAMPLES]]
            worst[j].extend((float(np.nan_to_num(diff[i, j], nan=np.inf)), start + i) for i in top)
    out = []
    for j in range(k):
        chosen = sorted(worst[j], key=lambda item: -item[0])[:MAX_EXAMPLES]
        examples = "; ".join(
            _example(keys[pos_t[i]], a_all[pos_t[i], j], b_all[pos_s[i], j]) for _, i in chosen
        )
        out.append(
            {
                "mismatches": int(mismatches[j]),
                "max abs diff": float(max_abs[j]),
                "max rel diff": float(max_rel[j]),
                "examples": examples or "-",
            }
        )
    return out


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _is_container(value: Any) -> bool:
    """A list, tuple, dict, set or array of one or more dimensions (not a numpy scalar)."""
    return isinstance(value, _CONTAINERS) or (
        hasattr(value, "__array__") and getattr(value, "ndim", 0) > 0
    )


def _cell_key(value: Any) -> Any:
    """A list, tuple, dict, set or array cell as a comparable value (exact)."""
    import numpy as np

    if isinstance(value, dict):
        return ("dict", sorted(((repr(k), _cell_key(v)) for k, v in value.items()), key=repr))
    if isinstance(value, set | frozenset):
        return ("set", sorted(map(repr, value)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_cell_key(v) for v in value])
    if hasattr(value, "__array__"):
        arr = np.asarray(value)
        if arr.dtype != object:
            return ("array", arr.dtype.str, arr.shape, arr.tobytes())
        return ("array", arr.shape, [_cell_key(v) for v in arr.ravel()])
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return value


def _cells_match(x: Any, y: Any, tol: float) -> bool:
    """Two cells of which at least one is a list, tuple, array, dict or set: numbers of
    the same shape match element by element within ``tol``; anything else exactly."""
    import numpy as np

    if not (_is_container(x) and _is_container(y)):
        return False
    if not isinstance(x, dict | set | frozenset) and not isinstance(y, dict | set | frozenset):
        try:
            ax, ay = np.asarray(x), np.asarray(y)
        except (ValueError, TypeError):  # ragged lists
            ax = ay = None
        if ax is not None and ax.dtype.kind in "biufc" and ay.dtype.kind in "biufc":
            if ax.shape != ay.shape:
                return False
            kind = complex if "c" in (ax.dtype.kind, ay.dtype.kind) else float
            ok, _ = _close(ax.astype(kind), ay.astype(kind), tol)
            return bool(np.all(ok))
    try:
        return bool(_cell_key(x) == _cell_key(y))
    except Exception:  # a cell whose equality cannot be told: it does not match
        return False


def _compare_values(
    t_col: Any, s_col: Any, pos_t: Any, pos_s: Any, keys: Any, tol: float
) -> dict[str, Any]:
    """Compare a non-numeric feature: equal values (missing matches missing only); list,
    tuple and array cells element by element."""
    import numpy as np

    pd = require("pandas", WHERE)
    a = t_col.to_numpy(dtype=object)[pos_t]
    b = s_col.to_numpy(dtype=object)[pos_s]
    na_a, na_b = pd.isna(a), pd.isna(b)
    differ = None
    if pd.api.types.infer_dtype(a, skipna=True) not in ("mixed", "unknown-array") and (
        pd.api.types.infer_dtype(b, skipna=True) not in ("mixed", "unknown-array")
    ):
        try:
            with np.errstate(invalid="ignore"):
                fast = np.asarray(a != b, dtype=bool)
            if fast.shape == a.shape:
                differ = fast
        except (ValueError, TypeError):
            differ = None
    if differ is None:  # cells that are lists, arrays, or compare oddly: one by one
        differ = np.zeros(len(a), dtype=bool)
        for i in np.flatnonzero(~na_a & ~na_b):
            x, y = a[i], b[i]
            if _is_container(x) or _is_container(y):
                differ[i] = not _cells_match(x, y, tol)
            else:
                try:
                    differ[i] = not bool(x == y)
                except Exception:
                    differ[i] = True
    bad = (na_a != na_b) | (~na_a & ~na_b & differ)
    worst = np.flatnonzero(bad)[:MAX_EXAMPLES]
    examples = "; ".join(_example(keys[pos_t[i]], a[i], b[i]) for i in worst)
    return {
        "mismatches": int(bad.sum()),
        "max abs diff": math.nan,
        "max rel diff": math.nan,
        "examples": examples or "-",
    }


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
        numeric = [
            c for c in wanted if _is_numeric(train[c].dtype) and _is_numeric(serve[c].dtype)
        ]
        found_rows: dict[Any, dict[str, Any]] = {}
        for part, dtype in ((False, np.float64), (True, np.complex128)):
            group = [
                c
                for c in numeric
                if (_is_complex(train[c].dtype) or _is_complex(serve[c].dtype)) == part
            ]
            if not group:
                continue
            compared_group = _compare_numeric(
                _numbers(_columns(train, group), dtype),
                _numbers(_columns(serve, group), dtype),
                pos_t,
                pos_s,
                idx_t,
                np.array([_tolerance(tolerance, c) for c in group], dtype=np.float64),
            )
            found_rows.update(zip(group, compared_group, strict=True))
        for col in wanted:
            compared = found_rows.get(col) or _compare_values(
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
