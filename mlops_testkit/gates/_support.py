"""What the statistical gates share: argument checks, bootstrap bounds, groups, pictures.

Imports only the standard library at the top; numpy and pandas inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._args import _scalar


def metric(metric: Any, where: str) -> tuple[Callable[[Any, Any], float], str, bool]:
    """``_metric_fn`` of the slices gate, with usage errors naming ``where``."""
    from mlops_testkit.gates.slices import _metric_fn

    try:
        return _metric_fn(metric)
    except MltkUsageError as exc:
        raise MltkUsageError(str(exc).replace("assert_slices", where, 1)) from None


def confidence(value: Any, where: str) -> float:
    """A confidence level in [0.5, 1) (numpy scalars welcome). Under 0.5 a "lower" bound
    lies above the estimate, so a gate that passes on its lower bound could pass on
    nothing; 1 would make every bound infinite."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.5 <= value < 1:
        raise MltkUsageError(
            f"{where}: confidence must be a number in [0.5, 1), got {value!r} (under 0.5 "
            "the one-sided bound crosses the estimate, so a gate could pass on noise; at 1 "
            "no bound is finite)"
        )
    return float(value)


def count(value: Any, name: str, where: str, minimum: int = 1, why: str = "") -> int:
    """An integer >= ``minimum`` (numpy integers welcome); ``why`` says why the minimum."""
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise MltkUsageError(
            f"{where}: {name} must be an integer >= {minimum}, got {value!r}"
            + (f" ({why})" if why else "")
        )
    return int(value)


# --- minimum evidence ----------------------------------------------------------------------

MIN_EXAMPLES = 30
"""The fewest examples a bootstrap interval (or a z-test) may be drawn from, per sample:
all examples of a calibration or baseline gate, each period of a staleness gate, each
group of a fairness gate, each slice (and its rest) of the weak-slice search, the paired
scores of assert_no_regression. Under it the resamples take a handful of values and the
interval shrinks to nothing: one example used to certify calibration."""


def enough(size: int, what: str, where: str, advice: str = "collect more data") -> None:
    """A usage error when ``size`` (of ``what``) is under :data:`MIN_EXAMPLES`."""
    if size < MIN_EXAMPLES:
        raise MltkUsageError(
            f"{where}: {what} has {size} example(s); an interval needs at least "
            f"{MIN_EXAMPLES} (with fewer the bootstrap resamples barely vary and the bounds "
            f"prove nothing): {advice}"
        )


def undefined(resampled: Any, what: str) -> str | None:
    """Why the resamples (one per row) cannot give an interval (some are NaN or
    infinite), or None.

    Resamples where the metric is undefined are never dropped: the bounds of the few
    defined ones would rest on a biased subset of the evidence."""
    import numpy as np

    arr = np.asarray(resampled, dtype=float)
    arr = arr.reshape(len(arr), -1) if arr.ndim else arr.reshape(1, 1)  # a row per resample
    bad = int((~np.isfinite(arr)).any(axis=1).sum())
    if not bad:
        return None
    return (
        f"no interval: {what} is undefined (NaN or infinite) on {bad} of {len(arr)} "
        "bootstrap resamples, too little evidence (roc_auc, for one, needs both classes "
        "in every resample): collect more data"
    )


LABEL_METRICS = ("accuracy", "precision", "recall", "f1")
BOUNDED = ("accuracy", "precision", "recall", "f1", "roc_auc")  # metrics in [0, 1]


def _odd(values: Any, allowed: tuple[float, ...] | None) -> Any:
    """The finite values that are not integers (``allowed`` None) or not in ``allowed``;
    NaN and infinities are judged by the caller."""
    import numpy as np

    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    bad = arr != np.round(arr) if allowed is None else ~np.isin(arr, allowed)
    return np.unique(arr[bad])


def labels(metric_name: str, y_true: Any, y_pred: Any, where: str, pred: str = "y_pred") -> None:
    """Refuse scores where ``metric_name`` compares labels: accuracy needs integer
    labels on both sides, precision, recall and f1 need 0/1, roc_auc 0/1 in ``y_true``.
    Scores would make every prediction "wrong" and every slice, period or model equal,
    so a gate comparing them would pass on nothing. Non-numeric labels are left as they
    are (they compare as labels)."""
    import numpy as np

    def numeric(a: Any) -> bool:
        return np.asarray(a).dtype.kind in "biuf"

    sides = (("y_true", y_true), (pred, y_pred))
    if metric_name in LABEL_METRICS:
        for name, values in sides:
            odd = _odd(values, None) if numeric(values) else ()
            if len(odd):
                raise MltkUsageError(
                    f"{where}: found scores (e.g. {odd[0]:.4g}) in {name} where metric "
                    f"{metric_name!r} compares labels; threshold them first, e.g. "
                    "(scores >= 0.5).astype(int), or use a metric for scores"
                )
    binary_sides = {"precision": 2, "recall": 2, "f1": 2, "roc_auc": 1}.get(metric_name, 0)
    for name, values in sides[:binary_sides]:
        odd = _odd(values, (0.0, 1.0)) if numeric(values) else ()
        if len(odd):
            raise MltkUsageError(
                f"{where}: {name} must hold 0/1 labels for metric {metric_name!r}, found "
                + ", ".join(f"{v:g}" for v in odd[:5])
            )


def vector(values: Any, name: str, where: str, n: int | None = None, numeric: bool = True) -> Any:
    """A 1-D numpy array (floats if ``numeric``), non-empty, of length ``n`` if given."""
    import numpy as np

    if values is None:
        raise MltkUsageError(f"{where}: {name} is required, got None")
    try:
        arr = np.asarray(values, dtype=float if numeric else object)
    except (TypeError, ValueError):
        raise MltkUsageError(
            f"{where}: {name} must be a sequence of numbers, got {type(values).__name__}"
        ) from None
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise MltkUsageError(
            f"{where}: {name} must be a non-empty 1-D sequence, got shape {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise MltkUsageError(f"{where}: {name} has {arr.shape[0]} entries for {n} examples")
    if numeric and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise MltkUsageError(f"{where}: {name} contains {bad} NaN or infinite value(s)")
    return arr


def binary(values: Any, name: str, where: str) -> Any:
    """``values`` (a float array) as 0/1, or a usage error quoting what else is in it."""
    import numpy as np

    bad = ~np.isin(values, (0.0, 1.0))
    if bad.any():
        shown = ", ".join(f"{v:g}" for v in np.unique(values[bad])[:5])
        raise MltkUsageError(f"{where}: {name} must hold 0/1 labels or decisions, found {shown}")
    return values.astype(np.int8)


def bounds(estimate: float, resampled: Any, confidence: float) -> tuple[float, float]:
    """The basic (reverse-percentile) bootstrap bounds, each one-sided at ``confidence``.

    A maximum, a gap between extremes or a calibration error is biased upward, and its
    bootstrap copies are biased once more: reflecting the quantiles around the estimate
    takes one bias away, so a bound on a quantity that sits at the bar exceeds it at
    about the nominal rate (the percentile bounds would exceed it far more often).
    A NaN or infinite resample makes both bounds NaN: it is never dropped.
    """
    import numpy as np

    resampled = np.asarray(resampled, dtype=float)
    if not len(resampled) or not np.isfinite(resampled).all() or not math.isfinite(estimate):
        return math.nan, math.nan
    alpha = 1 - confidence
    lo_q, hi_q = np.quantile(resampled, [alpha, 1 - alpha])
    return float(2 * estimate - hi_q), float(2 * estimate - lo_q)


def percentile(resampled: Any, confidence: float) -> tuple[float, float]:
    """The percentile bootstrap bounds, each one-sided at ``confidence``; NaN when any
    resample is NaN or infinite (never dropped)."""
    import numpy as np

    resampled = np.asarray(resampled, dtype=float)
    if not len(resampled) or not np.isfinite(resampled).all():
        return math.nan, math.nan
    alpha = 1 - confidence
    lo, hi = np.quantile(resampled, [alpha, 1 - alpha])
    return float(lo), float(hi)


def columns(data: Any, name: str, where: str, n: int | None = None) -> dict[str, Any]:
    """Named columns from a DataFrame, a mapping, a Series, a 1-D or a 2-D sequence."""
    import numpy as np

    pd = _pandas()
    raw: list[Any] = []
    if pd is not None and isinstance(data, pd.DataFrame):
        raw = list(data.columns)
        cols = {str(c): data.iloc[:, i] for i, c in enumerate(raw)}
    elif isinstance(data, Mapping):
        raw = list(data)
        cols = {str(k): v for k, v in data.items()}
    elif pd is not None and isinstance(data, pd.Series):
        cols = {str(data.name) if data.name is not None else name: data}
    else:
        if data is None:
            raise MltkUsageError(f"{where}: {name} is required, got None")
        arr = np.asarray(data, dtype=object)
        if arr.ndim == 1:
            cols = {name: arr}
        elif arr.ndim == 2:
            cols = {f"{name}[{i}]": arr[:, i] for i in range(arr.shape[1])}
        else:
            raise MltkUsageError(f"{where}: {name} must be 1-D or 2-D, got shape {arr.shape}")
    if not cols:
        raise MltkUsageError(f"{where}: {name} has no columns")
    if len(cols) < len(raw):
        seen: dict[str, list[Any]] = {}
        for key in raw:
            seen.setdefault(str(key), []).append(key)
        clash = next(keys for keys in seen.values() if len(keys) > 1)
        raise MltkUsageError(
            f"{where}: {name} has {len(clash)} columns named {str(clash[0])!r} as text "
            f"({', '.join(repr(k) for k in clash)}); columns are shown by name, so each "
            "would hide the other: rename one"
        )
    for key, col in cols.items():
        length = len(col)
        if n is not None and length != n:
            raise MltkUsageError(
                f"{where}: {name} column {key!r} has {length} entries for {n} examples"
            )
    return cols


def codes(values: Any) -> tuple[Any, list[str]]:
    """Integer codes and their labels; missing values (NaN, None) are one group, "NaN"."""
    import numpy as np

    pd = _pandas()
    if pd is not None:
        series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
        if isinstance(series.dtype, pd.CategoricalDtype):
            raw = series.cat.codes.to_numpy()
            cats = [str(c) for c in series.cat.categories]
            used = np.unique(raw)
            labels = ["NaN" if u < 0 else cats[u] for u in used]
            return np.searchsorted(used, raw), labels
        try:
            coded, uniques = pd.factorize(series, use_na_sentinel=True, sort=True)
        except TypeError:  # list, array, dict or set cells cannot be hashed
            from mlops_testkit import MltkUsageError

            raise MltkUsageError(
                f"{series.name if series.name is not None else 'a group column'!r} holds "
                "cells that are not single values (lists, arrays, dicts or sets): a group "
                "needs one hashable value per example; expand or drop the column"
            ) from None
        labels = [str(u) for u in uniques]
        if (coded < 0).any():
            coded = np.where(coded < 0, len(labels), coded)
            labels.append("NaN")
        return coded.astype(np.int64), labels
    arr = np.asarray(values, dtype=object)  # pragma: no cover - pandas is installed with data
    missing = np.array([v is None or (isinstance(v, float) and v != v) for v in arr])
    shown = np.where(missing, "NaN", arr.astype(str))
    labels, coded = np.unique(shown, return_inverse=True)
    return coded.astype(np.int64), [str(x) for x in labels]


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with the data extra
        return None
    return pd


# --- pictures ------------------------------------------------------------------------------


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or None without matplotlib."""
    from mlops_testkit.reporting import plots

    return plots._matplotlib()


def png(plt: Any, fig: Any) -> str:
    """The figure as base64 PNG; the figure is closed."""
    from mlops_testkit.reporting import plots

    return plots._png(plt, fig)


def bar(value: float, top: float, width: int = 24) -> str:
    """A text bar: ``value`` of ``top`` as filled cells."""
    if not math.isfinite(value) or top <= 0:
        return "·" * width
    filled = max(0, min(width, round(width * value / top)))
    return "█" * filled + "·" * (width - filled)


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table cell; '-' for None or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def interval(lo: Any, hi: Any) -> str:
    return f"[{fmt(lo)}, {fmt(hi)}]"
