"""How :mod:`mlops_testkit.data.skew` compares the cells of one feature, training against
serving: numbers within a tolerance (absolute near zero, relative for large values; an
infinity matches only itself; complex numbers by the modulus of the difference), list,
tuple and array cells element by element, anything else by equality, missing matching
missing only. Numeric features are compared in blocks of rows, vectorised; the others
value by value. Imports only the standard library at the top.
"""

from __future__ import annotations

import math
from typing import Any

from mlops_testkit._checks import label
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import plain

WHERE = "skew_report"
MAX_EXAMPLES = 3


def is_numeric(dtype: Any) -> bool:
    api = require("pandas", WHERE).api.types
    return bool(api.is_numeric_dtype(dtype) or api.is_bool_dtype(dtype)) and not (
        isinstance(getattr(dtype, "name", None), str) and dtype.name == "category"
    )


def is_complex(dtype: Any) -> bool:
    return bool(require("pandas", WHERE).api.types.is_complex_dtype(dtype))


def as_numbers(frame: Any, dtype: Any) -> Any:
    import numpy as np

    return frame.to_numpy(dtype=dtype, na_value=np.nan)


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


def compare_numeric(
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


def compare_values(
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
