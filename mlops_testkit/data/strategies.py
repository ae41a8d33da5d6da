"""Hypothesis strategies from pandera schemas: property tests of feature code.

``frames(schema)`` builds each column directly from its dtype and its checks (bounds,
allowed values, string lengths and patterns, uniqueness, nullability), so nearly every
generated frame is valid without filtering: that is what makes it fast where pandera's
own strategies chain filters check by check. Checks it cannot translate (custom
functions, dataframe-wide checks) are enforced by validating each frame and rejecting
the invalid ones, so every frame it returns satisfies the schema.

Generated values: integers span their dtype (or the checks' bounds), floats are finite
(NaN only where the column is nullable), strings are any Unicode text unless checks
narrow them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.data.schema import _as_schema
from mlops_testkit.extras import require

BOUND_CHECKS = {
    "greater_than": ("min", False),
    "greater_than_or_equal_to": ("min", True),
    "less_than": ("max", False),
    "less_than_or_equal_to": ("max", True),
}
STRING_CHECKS = ("str_length", "str_matches", "str_startswith", "str_endswith", "str_contains")
KNOWN_CHECKS = (*BOUND_CHECKS, "in_range", "equal_to", "isin", "notin", *STRING_CHECKS)
DEFAULT_SIZE = (1, 30)

Plan = Callable[[Callable[[Any], Any], int], Any]


class _Constraints:
    """What the checks of one column say about its values."""

    def __init__(self, column: Any, where: str) -> None:
        self.lo: Any = None
        self.hi: Any = None
        self.lo_inclusive = True
        self.hi_inclusive = True
        self.allowed: list[Any] | None = None
        self.forbidden: list[Any] = []
        self.string: dict[str, Any] = {}
        self.unknown = False
        for check in column.checks:
            stats = dict(getattr(check, "statistics", None) or {})
            name = getattr(check, "name", None)
            if name in BOUND_CHECKS:
                side, inclusive = BOUND_CHECKS[name]
                value = stats.get("min_value" if side == "min" else "max_value")
                self._bound(side, value, inclusive)
            elif name == "in_range":
                self._bound("min", stats["min_value"], stats.get("include_min", True))
                self._bound("max", stats["max_value"], stats.get("include_max", True))
            elif name == "equal_to":
                self.allowed = self._intersect([stats["value"]])
            elif name == "isin":
                self.allowed = self._intersect(list(stats["allowed_values"]))
            elif name == "notin":
                self.forbidden += list(stats["forbidden_values"])
            elif name in STRING_CHECKS:
                self.string[name] = stats
            else:
                self.unknown = True

    def _bound(self, side: str, value: Any, inclusive: bool) -> None:
        if side == "min" and (self.lo is None or value >= self.lo):
            self.lo, self.lo_inclusive = value, inclusive and not (
                value == self.lo and not self.lo_inclusive
            )
        if side == "max" and (self.hi is None or value <= self.hi):
            self.hi, self.hi_inclusive = value, inclusive and not (
                value == self.hi and not self.hi_inclusive
            )

    def _intersect(self, values: list[Any]) -> list[Any]:
        return values if self.allowed is None else [v for v in values if v in self.allowed]


def _int_range(dtype: Any, c: _Constraints) -> tuple[int, int]:
    """The integers the checks allow, within the dtype (bounds inclusive)."""
    import numpy as np

    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)
    if c.lo is not None:
        lo = max(lo, int(np.ceil(c.lo)) + (0 if c.lo_inclusive or c.lo != int(c.lo) else 1))
    if c.hi is not None:
        hi = min(hi, int(np.floor(c.hi)) - (0 if c.hi_inclusive or c.hi != int(c.hi) else 1))
    return lo, hi


def _elements(kind: str, dtype: Any, c: _Constraints, name: str) -> Any:
    import numpy as np

    st = require("hypothesis.strategies", "frames")
    if c.allowed is not None:
        values = [v for v in c.allowed if v not in c.forbidden]
        if not values:
            raise MltkUsageError(f"frames: column {name!r} allows no value (isin/notin/equal_to)")
        return st.sampled_from(values)
    if kind == "int":
        lo, hi = _int_range(dtype, c)
        if lo > hi:
            raise MltkUsageError(f"frames: column {name!r} has an empty range [{c.lo}, {c.hi}]")
        strategy = st.integers(lo, hi)
    elif kind == "float":
        strategy = st.floats(
            min_value=None if c.lo is None else float(c.lo),
            max_value=None if c.hi is None else float(c.hi),
            exclude_min=c.lo is not None and not c.lo_inclusive,
            exclude_max=c.hi is not None and not c.hi_inclusive,
            allow_nan=False,
            allow_infinity=False,
            width=32 if np.dtype(dtype).itemsize == 4 else 64,
        )
    elif kind == "bool":
        strategy = st.booleans()
    elif kind == "datetime":
        import datetime as dt

        lo = dt.datetime(1970, 1, 1) if c.lo is None else _to_datetime(c.lo)
        hi = dt.datetime(2100, 1, 1) if c.hi is None else _to_datetime(c.hi)
        strategy = st.datetimes(min_value=lo, max_value=hi)
    else:
        strategy = _text(c, name)
    if kind in ("int", "float"):
        # Boundary values, and zero, are where numeric bugs live (off-by-one, division
        # by zero): offer them as often as everything else hypothesis draws.
        edges = _numeric_edges(kind, dtype, c)
        if edges:
            strategy = st.one_of(st.sampled_from(edges), strategy)
    if c.forbidden:
        forbidden = set(c.forbidden)
        strategy = strategy.filter(lambda v: v not in forbidden)
    return strategy


def _numeric_edges(kind: str, dtype: Any, c: _Constraints) -> list[Any]:
    """The inclusive bounds of a numeric column and zero, where allowed."""
    if kind == "int":
        lo, hi = _int_range(dtype, c)
        candidates = [lo, hi, 0]
        inside = [v for v in candidates if lo <= v <= hi]
    else:
        lo = None if c.lo is None else float(c.lo)
        hi = None if c.hi is None else float(c.hi)
        candidates = [v for v in (lo, hi, 0.0) if v is not None]

        def allowed(v: float) -> bool:
            above = lo is None or v > lo or (v == lo and c.lo_inclusive)
            below = hi is None or v < hi or (v == hi and c.hi_inclusive)
            return above and below

        import numpy as np

        exact = [v for v in candidates if float(np.asarray(v, dtype=dtype)) == v]
        inside = [v for v in exact if allowed(v)]  # float32 bounds must be exact in float32
    return list(dict.fromkeys(inside))


def _to_datetime(value: Any) -> Any:
    import pandas as pd

    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None)


def _text(c: _Constraints, name: str) -> Any:
    st = require("hypothesis.strategies", "frames")
    chars = st.characters(codec="utf-8", exclude_categories=("Cs",))
    s = c.string
    if "str_matches" in s:
        pattern = s["str_matches"].get("pattern")
        pattern = getattr(pattern, "pattern", pattern)
        strategy = st.from_regex(pattern if pattern.startswith("^") else "^" + pattern)
    else:
        length = s.get("str_length", {})
        exact = length.get("exact_value")
        lo = exact if exact is not None else (length.get("min_value") or 0)
        hi = exact if exact is not None else length.get("max_value")
        prefix = s.get("str_startswith", {}).get("string", "")
        suffix = s.get("str_endswith", {}).get("string", "")
        middle = s.get("str_contains", {}).get("pattern", "")
        fixed = len(prefix) + len(suffix) + len(middle)
        body_hi = None if hi is None else hi - fixed
        if body_hi is not None and body_hi < 0:
            raise MltkUsageError(f"frames: column {name!r}: string checks cannot all hold")
        body = st.text(
            chars, min_size=max(0, lo - fixed), max_size=body_hi if body_hi is not None else 12
        )
        strategy = body.map(lambda t: prefix + middle + t + suffix)
    if "str_length" in s and "str_matches" in s:
        length = s["str_length"]
        lo, hi = length.get("min_value") or 0, length.get("max_value")
        strategy = strategy.filter(lambda t: len(t) >= lo and (hi is None or len(t) <= hi))
    return strategy


def _kind(dtype: Any) -> str:
    import numpy as np
    import pandas as pd

    api = pd.api.types
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if api.is_bool_dtype(dtype):
        return "bool"
    if api.is_integer_dtype(dtype):
        return "int"
    if api.is_float_dtype(dtype):
        return "float"
    if api.is_datetime64_any_dtype(dtype):
        return "datetime"
    if api.is_string_dtype(dtype) or dtype == np.dtype(object):
        return "str"
    return "unsupported"


def _bulk(kind: str, dtype: Any, c: _Constraints, rng: Any, n: int) -> Any:
    """n values satisfying the constraints, drawn at once from a numpy generator."""
    import numpy as np

    if c.allowed is not None:
        values = [v for v in c.allowed if v not in c.forbidden]
        return np.array(values, dtype=object)[rng.integers(0, len(values), n)].tolist()
    if kind == "int":
        lo, hi = _int_range(dtype, c)
        if c.lo is None and c.hi is None:  # mostly small numbers, like real data
            lo, hi = max(lo, -1000), min(hi, 1000)
        return rng.integers(lo, hi, size=n, dtype=np.dtype(dtype), endpoint=True)
    if kind == "float":
        lo = None if c.lo is None else float(c.lo)
        hi = None if c.hi is None else float(c.hi)
        if lo is not None and hi is not None:
            values = rng.uniform(lo, hi, n)
        elif lo is not None:
            values = lo + rng.exponential(100.0, n)
        elif hi is not None:
            values = hi - rng.exponential(100.0, n)
        else:
            values = rng.standard_normal(n) * 10.0 ** rng.integers(-2, 4, n)
        if lo is not None and not c.lo_inclusive:
            values = np.where(values <= lo, np.nextafter(lo, np.inf), values)
        if hi is not None and not c.hi_inclusive:
            values = np.where(values >= hi, np.nextafter(hi, -np.inf), values)
        return values.astype(dtype)
    if kind == "bool":
        return rng.random(n) < 0.5
    if kind == "datetime":
        lo = np.datetime64("1970-01-01", "ns") if c.lo is None else np.datetime64(c.lo, "ns")
        hi = np.datetime64("2100-01-01", "ns") if c.hi is None else np.datetime64(c.hi, "ns")
        ints = rng.integers(lo.astype(np.int64), hi.astype(np.int64), size=n, endpoint=True)
        return ints.astype("datetime64[ns]")
    return _bulk_text(c, rng, n)


ALPHABET = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.éßø中ü")


def _bulk_text(c: _Constraints, rng: Any, n: int) -> list[str]:
    s = c.string
    length = s.get("str_length", {})
    exact = length.get("exact_value")
    prefix = s.get("str_startswith", {}).get("string", "")
    suffix = s.get("str_endswith", {}).get("string", "")
    middle = s.get("str_contains", {}).get("pattern", "")
    fixed = len(prefix) + len(suffix) + len(middle)
    lo = (exact if exact is not None else (length.get("min_value") or 0)) - fixed
    hi = (exact if exact is not None else (length.get("max_value") or lo + fixed + 12)) - fixed
    sizes = rng.integers(max(0, lo), max(0, hi), size=n, endpoint=True)
    letters = rng.integers(0, len(ALPHABET), size=int(sizes.sum()))
    out, start = [], 0
    for size in sizes:
        body = "".join(ALPHABET[k] for k in letters[start : start + size])
        start += size
        out.append(prefix + middle + body + suffix)
    return out


def _repair(
    values: Any, bad: Callable[[Any], Any], regenerate: Callable[[int], Any], np_dtype: Any
) -> Any:
    """Redraw the values ``bad`` flags (duplicates, forbidden values, values failing a
    check frames() cannot translate) until none is left; reject the example if that
    takes too long."""
    import numpy as np
    import pandas as pd

    series = pd.Series(values, dtype=np_dtype)
    for _ in range(25):
        mask = np.asarray(bad(series), dtype=bool)
        if not mask.any():
            return series
        series[mask] = np.asarray(regenerate(int(mask.sum())), dtype=np_dtype)
    require("hypothesis", "frames").assume(False)
    return series


def _check_mask(check: Any, data: Any) -> Any:
    """Where a pandera check fails on ``data`` (a boolean array, or a scalar)."""
    import numpy as np

    output = check(data).check_output
    if hasattr(output, "to_numpy"):
        if getattr(output, "ndim", 1) == 2:
            output = output.all(axis=1)
        return ~output.to_numpy(dtype=bool, na_value=True)
    return np.full(len(data), not bool(output))


def _plan(name: str, column: Any) -> tuple[Plan, bool]:
    """A function (draw, n) -> column values, and whether rows must be validated."""
    import numpy as np
    import pandas as pd

    st = require("hypothesis.strategies", "frames")
    if getattr(column, "regex", False):
        raise MltkUsageError(f"frames: regex column {name!r} is not supported; name the columns")
    dtype = getattr(getattr(column, "dtype", None), "type", None)
    if dtype is None:
        raise MltkUsageError(f"frames: column {name!r} has no dtype; give it one in the schema")
    kind = _kind(dtype)
    if kind == "unsupported":
        raise MltkUsageError(
            f"frames: column {name!r} has dtype {dtype}, which frames() cannot generate; "
            "supported: integers, floats, bool, strings, category, datetime64"
        )
    constraints = _Constraints(column, "frames")
    if kind == "category" and constraints.allowed is None:
        categories = getattr(dtype, "categories", None)
        if categories is not None and len(categories):
            constraints.allowed = list(categories)
    value_kind = "str" if kind == "category" else kind
    # pandas extension dtypes (Int64, boolean, string) hold missing values; numpy int and
    # bool columns cannot, so a nullable int64 column never gets any.
    extension = pd.api.types.is_extension_array_dtype(dtype) and kind != "category"
    holds_missing = extension or kind in ("float", "str", "category", "datetime")
    np_dtype = getattr(dtype, "numpy_dtype", dtype) if kind != "str" else object
    elements = _elements(value_kind, np_dtype, constraints, name)
    unique, nullable = bool(getattr(column, "unique", False)), bool(column.nullable)
    slow_strings = value_kind == "str" and "str_matches" in constraints.string
    seeds = st.integers(0, 2**32 - 1)
    null_shares = st.sampled_from([0.0, 0.2, 0.6])

    custom = [ch for ch in column.checks if getattr(ch, "name", None) not in KNOWN_CHECKS]
    forbidden = list(constraints.forbidden)

    def bad(series: Any) -> Any:
        mask = series.duplicated().to_numpy() if unique else np.zeros(len(series), bool)
        if forbidden:
            mask |= series.isin(forbidden).to_numpy()
        for check in custom:
            mask |= _check_mask(check, series)
        return mask

    def plan(draw: Callable[[Any], Any], n: int) -> Any:
        if slow_strings:  # a regex: only hypothesis can generate it
            values = draw(st.lists(elements, min_size=n, max_size=n, unique=unique))
        else:
            rng = np.random.default_rng(draw(seeds))
            values = list(_bulk(value_kind, np_dtype, constraints, rng, n))
            # hypothesis places a few edge values (bounds, empty strings, odd
            # characters) where it likes: they are what it searches and shrinks.
            for _ in range(draw(st.integers(0, min(3, n)))):
                values[draw(st.integers(0, n - 1))] = draw(elements)
            if unique or forbidden or custom:
                values = _repair(
                    values,
                    bad,
                    lambda k: _bulk(value_kind, np_dtype, constraints, rng, k),
                    np_dtype,
                ).tolist()
        if nullable and holds_missing and n:
            share = draw(null_shares)
            if share:
                mask = np.random.default_rng(draw(seeds)).random(n) < share
                values = pd.Series(values, dtype=object)
                values[mask] = None
        if kind == "category":
            return pd.Categorical(values, categories=constraints.allowed)
        if kind == "datetime":
            return pd.to_datetime(pd.Series(values, dtype=object)).astype(dtype)
        if kind == "str":
            return pd.Series(values, dtype=dtype if extension else object)
        return pd.Series(values, dtype=object if extension else None).astype(dtype)

    return plan, constraints.unknown


def frames(schema: Any, *, size: int | tuple[int, int] = DEFAULT_SIZE) -> Any:
    """A hypothesis strategy of pandas DataFrames that satisfy a pandera schema.

    ``size`` is a row count or a ``(min, max)`` range (default 1 to 30 rows).

    Example::

        from hypothesis import given

        @given(frames(RawSchema, size=(1, 50)))
        def test_features_keep_their_contract(raw):
            assert_schema(build_features(raw), FeaturesSchema)
    """
    import numpy as np
    import pandas as pd

    st = require("hypothesis.strategies", "frames")
    hypothesis = require("hypothesis", "frames")
    schema = _as_schema(schema, "frames")
    if not type(schema).__module__.startswith("pandera.api.pandas"):
        raise MltkUsageError("frames: only pandas schemas are supported (pandera.pandas)")
    if isinstance(size, int) and not isinstance(size, bool):
        if size < 0:
            raise MltkUsageError(f"frames: size must be >= 0, got {size}")
        sizes = st.just(size)
    elif (
        isinstance(size, tuple)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in size)
        and 0 <= size[0] <= size[1]
    ):
        sizes = st.integers(size[0], size[1])
    else:
        raise MltkUsageError(f"frames: size must be an int or a (min, max) tuple, got {size!r}")
    min_rows = size if isinstance(size, int) else size[0]
    plans = {}
    validate = bool(schema.checks) or schema.index is not None
    for name, column in schema.columns.items():
        plans[name], unknown = _plan(name, column)
        validate = validate or unknown
    errors = require("pandera.errors", "frames")

    @st.composite
    def build(draw: Callable[[Any], Any]) -> Any:
        n = draw(sizes)
        frame = pd.DataFrame({name: plan(draw, n) for name, plan in plans.items()})
        if len(plans) == 0:
            frame = pd.DataFrame(index=range(n))
        if schema.checks and len(frame):
            keep = ~np.logical_or.reduce([_check_mask(ch, frame) for ch in schema.checks])
            frame = frame[keep].reset_index(drop=True)
            hypothesis.assume(len(frame) >= min_rows)
        if validate:  # the final word on checks frames() could not translate
            try:
                return schema.validate(frame)
            except (errors.SchemaError, errors.SchemaErrors):
                hypothesis.assume(False)
        return frame

    return build()
