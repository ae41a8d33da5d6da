"""The pandas backend of the data checks: what a pandas DataFrame gives them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.data.backends import EXACT_UP_TO, Backend
from mlops_testkit.data.drift_stats import MISSING
from mlops_testkit.extras import require

# --- argument checking -----------------------------------------------------------------------


def check_unique_columns(frame: Any, name: str, where: str) -> None:
    """Refuse a frame whose column names repeat: a column must mean one thing."""
    from collections import Counter

    # NaN names are all one name (NaN != NaN would hide the repeat)
    keys = ["(NaN)" if isinstance(c, float) and c != c else c for c in frame.columns]
    repeated = [c for c, n in Counter(keys).items() if n > 1]
    if repeated:
        raise MltkUsageError(
            f"{where}: {name} has duplicate column names {[str(c) for c in repeated][:10]}; "
            "rename them so each column has one name"
        )


def _as_pandas(frame: Any, name: str) -> Any:
    pd = require("pandas", "drift_report")
    if isinstance(frame, pd.DataFrame):
        if frame.empty or len(frame) == 0:
            raise MltkUsageError(f"drift_report: {name} is an empty DataFrame (no rows)")
        check_unique_columns(frame, name, "drift_report")
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


def _numeric_values(series: Any) -> Any:
    import numpy as np

    pd = require("pandas", "drift_report")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        values = series.to_numpy(dtype="datetime64[ns]").astype("int64").astype(np.float64)
        values[series.isna().to_numpy()] = np.nan
    else:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = values[np.isfinite(values)]  # +-inf is no measurement: counted with missing
    values.sort()
    return values


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)  # lists, dicts, sets: counted by their text
    return value


def _counts(series: Any) -> dict[Any, int]:
    try:
        return _count(series)
    except TypeError:  # unhashable cells
        return _count(series.astype(object).map(_hashable))


def _count(series: Any) -> dict[Any, int]:
    counts = series.value_counts(dropna=False, sort=False)
    out: dict[Any, int] = {}
    for key, value in counts.items():
        label = MISSING if _is_missing(key) else key
        out[label] = out.get(label, 0) + int(value)
    return {k: v for k, v in out.items() if v}


def _is_missing(value: Any) -> bool:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):
        return False


# --- the backend: a pandas DataFrame in memory, exact values --------------------------------


class PandasBackend(Backend):
    """A pandas DataFrame: every statistic is computed from its exact values."""

    engine = "pandas"
    rank = 0

    def __init__(self, obj: Any, name: str, where: str) -> None:
        super().__init__(obj, name, where)
        check_unique_columns(obj, name, where)  # rows: the checks apply has_rows to every engine
        self.columns = list(obj.columns)

    def has(self, column: Any) -> bool:
        try:
            return column in self.obj.columns
        except TypeError:  # an unhashable name
            return False

    def n_rows(self) -> int:
        return len(self.obj)

    def kind(self, column: Any) -> tuple[str, str]:
        pd = require("pandas", self.where)
        api, dtype = pd.api.types, self.obj.dtypes[column]
        numeric = not api.is_bool_dtype(dtype) and (
            api.is_numeric_dtype(dtype) or api.is_datetime64_any_dtype(dtype)
        )
        return ("numeric" if numeric else "categorical"), str(dtype)

    def all_missing(self, column: Any) -> bool:
        return bool(self.obj[column].isna().all())

    def values(self, columns: list[Any]) -> dict[Any, Any]:
        if len(self.obj) > EXACT_UP_TO and len(columns) > 1:
            from concurrent.futures import ThreadPoolExecutor

            # numpy sorts without the GIL: two threads use both cores
            with ThreadPoolExecutor(max_workers=2) as pool:
                sorted_ = list(pool.map(lambda c: _numeric_values(self.obj[c]), columns))
            return dict(zip(columns, sorted_, strict=True))
        return {c: _numeric_values(self.obj[c]) for c in columns}

    def sample(self, columns: list[Any], size: int) -> dict[Any, Any]:
        return self.values(columns)

    def binned(self, grids: dict[Any, Any]) -> dict[Any, Any]:
        from mlops_testkit.data.sketch import bin_values

        out = {}
        for col, values in self.values(list(grids)).items():
            out[col] = bin_values(grids[col], values)
            out[col].missing = len(self.obj) - out[col].finite
        return out

    def categories(self, columns: list[Any]) -> dict[Any, Any]:
        return {c: _counts(self.obj[c]) for c in columns}

    def adopt(self, other: Backend) -> Any:
        if other.engine != "pandas":
            raise MltkUsageError(
                f"{self.where}: a pandas {self.name} cannot take a {other.engine} {other.name}"
            )
        return other.obj
