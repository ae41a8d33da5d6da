"""Tabular perturbations: each returns a :class:`Perturbation` of a whole DataFrame,
vectorised, giving a frame of the same length (one variant per call)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.behavioral.perturb.base import Chooser, Perturbation, Variant


def _frame(x: Any, columns: Sequence[str], name: str) -> Any:
    import pandas as pd

    if not isinstance(x, pd.DataFrame):
        raise MltkUsageError(f"{name}: expected a pandas DataFrame, got {type(x).__name__}")
    missing = [c for c in columns if c not in x.columns]
    if missing:
        raise MltkUsageError(f"{name}: column(s) {missing} not in the frame ({list(x.columns)})")
    return x


def _columns(columns: str | Sequence[str]) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _numbers(frame: Any, column: Any, name: str) -> Any:
    """The column as float64 (missing values as NaN); a column that does not hold numbers
    (text, dates, booleans, complex numbers, a name used twice) is a usage error naming it."""
    import numpy as np
    import pandas as pd

    series = frame[column]
    if isinstance(series, pd.DataFrame):
        raise MltkUsageError(
            f"{name}: column {column!r} appears {series.shape[1]} times in the frame; "
            "give the columns unique names"
        )
    dtype = series.dtype
    kind = getattr(dtype, "kind", "O")
    text = isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)
    if (
        text
        or pd.api.types.is_bool_dtype(dtype)
        or kind in "cmMUSb"
        or not (pd.api.types.is_numeric_dtype(dtype) or kind == "O")
    ):
        raise MltkUsageError(
            f"{name}: column {column!r} holds {dtype} values, not numbers; {name} changes "
            "numeric columns (swap_category changes a categorical one)"
        )
    try:
        values = series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise MltkUsageError(
            f"{name}: column {column!r} ({dtype}) holds values that are not numbers: {exc}"
        ) from None
    return values


def _positive(value: Any, what: str, name: str) -> float:
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise MltkUsageError(f"{name}: {what} must be a number > 0, got {value!r}")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise MltkUsageError(f"{name}: {what} must be a finite number > 0, got {value!r}")
    return float(value)


def jitter(
    columns: str | Sequence[str], scale: float = 0.01, *, relative: bool = True
) -> Perturbation:
    """Add uniform noise within +-``scale`` (a share of each value if ``relative``)."""
    cols = _columns(columns)
    scale = _positive(scale, "scale", "jitter")
    if not isinstance(relative, bool):
        raise MltkUsageError(f"jitter: relative must be True or False, got {relative!r}")

    def fn(frame: Any, chooser: Chooser) -> Variant:
        import numpy as np

        frame = _frame(frame, cols, "jitter")
        rng = np.random.default_rng(chooser.seed())
        out = frame.copy()
        for col in cols:
            noise = rng.uniform(-scale, scale, len(out))
            values = _numbers(out, col, "jitter")
            out[col] = values * (1 + noise) if relative else values + noise
        kind = f"{scale:.0%}" if relative else f"{scale:g}"
        return Variant(out, f"jitter {', '.join(cols)} by +-{kind}")

    return Perturbation(fn, "jitter", tabular=True)


def _shift(
    column: str, by: float | None, factor: float | None, sign: int, name: str
) -> Perturbation:
    if (by is None) == (factor is None):
        raise MltkUsageError(f"{name}: pass exactly one of by= (an amount) or factor= (a ratio)")
    if by is not None:
        by = _positive(by, "by", name)
    if factor is not None:
        factor = _positive(factor, "factor", name)

    def fn(frame: Any, chooser: Chooser) -> Variant:
        frame = _frame(frame, [column], name)
        out = frame.copy()
        values = _numbers(out, column, name)
        if by is not None:
            out[column] = values + sign * by
            what = f"{'+' if sign > 0 else '-'}{by:g}"
        else:
            ratio = factor if sign > 0 else 1 / factor  # type: ignore[operator]
            out[column] = values * ratio
            what = f"x {ratio:.3g}"
        return Variant(out, f"{column} {what}")

    return Perturbation(fn, f"{name}({column})", tabular=True)


def increase(column: str, *, by: float | None = None, factor: float | None = None) -> Perturbation:
    """Raise ``column`` by an amount (``by=``) or a ratio (``factor=1.1`` is +10%)."""
    return _shift(column, by, factor, +1, "increase")


def decrease(column: str, *, by: float | None = None, factor: float | None = None) -> Perturbation:
    """Lower ``column`` by an amount (``by=``) or a ratio (``factor=1.1`` divides by 1.1)."""
    return _shift(column, by, factor, -1, "decrease")


def swap_category(
    column: str, values: Sequence[Any] | Mapping[Any, Any] | None = None
) -> Perturbation:
    """Replace each row's category by another: from a mapping old -> new, or at random
    among ``values`` (default: the column's categories)."""

    def fn(frame: Any, chooser: Chooser) -> Variant:
        import numpy as np
        import pandas as pd

        frame = _frame(frame, [column], "swap_category")
        out = frame.copy()
        series = out[column]
        if isinstance(values, Mapping):
            out[column] = series.map(lambda v: values.get(v, v)).astype(series.dtype)
            return Variant(out, f"{column}: {dict(values)}")
        if values is not None:
            pool = list(values)
        elif isinstance(series.dtype, pd.CategoricalDtype):
            pool = list(series.cat.categories)
        else:
            pool = list(pd.unique(series.dropna()))
        if len(pool) < 2:
            raise MltkUsageError(f"swap_category: column {column!r} needs at least two values")
        rng = np.random.default_rng(chooser.seed())
        codes = pd.Series(pd.Categorical(series, categories=pool).codes)
        shift = rng.integers(1, len(pool), size=len(series))
        new_codes = np.where(codes >= 0, (codes + shift) % len(pool), -1)
        new = pd.Categorical.from_codes(new_codes, categories=pool)
        out[column] = (
            pd.Series(new, index=out.index).astype(series.dtype)
            if not isinstance(series.dtype, pd.CategoricalDtype)
            else pd.Series(pd.Categorical(new, categories=series.cat.categories), index=out.index)
        )
        return Variant(out, f"{column}: another category")

    return Perturbation(fn, f"swap_category({column})", tabular=True)
