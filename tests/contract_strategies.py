"""Hostile inputs for the contract (tests/test_contract.py) and the tally script
(tests/hostile_tally.py): one hypothesis strategy of calls per public check.

A strategy draws a :class:`Call`: the arguments, and what the call may end in.

- ``any``: a result, a readable failure (an ``AssertionError`` raised by the kit) or
  ``MltkUsageError``: the input is hostile but judgeable;
- ``no-pass``: a failure or a usage error, never a pass: the evidence is degenerate
  (empty, all-NaN, nothing applicable, too little to judge), a parameter makes the check
  unable to fail, or the input plants a defect the check exists to find;
- ``usage``: ``MltkUsageError``: an argument of the wrong kind (a seed of ``-1``, a flag
  of ``"false"``, a NaN threshold) must be refused, never coerced.

Each call varies the data (frames on every engine the argument accepts, arrays, lists)
and at most one parameter at a time, so that an expectation names its cause. The table
:data:`CHECKS` maps every public check and report twin to its strategy; the contract
fails when a public check has no entry. Large inputs stay small (tens to hundreds of
rows) except the cells that test linear scans.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

WORK = Path(tempfile.mkdtemp(prefix="mltk-contract-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)

ANY, NO_PASS, USAGE = "any", "no-pass", "usage"
ENGINES = ("pandas", "polars", "lazy", "arrow", "parquet")


# --- calls ----------------------------------------------------------------------------------


def strictest(*expects: str) -> str:
    """The expectation of a call with several hostile parts: one usage error alone is a
    usage error; a usage error together with degenerate evidence may also be a failure."""
    hostile = [e for e in expects if e != ANY]
    if not hostile:
        return ANY
    return USAGE if set(hostile) == {USAGE} else NO_PASS


@dataclass
class Arg:
    """One argument's value, what it makes the call expect, and why."""

    value: Any
    expect: str = ANY
    why: str = ""


@dataclass
class Call:
    """One hostile call of a check: arguments, the expected outcome, and why."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    expect: str = ANY
    why: str = ""

    def __repr__(self) -> str:
        parts = [show(a) for a in self.args]
        parts += [f"{k}={show(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})  [{self.expect}: {self.why or 'hostile data'}]"


def show(x: Any, limit: int = 90) -> str:
    """A short, readable description of an argument (frames by shape and dtypes)."""
    module = type(x).__module__.split(".")[0]
    if module == "torch" and not hasattr(x, "shape"):
        return f"{type(x).__name__}()"
    if isinstance(x, tuple | list) and 0 < len(x) <= 4 and not isinstance(x[0], str | int | float):
        inner = ", ".join(show(v, limit // 2) for v in x)
        return f"({inner})" if isinstance(x, tuple) else f"[{inner}]"
    if isinstance(x, pd.DataFrame):
        cols = ", ".join(f"{c!r}:{t}" for c, t in list(x.dtypes.items())[:5])
        return f"pandas.DataFrame[{len(x)}x{x.shape[1]}]({cols})"
    if module in ("polars", "pyarrow", "torch") and hasattr(x, "shape"):
        return f"{type(x).__module__}.{type(x).__name__}{tuple(x.shape)}"
    if module == "polars":
        return f"polars.{type(x).__name__}"
    if isinstance(x, np.ndarray):
        head = np.array2string(x.ravel()[:4], precision=3, separator=",")
        return f"ndarray[{x.dtype}{x.shape}]{head}"
    if isinstance(x, pd.Series):
        return f"Series[{x.dtype}, {len(x)}]"
    if isinstance(x, str) and len(x) > limit:
        return f"str[{len(x)} chars]{x[:20]!r}...{x[-20:]!r}"
    if callable(x) and hasattr(x, "__name__"):
        return getattr(x, "label", x.__name__)
    text = repr(x)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_of_args(*args: Arg) -> st.SearchStrategy[Arg]:
    return st.sampled_from(args)


def ok(*values: Any) -> list[Arg]:
    return [Arg(v) for v in values]


def bad(expect: str, why: str, *values: Any) -> list[Arg]:
    return [Arg(v, expect, f"{why} {show(v)}") for v in values]


@st.composite
def calls(
    draw: Any,
    data: st.SearchStrategy[tuple[tuple[Any, ...], dict[str, Any], str, str]],
    params: dict[str, list[Arg]],
    fixed: dict[str, Any] | None = None,
) -> Call:
    """A call from drawn data and at most one hostile parameter (or none)."""
    args, kwargs, expect, why = draw(data)
    kwargs = {**(fixed or {}), **kwargs}
    names = sorted(n for n in params if n not in kwargs)  # a set one carries the evidence
    pick = draw(st.sampled_from([None, *names])) if names else None
    if pick is not None:
        arg = draw(st.sampled_from(params[pick]))
        kwargs[pick] = arg.value
        if arg.expect != ANY:
            expect, why = strictest(expect, arg.expect), f"{why}; {pick}: {arg.why}".strip("; ")
    return Call(args, kwargs, expect, why)


# --- argument strategies: seeds, flags, thresholds, names, paths ---------------------------


def seeds() -> list[Arg]:
    return [
        *ok(0, 7, np.int64(3), 2**32 - 1),
        *bad(USAGE, "a seed that is not a non-negative integer:", -1, "x", 1.5, "0", [1]),
        *bad(USAGE, "a NaN seed:", float("nan")),
    ]


def flags(none_ok: bool = False) -> list[Arg]:
    values = ok(True, False, np.bool_(True)) + (ok(None) if none_ok else [])
    return values + bad(USAGE, "a flag that is not a bool:", "false", "true", 0, 1, "no", 2)


def rates() -> list[Arg]:
    """A failure-rate threshold in [0, 1)."""
    return [
        *ok(0.0, 0.05, np.float64(0.1)),
        *bad(NO_PASS, "a rate threshold that cannot fail:", 1.0, 1.5, float("inf")),
        *bad(USAGE, "a rate threshold that is not a number in [0, 1):", -0.1, float("nan"), "0.1"),
    ]


def confidences() -> list[Arg]:
    return [
        *ok(0.9, 0.95, np.float64(0.99)),
        *bad(NO_PASS, "a confidence that cannot fail:", 0.01),
        *bad(USAGE, "a confidence outside (0.5, 1):", 1.0, 1.5, 0, -1, float("nan"), "0.95"),
    ]


def tolerances() -> list[Arg]:
    return [
        *ok(0.0, 1e-6, 0.1, np.float64(0.01)),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
        *bad(USAGE, "a tolerance that is not a number >= 0:", -1.0, float("nan"), "x"),
    ]


def counts(valid: tuple[Any, ...], name: str) -> list[Arg]:
    return [
        *ok(*valid),
        *bad(USAGE, f"{name} that is not a positive integer:", 0, -1, 1.5, "x", float("nan")),
    ]


def boots() -> list[Arg]:
    return counts((200, np.int64(300)), "n_boot")


def metric_names(task: str = "classification") -> list[Arg]:
    good = ("accuracy", "f1") if task == "classification" else ("mae",)
    return [
        *ok(*good),
        *bad(USAGE, "an unknown metric:", "nope", 3, None, ""),
    ]


def names() -> list[Arg]:
    return ok("gate", "", "x" * 300, "naïve ✓", 3)


# --- arrays ---------------------------------------------------------------------------------

NASTY = [float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1.5, 1e308]


def nonfinite(*values: Any) -> bool:
    """Whether any number in the values is NaN or infinite."""
    for v in values:
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            continue
        if a.size and not np.isfinite(a).all():
            return True
    return False


def as_container(values: Any, kind: str) -> Any:
    """The same values as a numpy array, a list, a pandas Series or a polars Series."""
    if kind == "list":
        return list(np.asarray(values).tolist()) if isinstance(values, np.ndarray) else values
    if kind == "series":
        return pd.Series(values)
    if kind == "polars":
        import polars as pl

        try:
            return pl.Series(np.asarray(values))
        except Exception:
            return values
    return values


CONTAINERS = ("numpy", "numpy", "list", "series", "polars")


@st.composite
def vectors(draw: Any, n: int, kinds: tuple[str, ...]) -> tuple[Any, str]:
    """``(values, kind)``: labels, scores, nasty numbers, probabilities, strings, objects."""
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    if kind == "labels":
        return rng.integers(0, 2, size=n), kind
    if kind == "scores":
        return rng.random(n), kind
    if kind == "nasty":
        values = rng.random(n)
        for i in range(n):
            if draw(st.booleans()):
                values[i] = draw(st.sampled_from(NASTY))
        return values, kind
    if kind == "all-nan":
        return np.full(n, np.nan), kind
    if kind == "proba":
        p = rng.random((n, draw(st.sampled_from([1, 2, 3]))))
        return p / p.sum(axis=1, keepdims=True), kind
    if kind == "strings":
        return np.array([["a", "b", ""][i % 3] for i in range(n)], dtype=object), kind
    if kind == "bools":
        return np.array([i % 3 == 0 for i in range(n)]), kind
    if kind == "complex":
        return rng.random(n) + 1j * rng.random(n), kind
    return [[None, 1, "x", float("nan"), (1,)][i % 5] for i in range(n)], kind


# --- frames ---------------------------------------------------------------------------------

KINDS = (
    "float",
    "float_nan",
    "float_inf",
    "all_nan",
    "int",
    "Int64",
    "boolean",
    "bool",
    "string",
    "object_mixed",
    "category",
    "datetime",
    "unique_text",
    "lists",
    "arrays",
    "complex",
    "surrogate",
    "long_text",
    "constant",
    "int64[pyarrow]",
    "double[pyarrow]",
    "string[pyarrow]",
)
COLUMN_NAMES = st.one_of(
    st.sampled_from(["a", "b", "a", "", " ", "x y", "(missing)", "0"]),
    st.integers(-2, 3),
    st.just(None),
    st.sampled_from([(1, 2), b"bytes", 1.5]),
)


def column(kind: str, n: int, rng: Any) -> pd.Series:
    """A column of ``n`` values of one hostile kind."""
    if kind == "float":
        return pd.Series(rng.normal(size=n))
    if kind == "float_nan":
        v = rng.normal(size=n)
        v[::2] = np.nan
        return pd.Series(v)
    if kind == "float_inf":
        v = rng.normal(size=n)
        v[::3] = np.inf
        v[1::3] = -np.inf
        return pd.Series(v)
    if kind == "all_nan":
        return pd.Series([np.nan] * n, dtype=float)
    if kind == "int":
        return pd.Series(rng.integers(0, 3, size=n))
    if kind == "Int64":
        return pd.Series([None if i % 3 == 0 else int(i % 4) for i in range(n)], dtype="Int64")
    if kind == "boolean":
        return pd.Series([None if i % 3 == 0 else bool(i % 2) for i in range(n)], dtype="boolean")
    if kind == "bool":
        return pd.Series([bool(i % 2) for i in range(n)])
    if kind == "string":
        return pd.Series([None if i % 4 == 0 else f"s{i % 3}" for i in range(n)], dtype="string")
    if kind == "object_mixed":
        pool = [1, "1", 2.5, None, np.nan, True, "x", pd.NaT]
        return pd.Series([pool[i % len(pool)] for i in range(n)], dtype=object)
    if kind == "category":
        return pd.Series([["u", "v", None][i % 3] for i in range(n)], dtype="category")
    if kind == "datetime":
        s = pd.Series(pd.date_range("2024-01-01", periods=n, freq="D"))
        if n:
            s.iloc[0] = pd.NaT
        return s
    if kind == "unique_text":
        return pd.Series([f"id-{rng.integers(1 << 40)}" for _ in range(n)], dtype=object)
    if kind == "lists":
        return pd.Series([[i, i + 1] if i % 2 else {"k": i} for i in range(n)], dtype=object)
    if kind == "arrays":
        return pd.Series([np.arange(3, dtype=float) + i for i in range(n)], dtype=object)
    if kind == "complex":
        return pd.Series(rng.normal(size=n) + 1j * rng.normal(size=n))
    if kind == "surrogate":
        return pd.Series([["\ud800", "ok", "x\udfff y"][i % 3] for i in range(n)], dtype=object)
    if kind == "long_text":
        return pd.Series(["lorem ipsum " * (200 + i) for i in range(n)], dtype=object)
    if kind == "constant":
        return pd.Series([7.0] * n)
    try:  # pyarrow-backed
        base: list[Any] = {"int64[pyarrow]": [i % 3 for i in range(n)]}.get(
            kind, [f"p{i % 2}" for i in range(n)] if "string" in kind else list(rng.normal(size=n))
        )
        if n:
            base[0] = None
        return pd.Series(base, dtype=kind)
    except (ImportError, TypeError):
        return pd.Series(rng.normal(size=n))


@st.composite
def pandas_frames(
    draw: Any, rows: st.SearchStrategy[int] | None = None, kinds: tuple[str, ...] = KINDS
) -> pd.DataFrame:
    """A pandas frame of 1-3 hostile columns, sometimes with hostile column names."""
    n = draw(rows if rows is not None else st.sampled_from([0, 1, 2, 25, 40]))
    k = draw(st.integers(1, 3))
    chosen = [draw(st.sampled_from(kinds)) for _ in range(k)]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    frame = pd.DataFrame({f"c{i}": column(kind, n, rng) for i, kind in enumerate(chosen)})
    if draw(st.integers(0, 3)) == 0:
        names_ = [draw(COLUMN_NAMES) for _ in range(k)]
        with contextlib.suppress(TypeError, ValueError):
            frame.columns = names_
    return frame


def on_engine(frame: pd.DataFrame, engine: str) -> tuple[Any, str]:
    """The frame on an engine: ``(data, engine actually used)``. Frames an engine cannot
    hold (mixed objects, non-string names) stay pandas."""
    if engine == "pandas":
        return frame, "pandas"
    try:
        import polars as pl

        if engine in ("polars", "lazy"):
            out = pl.from_pandas(frame)
            return (out.lazy() if engine == "lazy" else out), engine
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if engine == "arrow":
            return table, engine
        import pyarrow.parquet as pq

        fd, name = tempfile.mkstemp(suffix=".parquet", dir=WORK)
        os.close(fd)
        pq.write_table(table, name)
        return name, engine
    except Exception:
        return frame, "pandas"


@st.composite
def engine_frames(
    draw: Any,
    engines: tuple[str, ...] = ENGINES,
    rows: st.SearchStrategy[int] | None = None,
    kinds: tuple[str, ...] = KINDS,
) -> tuple[Any, pd.DataFrame, str]:
    """``(data on an engine, the pandas frame it was made from, the engine)``."""
    frame = draw(pandas_frames(rows, kinds))
    data, engine = on_engine(frame, draw(st.sampled_from(engines)))
    return data, frame, engine


def degenerate_frame(frame: pd.DataFrame, min_rows: int = 1) -> bool:
    """No rows (or fewer than ``min_rows``), or a column with no value at all."""
    if len(frame) < min_rows:
        return True
    try:
        return bool(frame.isna().all().any())
    except (TypeError, ValueError):
        return False


# --- callables with labels -------------------------------------------------------------------


def labelled(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
    fn.label = label  # type: ignore[attr-defined]
    return fn


def write(name: str, content: bytes | str) -> Path:
    path = WORK / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def hostile_paths() -> dict[str, tuple[Path, bool]]:
    """Paths a hostile user passes where a file is expected: ``{label: (path, is_degenerate)}``."""
    fifo = WORK / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    (WORK / "a-dir").mkdir(exist_ok=True)
    huge = WORK / "huge.bin"
    if not huge.exists():
        with open(huge, "wb") as fh:
            fh.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    return {
        "missing": (WORK / "missing.json", True),
        "dir": (WORK / "a-dir", True),
        "fifo": (fifo, True),
        "empty": (write("empty.json", b""), True),
        "garbage": (write("garbage.json", b"\xff\xfe{not json"), True),
        "list": (write("list.json", "[]"), True),
        "huge": (huge, True),
    }


# === one strategy per check ==================================================================
# Each ``*_data`` strategy draws ``(args, kwargs, expect, why)``; :func:`calls` adds at most
# one hostile parameter. Twins take the same strategy as their assert_* (minus the
# assert-only ``max_examples``).

Data = tuple[tuple[Any, ...], dict[str, Any], str, str]


def _frame_why(frame: pd.DataFrame, engine: str) -> str:
    return f"{len(frame)} rows on {engine}"


# --- data: schema, drift, leakage, p-values, frames ------------------------------------------


@st.composite
def schema_data(draw: Any) -> Data:
    import pandera.pandas as pa

    data, frame, engine = draw(engine_frames())
    if frame.shape[1] and frame.columns.is_unique and "a" not in frame.columns:
        frame = frame.rename(columns={frame.columns[0]: "a"})
        data, engine = on_engine(frame, engine)
    schema: Any = pa.DataFrameSchema(
        {"a": pa.Column(float, pa.Check.ge(0), nullable=False)}, strict=False, name="hostile"
    )
    if engine != "pandas":
        import pandera.polars as pap

        schema = pap.DataFrameSchema(
            {"a": pap.Column(float, pap.Check.ge(0), nullable=False)}, strict=False
        )
    expect, why = (NO_PASS, "0 rows") if len(frame) == 0 else (ANY, "")
    hostile = draw(st.sampled_from([None, "schema", {"a": float}, 3, pd.DataFrame, "keep"]))
    if hostile != "keep" and draw(st.integers(0, 3)) == 0:
        schema, expect, why = hostile, strictest(expect, USAGE), f"{why}; schema {hostile!r}"
    return (data, schema), {}, expect, f"{why} ({_frame_why(frame, engine)})".strip()


def _align(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    if current.shape[1] <= reference.shape[1] and reference.columns.is_unique:
        return current.set_axis(list(reference.columns)[: current.shape[1]], axis=1)
    return current


@st.composite
def drift_data(draw: Any) -> Data:
    reference = draw(pandas_frames())
    current = _align(reference, draw(pandas_frames()))
    engines = draw(st.sampled_from(ENGINES)), draw(st.sampled_from(ENGINES))
    (ref, e1), (cur, e2) = on_engine(reference, engines[0]), on_engine(current, engines[1])
    degenerate = degenerate_frame(reference, 20) or degenerate_frame(current, 20)
    why = f"reference {_frame_why(reference, e1)}, current {_frame_why(current, e2)}"
    return (ref, cur), {}, (NO_PASS if degenerate else ANY), why


DRIFT_PARAMS = {
    "alpha": [
        *ok(0.05, np.float64(0.01)),
        *bad(USAGE, "alpha not in (0, 1):", float("nan"), 1.5, 0),
    ],
    "correction": [*ok("holm", "bh", "none"), *bad(USAGE, "unknown correction:", "nope", 3)],
    "method": [*ok("auto", "psi", "ks"), *bad(USAGE, "unknown method:", "nope", 3)],
    "columns": [
        *bad(NO_PASS, "no column to compare:", []),
        *bad(USAGE, "a column that is not there:", ["zz"]),
    ],
    "thresholds": [
        *bad(
            USAGE, "a threshold that is not a number > 0:", {"psi": float("nan")}, {"psi": -1}, 0.1
        )
    ],
}


@st.composite
def leakage_data(draw: Any) -> Data:
    train = draw(pandas_frames(st.sampled_from([0, 1, 2, 5, 30])))
    test = _align(train, draw(pandas_frames()))
    engines = draw(st.sampled_from(ENGINES)), draw(st.sampled_from(ENGINES))
    (a, e1), (b, e2) = on_engine(train, engines[0]), on_engine(test, engines[1])
    degenerate = len(train) == 0 or len(test) == 0
    why = f"train {_frame_why(train, e1)}, test {_frame_why(test, e2)}"
    return (a, b), {}, (NO_PASS if degenerate else ANY), why


LEAKAGE_PARAMS = {
    "on": [
        *bad(NO_PASS, "no key to compare on:", []),
        *bad(USAGE, "a key that is not there:", "zz", ["zz"], 3),
    ],
    "round": [
        *ok(2),
        *bad(USAGE, "round that is not an integer >= 0:", -1, 1.5, {"a": "x"}, True),
    ],
    "max_examples": [*ok(1), *bad(USAGE, "max_examples that is not a count:", -1, "x")],
}


@st.composite
def p_value_data(draw: Any) -> Data:
    good = draw(st.lists(st.floats(0, 1), max_size=6))
    case = draw(
        st.sampled_from(
            [
                Arg(good),
                Arg(np.asarray(good)),
                Arg([np.float64(0.2), 0.5]),
                Arg([], ANY, "no p-value"),
                *bad(
                    USAGE, "a p-value that is not in [0, 1]:", [float("nan")], [0.1, float("nan")]
                ),
                *bad(
                    USAGE, "a p-value that is not in [0, 1]:", [1.5, -0.1], ["x"], [float("inf")]
                ),
                *bad(USAGE, "not a list of p-values:", None, 0.5),
            ]
        )
    )
    return (case.value,), {}, case.expect, case.why


P_VALUE_PARAMS = {
    "correction": [*ok("holm", "bh"), *bad(USAGE, "unknown correction:", "nope", None)]
}


@st.composite
def frames_data(draw: Any) -> Data:
    import pandera.pandas as pa

    schema = pa.DataFrameSchema({"a": pa.Column(float, pa.Check.ge(0))})
    size = draw(
        st.sampled_from(
            [
                *ok((1, 5), 3),
                *bad(USAGE, "a size that is not a count or (min, max):", -1, (3, 1), "x", 1.5),
                *bad(USAGE, "a size that is not a count or (min, max):", (1, 2, 3), None),
            ]
        )
    )
    return (schema,), {"size": size.value}, size.expect, size.why


# --- features: skew, target leakage, importance, PII, dependencies ---------------------------


@st.composite
def skew_data(draw: Any) -> Data:
    n = draw(st.sampled_from([0, 1, 5, 30]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    train = pd.DataFrame(
        {"id": np.arange(n), "f": rng.normal(size=n), "g": [f"s{i % 3}" for i in range(n)]}
    )
    serve = train.copy()
    case = draw(
        st.sampled_from(
            [
                "same",
                "every row changed",
                "inf vs 5",
                "-inf vs inf",
                "nan both",
                "imaginary part",
                "keys missing",
                "duplicate keys",
                "list cells",
                "array cells",
                "surrogate",
                "duplicate feature",
                "other dtype",
                "serving empty",
            ]
        )
    )
    expect = NO_PASS if n == 0 else ANY
    kwargs: dict[str, Any] = {"on": "id"}
    # a planted difference is in every row, so that no accepted rate or tolerance hides it
    if n and case == "every row changed":
        serve["f"] += 1.0
        expect = NO_PASS
    elif n and case == "inf vs 5":
        train["f"], serve["f"] = np.inf, 5.0
        expect = NO_PASS
    elif n and case == "-inf vs inf":
        train["f"], serve["f"] = -np.inf, np.inf
        expect = NO_PASS
    elif case == "nan both":
        train["f"], serve["f"] = np.nan, np.nan
    elif n and case == "imaginary part":
        train["f"] = train["f"] + 1j
        serve["f"] = serve["f"] + 2j
        expect = NO_PASS
    elif n and case == "keys missing":
        serve = serve.iloc[: n // 2]
        expect, kwargs["allow_missing_keys"] = NO_PASS, False
    elif n and case == "duplicate keys":
        serve = pd.concat([serve, serve.iloc[:1]], ignore_index=True)
    elif case == "list cells":
        train["f"] = [[i] for i in range(n)]
        serve["f"] = [[i + 1] for i in range(n)]
        expect = NO_PASS if n else expect
    elif case == "array cells":
        train["f"] = pd.Series([np.arange(2.0) + i for i in range(n)], dtype=object)
        serve["f"] = pd.Series([np.arange(2.0) + i + 1 for i in range(n)], dtype=object)
        expect = NO_PASS if n else expect
    elif case == "surrogate":
        train["g"] = pd.Series(["\ud800"] * n, dtype=object)
        serve["g"] = ["ok"] * n
        expect, kwargs["features"] = (NO_PASS if n else expect), None
    elif case == "duplicate feature":
        serve = pd.concat([serve, serve[["f"]]], axis=1)
    elif case == "other dtype":
        serve["f"] = serve["f"].astype(str)
    elif case == "serving empty":
        serve = serve.iloc[:0]
        expect = NO_PASS
    engine = draw(st.sampled_from(("pandas", "pandas", "polars")))
    (a, e1), (b, _) = on_engine(train, engine), on_engine(serve, engine)
    return (a, b), kwargs, expect, f"{case}, {n} rows on {e1}"


SKEW_PARAMS = {
    "on": [*ok(["id"]), *bad(USAGE, "a key that is not there:", "zz", 0, None, [])],
    "tolerance": [
        *tolerances(),
        *ok({"f": 0.1}),
        *bad(USAGE, "a tolerance for no feature:", {"zz": 0.1}),
    ],
    "max_mismatch_rate": rates(),
    "features": [
        *ok(["f"]),
        *bad(NO_PASS, "no feature to compare:", []),
        *bad(USAGE, "not a feature:", ["zz"]),
    ],
    "allow_missing_keys": flags(),
}


@st.composite
def target_leakage_data(draw: Any) -> Data:
    n = draw(st.sampled_from([0, 1, 2, 60, 200]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    y = rng.integers(0, 2, size=n)
    frame = pd.DataFrame({"noise": rng.normal(size=n), "target": y})
    case = draw(
        st.sampled_from(
            [
                "clean",
                "copy of the label",
                "label as +-inf",
                "id encoding the label",
                "duplicate target name",
                "list cells",
                "array cells",
                "surrogate",
                "target all NaN",
                "constant target",
                "complex feature",
            ]
        )
    )
    expect = NO_PASS if n < 2 else ANY
    target: Any = "target"
    if case == "copy of the label":
        frame["leak"] = y
        expect = NO_PASS
    elif case == "label as +-inf":
        frame["target"] = np.where(y == 1, np.inf, -np.inf)
        frame["leak"] = y
        expect = NO_PASS
    elif case == "id encoding the label":
        frame["ticket"] = [f"{'DEF' if v else 'OK'}-{i:05d}" for i, v in enumerate(y)]
        expect = NO_PASS
    elif case == "duplicate target name":
        frame = pd.concat([frame, frame[["target"]]], axis=1)
    elif case == "list cells":
        frame["cells"] = pd.Series([[int(v)] for v in y], dtype=object)
    elif case == "array cells":
        frame["cells"] = pd.Series([np.array([v, 1.0]) for v in y], dtype=object)
    elif case == "surrogate":
        frame["text"] = pd.Series(["\ud800" if v else "ok" for v in y], dtype=object)
        expect = NO_PASS  # the text column is the label itself
    elif case == "target all NaN":
        frame["target"] = np.nan
        expect = NO_PASS
    elif case == "constant target":
        frame["target"] = 1
        expect = NO_PASS
    elif case == "complex feature":
        frame["z"] = frame["noise"] + 1j * y
        expect = NO_PASS
    if n < 2:
        expect = NO_PASS
    kwargs = {"features": None} if expect == NO_PASS else {}  # every feature is judged
    data, engine = on_engine(frame, draw(st.sampled_from(("pandas", "pandas", "polars", "arrow"))))
    return (data, target), kwargs, expect, f"{case}, {n} rows on {engine}"


TARGET_LEAKAGE_PARAMS = {
    "max_score": [*ok(0.9), *bad(USAGE, "max_score not in (0.5, 1]:", float("nan"), -1, "x")],
    "max_gap": [*ok(0.5, None), *bad(USAGE, "max_gap not in (0, 1]:", -1, float("nan"))],
    "features": [
        *ok(["noise"]),
        *bad(NO_PASS, "no feature to score:", []),
        *bad(USAGE, "not a feature:", ["zz"]),
    ],
    "task": [*ok("auto", "classification"), *bad(USAGE, "unknown task:", "nope", 3)],
    "max_rows": counts((50, 20000), "max_rows"),
    "seed": seeds(),
}


def _unable_target_leakage() -> list[Arg]:
    return [Arg(1.0, NO_PASS, "max_score=1.0 with max_gap=None cannot fail")]


@st.composite
def importance_data(draw: Any) -> Data:
    n = draw(st.sampled_from([0, 10, 200]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = (X["a"] > 0).astype(int).to_numpy()
    model = draw(
        st.sampled_from(
            ["uses a", "constant", "nan", "raises", "short", "strings", "not callable"]
        )
    )
    predictors: dict[str, Any] = {
        "uses a": lambda X: (np.asarray(X)[:, 0] > 0).astype(int),
        "constant": lambda X: np.zeros(len(X), dtype=int),
        "nan": lambda X: np.full(len(X), np.nan),
        "raises": lambda X: 1 / 0,
        "short": lambda X: np.zeros(max(0, len(X) - 1)),
        "strings": lambda X: np.array(["x"] * len(X)),
        "not callable": "predict",
    }
    predict = predictors[model]
    if callable(predict):
        predict = labelled(predict, f"predict<{model}>")
    expect = ANY if model == "uses a" and n >= 200 else NO_PASS
    ycase = draw(st.sampled_from(["labels", "labels", "all NaN", "inf", "wrong length"]))
    y_value: Any = y
    if ycase == "all NaN":
        y_value, expect = np.full(n, np.nan), NO_PASS
    elif ycase == "inf":
        y_value = np.where(y == 1, np.inf, 0.0)
        expect = NO_PASS
    elif ycase == "wrong length":
        y_value, expect = y[:-1] if n else np.zeros(1), NO_PASS
    container = draw(st.sampled_from(["pandas", "pandas", "numpy", "polars", "arrow"]))
    data: Any = X.to_numpy() if container == "numpy" else on_engine(X, container)[0]
    why = f"predict {model}, y {ycase}, X {n} rows as {container}"
    return (predict, data, y_value), {"metric": "accuracy", "n_repeats": 5}, expect, why


IMPORTANCE_PARAMS = {
    "metric": [
        *metric_names(),
        Arg(labelled(lambda t, p: float(np.mean(t == p)), "metric<callable>")),
    ],
    "n_repeats": counts((2, 5), "n_repeats"),
    "confidence": confidences(),
    "higher_is_better": flags(none_ok=True),
    "features": [
        *ok(["a"]),
        *bad(NO_PASS, "no feature to judge:", []),
        *bad(USAGE, "not a feature:", ["zz"]),
    ],
    "min_importance": [
        *ok(0.0, 0.01),
        *bad(NO_PASS, "a negative min_importance cannot fail:", -0.1),
        *bad(USAGE, "min_importance that is not a number:", float("nan"), "x"),
    ],
    "seed": seeds(),
}


class _Raises:
    """A custom PII pattern whose validator raises on every match."""

    def __call__(self, value: str) -> bool:
        raise RuntimeError("validator down")


@st.composite
def pii_data(draw: Any) -> Data:
    case = draw(
        st.sampled_from(
            [
                "hostile frame",
                "hostile frame",
                "e-mail",
                "long cell with an e-mail at the end",
                "digits cell",
                "surrogate with an e-mail",
                "e-mail in a list cell",
                "validator raises",
            ]
        )
    )
    kwargs: dict[str, Any] = {}
    if case == "hostile frame":
        data, frame, engine = draw(engine_frames(("pandas", "pandas", "polars", "arrow")))
        return (data,), kwargs, (NO_PASS if len(frame) == 0 else ANY), _frame_why(frame, engine)
    if case == "e-mail":
        frame, expect = pd.DataFrame({"contact": ["ann@example.com", "x"] * 5}), NO_PASS
    elif case == "long cell with an e-mail at the end":
        size = draw(st.sampled_from([200_000, 1_000_000]))
        frame, expect = pd.DataFrame({"note": ["a" * size + " ann@example.com"]}), NO_PASS
        case = f"{size:,}-character cell with an e-mail at the end"
    elif case == "digits cell":
        frame, expect = pd.DataFrame({"note": ["1" * 200_000]}), ANY
    elif case == "surrogate with an e-mail":
        frame, expect = (
            pd.DataFrame({"note": pd.Series(["\ud800 ann@example.com"] * 3, dtype=object)}),
            NO_PASS,
        )
    elif case == "e-mail in a list cell":
        frame, expect = pd.DataFrame({"note": [["ann@example.com"]] * 3}), ANY
    else:
        from mlops_testkit import PiiPattern

        frame, expect = pd.DataFrame({"code": ["ZZ-1234-5678"] * 5}), NO_PASS
        kwargs["patterns"] = {"zz": PiiPattern("zz", r"ZZ-\d{4}-\d{4}", validate=_Raises())}
    return (frame,), kwargs, expect, case


PII_PARAMS = {
    "columns": [
        *bad(NO_PASS, "no column to scan:", []),
        *bad(USAGE, "not a column:", ["zz"], "zz"),
    ],
    "allow": ok((), ["bob@example.org"]),
    "patterns": [*bad(USAGE, "a pattern that is not a regex:", {"x": "("}, {"x": 3})],
    "max_validate": counts((1, 1000), "max_validate"),
    "seed": seeds(),
}


def _requirements(name: str, lines: str | bytes) -> Path:
    return write(f"deps/{name}", lines)


@st.composite
def dependency_data(draw: Any) -> Data:
    candidate, champion, expect, why = draw(st.sampled_from(dependency_data_sides()))
    return (candidate, champion), ({"allow": ()} if expect == NO_PASS else {}), expect, why


DEPENDENCY_PARAMS = {
    "allow": [*ok((), "numpy", ["numpy"]), *bad(USAGE, "allow of non-names:", [None], 3)],
    "timeout": [
        *ok(5.0),
        *bad(USAGE, "a timeout that is not a positive number:", -1, float("nan"), "x"),
    ],
}


# --- gates -----------------------------------------------------------------------------------


@st.composite
def metric_data(draw: Any) -> Data:
    value = draw(
        st.sampled_from(
            [
                *ok(0.9, np.float32(0.9), 0.1),
                *bad(NO_PASS, "a value that is not a finite number:", *NASTY[:3], "0.9", None),
                *bad(NO_PASS, "a value that is not a number:", np.array([0.9]), True, [0.9]),
            ]
        )
    )
    bars = draw(
        st.sampled_from(
            [
                Arg({"min": 0.5}),
                Arg({"max": 0.95}),
                Arg({"min": np.float64(0.5), "max": 1.0}),
                *bad(
                    USAGE,
                    "a bar that is not a finite number:",
                    {"max": float("nan")},
                    {"min": "x"},
                ),
                *bad(USAGE, "no bar:", {}),
                *bad(NO_PASS, "an empty range:", {"min": 0.9, "max": 0.1}),
            ]
        )
    )
    name = draw(st.sampled_from(["auc", "", None, 3]))
    expect = strictest(value.expect, bars.expect)
    return (name, value.value), bars.value, expect, f"{value.why} {bars.why}".strip()


@st.composite
def regression_data(draw: Any) -> Data:
    candidate, baseline, kwargs, expect, why = draw(
        st.sampled_from(
            [
                (0.8, 0.7, {}, ANY, ""),
                (float("nan"), 0.8, {}, NO_PASS, "candidate NaN"),
                (0.8, float("nan"), {}, NO_PASS, "baseline NaN"),
                (float("inf"), 0.8, {}, NO_PASS, "candidate inf"),
                (0.8, 0.8, {"tolerance": -1}, USAGE, "negative tolerance"),
                (0.8, 0.8, {"tolerance": float("inf")}, NO_PASS, "a tolerance that cannot fail"),
                (0.8, 0.8, {"higher_is_better": 0}, USAGE, "higher_is_better=0"),
                (0.8, 0.8, {"relative": "no"}, USAGE, "relative='no'"),
                (0.8, 0.8, {"confidence": 1.5}, USAGE, "confidence 1.5"),
                (
                    0.8,
                    0.8,
                    {"n_boot": 0, "candidate_scores": [1, 0], "baseline_scores": [1, 1]},
                    USAGE,
                    "n_boot 0",
                ),
                (
                    0.8,
                    0.8,
                    {"candidate_scores": [1.0], "baseline_scores": [1.0]},
                    NO_PASS,
                    "one score a side",
                ),
                (
                    0.8,
                    0.8,
                    {"candidate_scores": [1.0, float("nan")], "baseline_scores": [1.0, 1.0]},
                    NO_PASS,
                    "a NaN score",
                ),
                (
                    0.8,
                    0.8,
                    {"candidate_scores": ["a", "b"], "baseline_scores": [1.0, 1.0]},
                    USAGE,
                    "text scores",
                ),
                (0.8, 0.8, {"candidate_scores": [1.0, 0.0]}, USAGE, "scores on one side only"),
                (
                    0.8,
                    0.7,
                    {
                        "seed": -1,
                        "candidate_scores": [1.0, 0.0] * 20,
                        "baseline_scores": [1.0] * 40,
                    },
                    USAGE,
                    "seed -1",
                ),
                (
                    0.8,
                    0.7,
                    {
                        "seed": "x",
                        "candidate_scores": [1.0, 0.0] * 20,
                        "baseline_scores": [1.0] * 40,
                    },
                    USAGE,
                    "seed 'x'",
                ),
                (np.float64(0.8), np.float32(0.7), {}, ANY, "numpy scalars"),
                ("0.8", 0.7, {}, NO_PASS, "a text candidate"),
            ]
        )
    )
    return ("auc", candidate, baseline), {"n_boot": 200, **kwargs}, expect, why


SEGMENTS = [
    Arg(["a", "b"] * 20),
    Arg([None, "a"] * 20, ANY, "None is a slice of its own"),
    Arg([float("nan")] * 40, ANY, "one slice of NaN"),
    Arg({"all": np.ones(40, bool)}),
    Arg({"none": np.zeros(40, bool)}, NO_PASS, "a slice with no example"),
    Arg({"bad": True}, USAGE, "a mask that is a bool"),
    Arg({"short": np.ones(3, bool)}, USAGE, "a mask of the wrong length"),
    Arg([[1, 2]] * 40, ANY, "list cells"),
    Arg(np.array([1, 2, 3]), USAGE, "segments of the wrong length"),
    Arg({}, NO_PASS, "no slice"),
    Arg(pd.DataFrame({0: ["a", "b"] * 20, "0": ["c"] * 40}), ANY, "columns 0 and '0'"),
]


@st.composite
def slices_data(draw: Any) -> Data:
    y, ykind = draw(vectors(40, ("labels", "scores", "nasty", "strings", "objects")))
    pred, pkind = draw(vectors(40, ("labels", "scores", "nasty", "proba", "all-nan")))
    segments = draw(st.sampled_from(SEGMENTS))
    metric = draw(st.sampled_from(["accuracy", "roc_auc", "mae", "f1", "precision"]))
    min_size = draw(st.sampled_from([1, 10, 30, 41]))
    expect = segments.expect
    if nonfinite(y, pred) or min_size > 40:
        expect = strictest(expect, NO_PASS)
    if metric == "accuracy" and pkind in ("scores", "nasty"):
        expect = strictest(expect, NO_PASS)  # scores are not labels: accuracy means nothing
    why = f"y {ykind}, pred {pkind}, {segments.why or 'segments'}, min_size {min_size}"
    kwargs = {"metric": metric, "min": 0.5, "min_size": min_size}
    return (
        (as_container(y, draw(st.sampled_from(CONTAINERS))), pred, segments.value),
        kwargs,
        expect,
        why,
    )


SLICES_PARAMS = {
    "min": bad(NO_PASS, "a bar that no accuracy can miss:", 0.0, -1.0),
    "max_gap": [*ok(None, 0.1), *bad(USAGE, "max_gap not a number >= 0:", float("nan"), -1)],
    "metric": [*bad(USAGE, "unknown metric:", "nope", 3, None)],
}


@st.composite
def latency_data(draw: Any) -> Data:
    predict = draw(
        st.sampled_from(
            [
                Arg(labelled(lambda b: b, "identity")),
                Arg(labelled(lambda b: 1 / 0, "raises"), USAGE, "predict raises"),
                Arg("not callable", USAGE, "predict not callable"),
            ]
        )
    )
    batch = draw(st.sampled_from([[1, 2], np.zeros((4, 2)), [], None]))
    kwargs = {"p95_ms": 1e6, "warmup": 1, "repeats": 3, "rounds": 2}
    return (predict.value, batch), kwargs, predict.expect, predict.why


LATENCY_PARAMS = {
    "p50_ms": [*bad(USAGE, "a bar that is not a positive number:", float("nan"), -5, "x")],
    "p95_ms": [
        *ok(np.float64(1e6)),
        *bad(NO_PASS, "a bar that cannot fail:", float("inf")),
        *bad(USAGE, "a bar that is not a positive number:", float("nan"), -5, 0),
    ],
    "repeats": counts((2,), "repeats"),
    "rounds": counts((1,), "rounds"),
    "warmup": [*ok(0), *bad(USAGE, "warmup that is not a count:", -1, "x", 1.5)],
}


EMPTY_MODELS = ("missing", "dir", "fifo", "empty")  # nothing to measure: never a pass


@st.composite
def model_size_data(draw: Any) -> Data:
    paths = hostile_paths()
    model = write("model.bin", b"x" * 1000)
    target = draw(
        st.sampled_from(
            [
                Arg(model),
                Arg(str(model)),
                *[
                    Arg(path, NO_PASS if label in EMPTY_MODELS else ANY, f"a path that is {label}")
                    for label, (path, _) in paths.items()
                    if label != "huge"
                ],
                Arg(object(), USAGE, "an object"),
                Arg(None, USAGE, "None"),
            ]
        )
    )
    return (target.value,), {"max_mb": 1}, target.expect, target.why


MODEL_SIZE_PARAMS = {
    "max_mb": [
        *ok(np.float64(1)),
        *bad(USAGE, "a bar that is not a positive number:", float("nan"), -1, 0, "x"),
        *bad(NO_PASS, "a bar that cannot fail:", float("inf")),
    ],
    "max_params": [
        *bad(USAGE, "max_params for a file:", 10),
        *bad(USAGE, "max_params that is not a count:", -1, 1.5),
    ],
}


@st.composite
def peak_memory_data(draw: Any) -> Data:
    fn = draw(
        st.sampled_from(
            [
                Arg(labelled(lambda: None, "noop")),
                Arg(labelled(lambda: bytearray(2_000_000), "allocates 2 MB")),
                Arg(labelled(lambda: 1 / 0, "raises"), USAGE, "fn raises"),
                Arg("not callable", USAGE, "fn not callable"),
            ]
        )
    )
    return (fn.value,), {"max_mb": 100}, fn.expect, fn.why


PEAK_MEMORY_PARAMS = {
    "max_mb": [
        *ok(np.float64(100)),
        *bad(USAGE, "a bar that is not a positive number:", float("nan"), -1, "x"),
        *bad(NO_PASS, "a bar that cannot fail:", float("inf")),
    ],
}


@st.composite
def endpoint_data(draw: Any) -> Data:
    url = draw(
        st.sampled_from(
            ["http://127.0.0.1:9/", "not a url", "", "ftp://127.0.0.1:9/", "http://[::1"]
        )
    )
    payload = draw(st.sampled_from([{}, {"x": np.arange(3)}, {"x": object()}, None, b"raw"]))
    kwargs = {"p95_ms": 10, "requests": 2, "concurrency": 1, "timeout_s": 0.5, "max_seconds": 2}
    return (url, payload), kwargs, NO_PASS, "nothing answers"


ENDPOINT_PARAMS = {
    "p95_ms": bad(USAGE, "a bar that is not a positive number:", float("nan"), -1),
    "requests": bad(USAGE, "requests that is not a count:", 0, -1, 1.5),
    "concurrency": bad(USAGE, "concurrency that is not a count:", 0, -1),
    "timeout_s": bad(USAGE, "a timeout that is not a positive number:", 0, -1, float("nan")),
}


@st.composite
def fairness_data(draw: Any) -> Data:
    n = draw(st.sampled_from([4, 300]))  # 300: groups of 150, 75 and 75 (None)
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    group = np.array(["a", "b", None, "a"] * (n // 4), dtype=object)
    y = rng.integers(0, 2, size=n)
    case = draw(
        st.sampled_from(
            [
                "fair",
                "biased",
                "nasty predictions",
                "all NaN",
                "attribute 0 and '0'",
                "small groups",
            ]
        )
    )
    pred: Any = rng.integers(0, 2, size=n)
    sensitive: Any = group
    expect = ANY
    if case == "biased":
        pred = (group == "a").astype(int)
        expect = NO_PASS
    elif case == "nasty predictions":
        pred, _ = draw(vectors(n, ("nasty",)))
        expect = NO_PASS if nonfinite(pred) else ANY
    elif case == "all NaN":
        pred, expect = np.full(n, np.nan), NO_PASS
    elif case == "attribute 0 and '0'":
        pred = (group == "a").astype(int)
        sensitive = pd.DataFrame({0: ["x"] * n, "0": group})
        expect = NO_PASS
    elif case == "small groups":
        sensitive = [f"g{i}" for i in range(n)]
        expect = NO_PASS
    if n == 4:
        expect = NO_PASS
    if not isinstance(sensitive, pd.DataFrame):
        sensitive = as_container(sensitive, draw(st.sampled_from(("numpy", "list", "series"))))
    kwargs: dict[str, Any] = {"max_gap": 0.2, "min_group_size": 20, "n_boot": 200}
    if case in ("biased", "attribute 0 and '0'"):
        kwargs["metric"] = "selection_rate"  # the bias is in the selection rates
    return (y, pred, sensitive), kwargs, expect, f"{case}, {n} examples"


FAIRNESS_PARAMS = {
    "metric": [*ok("selection_rate", "accuracy"), *bad(USAGE, "unknown metric:", "nope", 3)],
    "max_gap": [
        *ok(0.1),
        *bad(USAGE, "max_gap not in [0, 1):", float("nan"), -1),
        *bad(NO_PASS, "a gap that cannot fail:", 1.0, float("inf")),
    ],
    "min_ratio": [*ok(0.8), *bad(USAGE, "min_ratio not in (0, 1]:", float("nan"), -1, 2)],
    "confidence": confidences(),
    "min_group_size": counts((5, 30), "min_group_size"),
    "n_boot": boots(),
    "seed": seeds(),
}


@st.composite
def calibration_data(draw: Any) -> Data:
    n = draw(st.sampled_from([1, 3, 5, 40, 400]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    case = draw(
        st.sampled_from(
            ["calibrated", "calibrated", "nasty", "outside [0, 1]", "2-D", "all NaN", "labels 0/2"]
        )
    )
    proba: Any = p
    labels: Any = y
    expect = NO_PASS if n <= 5 else ANY
    if case == "nasty":
        proba, _ = draw(vectors(n, ("nasty",)))
        expect = strictest(
            expect, NO_PASS if nonfinite(proba) or (proba > 1).any() or (proba < 0).any() else ANY
        )
    elif case == "outside [0, 1]":
        proba, expect = p * 3 - 1, NO_PASS
    elif case == "2-D":
        proba = np.stack([1 - p, p], axis=1)
    elif case == "all NaN":
        proba, expect = np.full(n, np.nan), NO_PASS
    elif case == "labels 0/2":
        labels = y * 2
    container = draw(st.sampled_from(CONTAINERS))
    return (
        (as_container(labels, container), proba),
        {"n_boot": 200},
        expect,
        f"{case}, {n} examples",
    )


CALIBRATION_PARAMS = {
    "max_ece": [
        *ok(0.1),
        *bad(USAGE, "max_ece not in (0, 1):", float("nan"), -1, "x"),
        *bad(NO_PASS, "max_ece that cannot fail:", 1.0, float("inf")),
    ],
    "bins": counts((5, 10), "bins"),
    "confidence": confidences(),
    "n_boot": boots(),
    "segments": [
        *ok(None),
        *bad(USAGE, "segments that are not a label per example:", "r0", 5, {"a": 5}),
    ],
    "min_size": bad(USAGE, "min_size without segments:", 30, 100, 0, "x"),
    "seed": seeds(),
}


@st.composite
def baseline_data(draw: Any) -> Data:
    n = draw(st.sampled_from([1, 3, 5, 60, 300]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    y = rng.integers(0, 2, size=n)
    case = draw(
        st.sampled_from(
            ["perfect", "random", "scores with accuracy", "nasty", "all NaN", "strings"]
        )
    )
    pred: Any = y.copy()
    expect = NO_PASS if n <= 5 else ANY
    if case == "random":
        pred = rng.integers(0, 2, size=n)
    elif case == "scores with accuracy":
        pred, expect = rng.random(n), NO_PASS
    elif case == "nasty":
        pred, _ = draw(vectors(n, ("nasty",)))
        expect = strictest(expect, NO_PASS if nonfinite(pred) else ANY)
    elif case == "all NaN":
        pred, expect = np.full(n, np.nan), NO_PASS
    elif case == "strings":
        pred = np.array(["a"] * n, dtype=object)
        expect = NO_PASS
    kwargs = {"metric": "accuracy", "n_boot": 200}
    return (y, pred), kwargs, expect, f"{case}, {n} examples"


BASELINE_PARAMS = {
    "baseline": [
        *ok("majority", "stratified"),
        *bad(USAGE, "unknown baseline:", "nope", 3, None),
        *bad(USAGE, "a regression baseline for labels:", "mean"),
    ],
    "metric": metric_names(),
    "margin": [
        *ok(0.0, 0.01),
        *bad(USAGE, "margin that is not a number:", float("nan"), "x"),
        *bad(NO_PASS, "a margin that cannot fail:", -1.0, -float("inf")),
    ],
    "confidence": confidences(),
    "n_boot": boots(),
    "seed": seeds(),
    "folds": counts((2, 5), "folds"),
}


@st.composite
def weak_slices_data(draw: Any) -> Data:
    n = draw(st.sampled_from([0, 10, 300]))
    X, frame, engine = draw(engine_frames(("pandas", "pandas", "polars", "arrow"), st.just(n)))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    y = rng.integers(0, 2, size=n)
    case = draw(
        st.sampled_from(
            [
                "labels",
                "labels",
                "scores with accuracy",
                "all NaN",
                "nasty",
                "brier outside [0, 1]",
            ]
        )
    )
    pred: Any = y.copy()
    expect = NO_PASS if n < 50 else ANY
    metric = "accuracy"
    if case == "scores with accuracy":
        pred, expect = rng.random(n), NO_PASS
    elif case == "brier outside [0, 1]":
        pred, expect, metric = y * 3.0 - 1.0, NO_PASS, "brier"
    elif case == "all NaN":
        pred, expect = np.full(n, np.nan), NO_PASS
    elif case == "nasty":
        pred, _ = draw(vectors(n, ("nasty",)))
        expect = strictest(expect, NO_PASS if nonfinite(pred) else ANY)
    why = f"{case}, X {_frame_why(frame, engine)}"
    return (X, y, pred), {"metric": metric}, expect, why


WEAK_SLICES_PARAMS = {
    "metric": metric_names(),
    "max_gap": [
        *ok(0.1),
        *bad(USAGE, "max_gap not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a gap that cannot fail:", float("inf")),
    ],
    "max_depth": counts((1, 2), "max_depth"),
    "min_size": counts((10, 50), "min_size"),
    "alpha": [*ok(0.05), *bad(USAGE, "alpha not in (0, 1):", float("nan"), 0, 1.5)],
    "correction": [*ok("bh"), *bad(USAGE, "unknown correction:", "nope")],
    "bins": counts((2, 4), "bins"),
    "max_categories": counts((5,), "max_categories"),
    "top": counts((3,), "top"),
}

UTC = dt.timezone.utc


@st.composite
def freshness_data(draw: Any) -> Data:
    now = dt.datetime(2025, 1, 1, tzinfo=UTC)
    model = draw(
        st.sampled_from(
            [
                Arg(now - dt.timedelta(days=1)),
                Arg(now - dt.timedelta(days=400)),
                Arg(dt.datetime(2024, 12, 31), ANY, "a naive datetime"),
                Arg(now + dt.timedelta(days=30), NO_PASS, "a training time in the future"),
                Arg(None, USAGE, "None"),
                Arg("2024-01-01", USAGE, "a text"),
                Arg(object(), USAGE, "an object"),
                Arg(dt.date(2024, 12, 31), USAGE, "a date"),
            ]
        )
    )
    return (model.value,), {"max_age_days": 30, "now": now}, model.expect, model.why


FRESHNESS_PARAMS = {
    "max_age_days": [
        *ok(np.float64(30)),
        *bad(USAGE, "max_age_days not a positive number:", float("nan"), -1, 0, "x"),
        *bad(NO_PASS, "an age that cannot fail:", float("inf")),
    ],
    "by": [*ok("auto", "training"), *bad(USAGE, "unknown basis:", "nope", None)],
    "now": [*ok(None), *bad(USAGE, "now that is not a datetime:", "today", 3)],
}


@st.composite
def staleness_data(draw: Any) -> Data:
    n = draw(st.sampled_from([1, 2, 5, 60, 200]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))

    def period(shift: float) -> tuple[Any, Any]:
        X = pd.DataFrame({"a": rng.normal(size=n) + shift})
        return X, (X["a"].to_numpy() > 0).astype(int)

    model = draw(
        st.sampled_from(
            [
                Arg(labelled(lambda X: (np.asarray(X)[:, 0] > 0).astype(int), "predict<a > 0>")),
                Arg(
                    labelled(lambda X: np.full(len(X), np.nan), "predict<NaN>"),
                    NO_PASS,
                    "NaN predictions",
                ),
                Arg(labelled(lambda X: 1 / 0, "predict<raises>"), USAGE, "predict raises"),
                Arg(None, USAGE, "model None"),
            ]
        )
    )
    periods = draw(st.sampled_from(["two", "three", "one", "empty mapping", "not pairs"]))
    datasets: Any = {"2024-Q1": period(0.0), "2024-Q2": period(0.5)}
    expect = strictest(model.expect, NO_PASS if n <= 5 else ANY)
    if periods == "three":
        datasets["2024-Q3"] = period(1.0)
    elif periods == "one":
        datasets, expect = {"2024-Q1": period(0.0)}, strictest(model.expect, USAGE)
    elif periods == "empty mapping":
        datasets, expect = {}, strictest(model.expect, USAGE)
    elif periods == "not pairs":
        datasets, expect = {"a": [1, 2, 3], "b": None}, strictest(model.expect, USAGE)
    kwargs = {"metric": "accuracy", "max_decay": 0.1, "n_boot": 200}
    return (
        (model.value, datasets),
        kwargs,
        expect,
        f"{model.why or 'model'}, {periods} periods of {n}",
    )


STALENESS_PARAMS = {
    "metric": metric_names(),
    "max_decay": [
        *ok(0.05),
        *bad(USAGE, "max_decay not a number >= 0:", float("nan"), -1, "x"),
        *bad(NO_PASS, "a decay that cannot fail:", float("inf")),
    ],
    "confidence": confidences(),
    "n_boot": boots(),
    "seed": seeds(),
}


# --- behavioral ------------------------------------------------------------------------------


def predictors() -> dict[str, tuple[Any, str]]:
    """Hostile predict functions: ``{label: (predict, expectation)}``."""

    def p(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        return labelled(fn, f"predict<{label}>")

    return {
        "ok": (p(lambda xs: np.array([len(str(x)) % 2 for x in xs]), "ok"), ANY),
        "proba": (p(lambda xs: np.tile([0.3, 0.7], (len(xs), 1)), "proba"), ANY),
        "nan": (p(lambda xs: np.full(len(xs), np.nan), "nan"), NO_PASS),
        "inf-proba": (p(lambda xs: np.tile([np.inf, 0.0], (len(xs), 1)), "inf-proba"), NO_PASS),
        "short": (p(lambda xs: np.zeros(max(0, len(xs) - 1)), "short"), USAGE),
        "scalar": (p(lambda xs: 1.0, "scalar"), USAGE),
        "3d": (p(lambda xs: np.zeros((len(xs), 2, 2)), "3d"), USAGE),
        "strings": (p(lambda xs: ["pos"] * len(xs), "strings"), ANY),
        "none": (p(lambda xs: None, "none"), USAGE),
        "raises": (
            p(lambda xs: (_ for _ in ()).throw(RuntimeError("model down")), "raises"),
            USAGE,
        ),
        "dict": (p(lambda xs: {"label": [1] * len(xs)}, "dict"), USAGE),
        "not callable": ("predict", USAGE),
    }


def perturbations() -> dict[str, tuple[Any, str, str]]:
    """``{label: (perturbation, expectation, the inputs it is for)}``."""
    from mlops_testkit import perturb

    def f(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        return labelled(fn, f"perturb<{label}>")

    return {
        "identity": (f(lambda x: x, "identity"), NO_PASS, "any"),
        "none": (f(lambda x: None, "none"), NO_PASS, "any"),
        "empty": (f(lambda x: [], "empty"), NO_PASS, "any"),
        "raises": (f(lambda x: 1 / 0, "raises"), USAGE, "any"),
        "bang": (f(lambda x: f"{x}!", "bang"), ANY, "texts"),
        "typos": (perturb.typos(), ANY, "texts"),
        "change_names": (perturb.change_names(n=2), ANY, "texts"),
        "negate": (perturb.negate(), ANY, "texts"),
        "typos | whitespace": (perturb.typos() | perturb.whitespace(), ANY, "texts"),
        "increase(a)": (perturb.increase("a", by=1.0), ANY, "frame"),
        "increase(text)": (perturb.increase("text", by=1.0), USAGE, "frame"),
        "jitter(text)": (perturb.jitter("text"), USAGE, "frame"),
        "swap_category(text)": (perturb.swap_category("text"), ANY, "frame"),
        "not callable": (3, USAGE, "any"),
    }


def behavioral_inputs() -> dict[str, tuple[Any, str, str]]:
    """``{label: (inputs, expectation, kind)}``."""
    frame = pd.DataFrame({"a": np.linspace(0, 1, 6), "text": ["good", "bad", "fine"] * 2})
    return {
        "texts": (["good movie", "Anna is bad", "fine 3 times"], ANY, "texts"),
        "tuple of texts": (("good movie", "bad movie"), ANY, "texts"),
        "empty": ([], NO_PASS, "any"),
        "one empty text": ([""], ANY, "texts"),
        "array": (np.zeros((3, 2)), ANY, "frame"),
        "string": ("just one text", USAGE, "any"),
        "none": (None, USAGE, "any"),
        "missing texts": ([float("nan"), None, "x"], ANY, "texts"),
        "frame": (frame, ANY, "frame"),
        "polars frame": (on_engine(frame, "polars")[0], ANY, "frame"),
        "frame of texts": (pd.DataFrame({"text": ["good movie", "bad movie"]}), ANY, "frame"),
    }


@st.composite
def perturbation_data(draw: Any, directional: bool) -> Data:
    predict, p_expect = predictors()[draw(st.sampled_from(sorted(predictors())))]
    plabel = draw(st.sampled_from(sorted(perturbations())))
    perturb, t_expect, target = perturbations()[plabel]
    ilabel = draw(st.sampled_from(sorted(behavioral_inputs())))
    inputs, i_expect, kind = behavioral_inputs()[ilabel]
    expect = strictest(p_expect, t_expect, i_expect)
    if target != "any" and kind != "any" and target != kind:
        expect = strictest(expect, USAGE)  # a text perturbation of a frame, or the reverse
    if (
        directional
        and p_expect == ANY
        and plabel in ("bang", "typos", "change_names")
        and "strings" in getattr(predict, "label", "")
    ):
        expect = strictest(expect, USAGE)  # labels where a direction needs scores
    kwargs: dict[str, Any] = {}  # seed: Python's random, reseeded before every test
    if directional:
        kwargs["expect"] = "not_decrease"
    why = f"{getattr(predict, 'label', predict)}, {plabel}, inputs {ilabel}"
    return (predict, inputs, perturb), kwargs, expect, why


BEHAVIORAL_PARAMS = {
    "max_fail_rate": rates(),
    "confidence": [*ok(None), *confidences()],
    "batch_size": counts((1, 2), "batch_size"),
    "seed": [*ok(None), *seeds()],
}
INVARIANT_PARAMS = {
    **BEHAVIORAL_PARAMS,
    "tolerance": [*ok(None), *tolerances()],
    "search": [*ok(True, False), *bad(USAGE, "a flag that is not a bool:", "false", 0)],
}
DIRECTIONAL_PARAMS = {
    **BEHAVIORAL_PARAMS,
    "expect": [*ok("increase", "decrease"), *bad(USAGE, "unknown direction:", "up", None, 3)],
    "tolerance": [
        *ok(0.0, 0.1),
        *bad(USAGE, "a tolerance that is not a number >= 0:", -1, float("nan"), "x"),
    ],
    "on": [*ok(None, 0), *bad(USAGE, "a class that is not there:", 5, -9, "x")],
}


@st.composite
def mft_data(draw: Any) -> Data:
    predict, p_expect = predictors()[draw(st.sampled_from(sorted(predictors())))]
    cases = draw(
        st.sampled_from(
            [
                Arg([("a", 1), ("b", 0)]),
                Arg([], NO_PASS, "no case"),
                Arg([("a",)], USAGE, "a case without a label"),
                Arg("ab", USAGE, "a string of cases"),
                Arg([("a", [1, 2]), ("b", np.array([1]))], ANY, "list labels"),
                Arg([(None, float("nan"))], ANY, "a NaN label"),
                Arg(pd.DataFrame({"text": ["a", "b"], "label": [1, 0]}), ANY, "a frame"),
            ]
        )
    )
    extra = draw(
        st.sampled_from(
            [
                Arg({}),
                Arg({"labels": [1, 0]}),
                Arg({"expect": labelled(lambda p: True, "expect<always>")}),
                Arg({"expect": 3}, USAGE, "expect not callable"),
                Arg(
                    {"expect": labelled(lambda p: 1 / 0, "expect<raises>")}, USAGE, "expect raises"
                ),
            ]
        )
    )
    if "expect" in extra.value and cases.why == "a case without a label":
        cases = Arg(cases.value, ANY, "a 1-tuple input")  # with expect=, cases are inputs
    expect = strictest(p_expect, cases.expect, extra.expect)
    why = (
        f"{getattr(predict, 'label', predict)}, {cases.why or 'cases'}, {extra.why or extra.value}"
    )
    return (predict, cases.value), dict(extra.value), expect, why


MFT_PARAMS = {
    "max_fail_rate": rates(),
    "confidence": [*ok(None), *confidences()],
    "batch_size": counts((1,), "batch_size"),
}


@st.composite
def checklist_data(draw: Any) -> Data:
    suite = draw(st.sampled_from([None, "suite", object(), [1, 2]]))
    predict, expect = predictors()[draw(st.sampled_from(["ok", "raises", "not callable"]))]
    return (suite, predict), {}, strictest(expect, USAGE), "not a CheckList test or suite"


# --- training (torch) ------------------------------------------------------------------------


def torch_models() -> dict[str, tuple[Callable[[], Any], str]]:
    import torch

    nn = torch.nn

    class NoParams(nn.Module):
        def forward(self, x):
            return x * 2

    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(x), {"aux": x.sum()}

    class Dict(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return {"logits": self.lin(x)}

    class Nan(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)

        def forward(self, x):
            return self.lin(x) * float("nan")

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)
            self.lin.requires_grad_(False)

        def forward(self, x):
            return self.lin(x)

    return {
        "linear": (lambda: nn.Linear(4, 2), ANY),
        "noparams": (NoParams, NO_PASS),
        "pair": (Pair, ANY),
        "dict": (Dict, ANY),
        "nan": (Nan, NO_PASS),
        "frozen": (Frozen, NO_PASS),
        "not a module": (lambda: (lambda x: x), USAGE),
    }


def torch_batches() -> dict[str, tuple[Any, str]]:
    import torch

    g = torch.Generator().manual_seed(0)
    return {
        "ok": ((torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g)), ANY),
        "wrong width": (
            (torch.randn(8, 3, generator=g), torch.randint(0, 2, (8,), generator=g)),
            USAGE,
        ),
        "empty": ((torch.randn(0, 4), torch.zeros(0, dtype=torch.long)), NO_PASS),
        "nan": ((torch.full((8, 4), float("nan")), torch.zeros(8, dtype=torch.long)), NO_PASS),
        "inputs only": (torch.randn(8, 4, generator=g), ANY),
        "none": (None, USAGE),
        "numpy": ((np.zeros((8, 4), dtype=np.float32), np.zeros(8, dtype=np.int64)), ANY),
    }


def torch_losses() -> dict[str, tuple[Any, str]]:
    import torch

    ce = torch.nn.functional.cross_entropy
    return {
        "ce": (ce, ANY),
        "flipped": (labelled(lambda out, y: -ce(out, y), "loss<flipped>"), NO_PASS),
        "nan": (labelled(lambda out, y: ce(out, y) * float("nan"), "loss<nan>"), NO_PASS),
        "python float": (labelled(lambda out, y: 0.5, "loss<python float>"), NO_PASS),
        "raises": (labelled(lambda out, y: 1 / 0, "loss<raises>"), USAGE),
        "none": (None, ANY),
    }


DEVICES = [
    *ok(None, "cpu"),
    *bad(USAGE, "a device this machine lacks or that does not exist:", "tpu", "cuda:7", 3),
]


@st.composite
def training_data(draw: Any, kind: str) -> Data:
    mlabel = draw(st.sampled_from(sorted(torch_models())))
    blabel = draw(st.sampled_from(sorted(torch_batches())))
    make, m_expect = torch_models()[mlabel]
    batch, b_expect = torch_batches()[blabel]
    llabel = draw(st.sampled_from(sorted(torch_losses())))
    loss, l_expect = torch_losses()[llabel]
    if kind == "params" and llabel == "flipped":
        l_expect = ANY  # a flipped loss still updates every parameter
    if kind == "params" and mlabel == "nan":
        m_expect = ANY  # NaN outputs still produce (NaN) updates: judged by the check
    if mlabel == "not a module" or blabel in ("none",):
        loss, l_expect = None, ANY
    expect = strictest(m_expect, b_expect, l_expect)
    why = f"model {mlabel}, batch {blabel}, loss {llabel}"
    kwargs: dict[str, Any] = {"steps": 6} if kind in ("overfit", "curve") else {}
    return (make(), batch, loss), kwargs, expect, why


TRAINING_PARAMS = {
    "device": DEVICES,
    "optimizer": [*bad(USAGE, "an optimizer that is not one:", "adam", 3)],
}
OVERFIT_PARAMS = {
    **TRAINING_PARAMS,
    "steps": counts((3,), "steps"),
    "target_loss": [
        *ok(0.5),
        *bad(USAGE, "a target loss that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a target loss that cannot fail:", float("inf")),
    ],
    "output": [*ok(None), *bad(USAGE, "an output selector that is not there:", 9, "nope")],
}
CURVE_PARAMS = {
    **TRAINING_PARAMS,
    "steps": counts((4,), "steps"),
    "min_drop": [
        *ok(0.0, 0.01),
        *bad(USAGE, "min_drop that is not a number:", float("nan"), "x"),
        *bad(NO_PASS, "a negative min_drop cannot fail:", -1.0),
    ],
    "alpha": [*ok(0.05), *bad(USAGE, "alpha not in (0, 1):", float("nan"), 0, 1.5)],
    "output": [*ok(None), *bad(USAGE, "an output selector that is not there:", 9, "nope")],
}
PARAMS_UPDATE_PARAMS = {
    **TRAINING_PARAMS,
    "ignore": [
        *ok(()),
        *bad(USAGE, "ignore of names that are not there:", ["zz"]),
        *bad(NO_PASS, "every parameter ignored:", ["weight", "bias", "lin.weight", "lin.bias"]),
    ],
    "expect_trainable": [*ok(None, True), *bad(USAGE, "not a bool or names:", "yes", 3)],
}


@st.composite
def output_data(draw: Any, shape: bool) -> Data:
    mlabel = draw(st.sampled_from(sorted(torch_models())))
    blabel = draw(st.sampled_from(sorted(torch_batches())))
    make, m_expect = torch_models()[mlabel]
    batch, b_expect = torch_batches()[blabel]
    if mlabel in ("frozen", "noparams"):
        m_expect = ANY  # no training here: a frozen or parameter-free model has outputs
    if mlabel == "noparams" and blabel == "wrong width":
        b_expect = ANY  # x * 2 takes any width: the width is wrong only for a Linear(4, .)
    if mlabel == "nan" and shape:
        m_expect = ANY  # a NaN output still has a shape (finite inputs: judged by the check)
    expect = strictest(m_expect, b_expect)
    if not shape:
        return (make(), batch), {}, expect, f"model {mlabel}, batch {blabel}"
    expected = draw(
        st.sampled_from(
            [
                *ok((8, 2), (8, 3), (8, None), (None, 2)),
                *bad(NO_PASS, "an expected shape that is not one:", "x", (-1, 2), None, 8),
            ]
        )
    )
    expect = strictest(expect, expected.expect)
    return (
        (make(), batch, expected.value),
        {},
        expect,
        f"model {mlabel}, batch {blabel} {expected.why}",
    )


@st.composite
def determinism_data(draw: Any) -> Data:
    fn = draw(
        st.sampled_from(
            [
                Arg(labelled(lambda: 1.0, "fn<constant>")),
                Arg(labelled(lambda: np.random.random(), "fn<np.random>")),
                Arg(labelled(lambda: float("nan"), "fn<nan>"), NO_PASS, "NaN output"),
                Arg(labelled(lambda: np.array([np.nan]), "fn<nan array>"), NO_PASS, "NaN output"),
                Arg(labelled(lambda: None, "fn<None>"), NO_PASS, "no output"),
                Arg(labelled(lambda: 1 / 0, "fn<raises>"), USAGE, "fn raises"),
                Arg("not callable", USAGE, "not callable"),
            ]
        )
    )
    return (fn.value,), {}, fn.expect, fn.why


DETERMINISM_PARAMS = {
    "runs": [*ok(2, 3), *bad(USAGE, "runs that is not a count >= 2:", 1, 0, "x", 1.5)],
    "seed": [*ok(None), *seeds()],
    "reseed": [*ok(True, False), *bad(USAGE, "a flag that is not a bool:", "false", 0)],
    "atol": [
        *ok(0.0, 1e-6),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
    "rtol": [
        *ok(0.0),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
}


@st.composite
def checkpoint_data(draw: Any) -> Data:
    mlabel = draw(st.sampled_from(sorted(torch_models())))
    make, expect = torch_models()[mlabel]
    if mlabel == "frozen":
        expect = ANY
    batch, b_expect = draw(
        st.sampled_from([torch_batches()["ok"], torch_batches()["none"], torch_batches()["empty"]])
    )
    if isinstance(batch, tuple):
        batch = batch[0]
    tmp = WORK / f"ckpt-{draw(st.integers(0, 10**6))}"
    return (make(), batch), {"tmp_path": tmp}, strictest(expect, b_expect), f"model {mlabel}"


CHECKPOINT_PARAMS = {
    "save": [
        *bad(USAGE, "save that is not callable:", 3),
        Arg(labelled(lambda m, p: 1 / 0, "save<raises>"), USAGE, "save raises"),
    ],
    "load": [
        *bad(USAGE, "load that is not callable:", 3),
        Arg(labelled(lambda p: None, "load<None>"), USAGE, "load returns None"),
    ],
    "atol": [
        *ok(0.0),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
}


@st.composite
def devices_data(draw: Any) -> Data:
    import torch

    fn = draw(
        st.sampled_from(
            [
                Arg(labelled(lambda d: torch.zeros(2, device=d), "fn<zeros>")),
                Arg(
                    labelled(lambda d: torch.full((2,), math.nan, device=d), "fn<nan>"),
                    NO_PASS,
                    "NaN outputs",
                ),
                Arg(labelled(lambda d: 1 / 0, "fn<raises>"), USAGE, "fn raises"),
            ]
        )
    )
    devices = draw(
        st.sampled_from(
            [
                Arg(["cpu", "cpu"], ANY, "cpu twice"),
                *bad(NO_PASS, "fewer than two devices:", [], ["cpu"], "cpu"),
                *bad(
                    USAGE,
                    "a device that does not exist here:",
                    ["tpu", "cpu"],
                    [None, "cpu"],
                ),
                # a device missing here is left out (documented): fewer than two remain
                *bad(NO_PASS, "a device that is not here:", ["cpu", "cuda:7"]),
            ]
        )
    )
    return (
        (fn.value, devices.value),
        {},
        strictest(fn.expect, devices.expect),
        f"{fn.why} {devices.why}".strip(),
    )


@st.composite
def batch_invariance_data(draw: Any) -> Data:
    def rowwise(X: Any) -> Any:
        return np.asarray(X, dtype=float).reshape(len(X), -1).sum(axis=1)

    def scaled(X: Any) -> Any:  # per-batch scaling: a planted batch effect
        v = rowwise(X)
        return v - v.mean()

    predicts: list[Arg] = [
        Arg(labelled(rowwise, "predict<row-wise>")),
        Arg(labelled(scaled, "predict<per-batch scaling>"), NO_PASS, "a batch effect"),
        Arg(
            labelled(lambda X: np.full(len(X), np.nan), "predict<NaN>"), NO_PASS, "NaN predictions"
        ),
        Arg(labelled(lambda X: 1 / 0, "predict<raises>"), NO_PASS, "predict raises"),
        Arg(
            labelled(lambda X: np.zeros(max(0, len(X) - 1)), "predict<short>"),
            NO_PASS,
            "one prediction short",
        ),
        Arg("predict", USAGE, "not callable"),
    ]
    try:
        import torch

        bn = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
        predicts += [
            Arg(torch.nn.Linear(3, 2).eval(), ANY, "a Linear module"),
            Arg(bn.train(), NO_PASS, "BatchNorm left in training mode"),
        ]
    except ImportError:
        pass
    predict = draw(st.sampled_from(predicts))
    n = draw(st.sampled_from([0, 1, 2, 40]))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    values = rng.normal(size=(n, 3)).astype(np.float32)
    container = draw(
        st.sampled_from(["numpy", "numpy", "frame", "tensor", "list", "dict", "polars", "none"])
    )
    X: Any = values
    expect = strictest(predict.expect, USAGE if n < 2 else ANY)
    if container == "frame":
        X = pd.DataFrame(values, columns=["a", "b", "c"])
    elif container == "tensor":
        try:
            import torch

            X = torch.from_numpy(values)
        except ImportError:
            X = values
    elif container == "list":
        X = [list(map(float, row)) for row in values]
    elif container == "dict":
        X = {"a": values[:, 0], "b": values[:, 1:]}
    elif container == "polars":
        X = on_engine(pd.DataFrame(values, columns=["a", "b", "c"]), "polars")[0]
    elif container == "none":
        X, expect = None, strictest(predict.expect, USAGE)
    why = f"{predict.why or 'predict'}, X {n} rows as {container}"
    return (predict.value, X), {}, expect, why


BATCH_PARAMS = {
    "batch_sizes": [
        *ok((1, 7, 64), (1,), [2, 3]),
        *bad(
            USAGE, "batch sizes that are not positive integers:", (), (0,), (-1,), "x", (1.5,), 3
        ),
    ],
    "shuffle": flags(),
    "atol": [
        *ok(1e-5, 0.0),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
    "rtol": [
        *ok(1e-4),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
    "seed": seeds(),
}


DEVICES_PARAMS = {
    "rtol": [
        *ok(1e-4),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
    "atol": [
        *ok(1e-5),
        *bad(USAGE, "a tolerance that is not a number >= 0:", float("nan"), -1),
        *bad(NO_PASS, "a tolerance that cannot fail:", float("inf")),
    ],
}


# === the table ===============================================================================

MAX_EXAMPLES = {"max_examples": counts((1, 3), "max_examples")}


def _pair(
    assert_name: str,
    twin: str | None,
    data: st.SearchStrategy[Data],
    params: dict[str, list[Arg]],
    assert_only: dict[str, list[Arg]] | None = None,
) -> dict[str, st.SearchStrategy[Call]]:
    out = {assert_name: calls(data, {**params, **(assert_only or {})})}
    if twin is not None:
        out[twin] = calls(data, params)
    return out


def table() -> dict[str, st.SearchStrategy[Call]]:
    """Every public check and report twin -> the strategy of its hostile calls. A check
    added to ``mlops_testkit.__all__`` without an entry here fails the contract."""
    checks: dict[str, st.SearchStrategy[Call]] = {}
    checks |= _pair("assert_schema", "schema_report", schema_data(), {}, MAX_EXAMPLES)
    checks |= _pair("assert_no_drift", "drift_report", drift_data(), DRIFT_PARAMS)
    checks |= _pair("assert_no_leakage", "leakage_report", leakage_data(), LEAKAGE_PARAMS)
    checks["adjust_p_values"] = calls(p_value_data(), P_VALUE_PARAMS)
    checks["frames"] = calls(frames_data(), {})
    checks |= _pair("assert_no_skew", "skew_report", skew_data(), SKEW_PARAMS)
    unable = {"max_score": _unable_target_leakage()}
    target = st.one_of(
        calls(target_leakage_data(), TARGET_LEAKAGE_PARAMS),
        calls(target_leakage_data(), unable, fixed={"max_gap": None}),
    )
    checks["assert_no_target_leakage"] = checks["target_leakage_report"] = target
    checks |= _pair(
        "assert_features_beneficial",
        "feature_importance_report",
        importance_data(),
        IMPORTANCE_PARAMS,
    )
    checks |= _pair("assert_no_pii", "pii_report", pii_data(), PII_PARAMS)
    checks |= _pair(
        "assert_dependencies_unchanged", "dependency_diff", dependency_data(), DEPENDENCY_PARAMS
    )
    checks |= _pair("assert_metric", "metric_report", metric_data(), {})
    checks |= _pair("assert_no_regression", "regression_report", regression_data(), {})
    checks |= _pair("assert_slices", "slices_report", slices_data(), SLICES_PARAMS)
    checks |= _pair("assert_latency", "latency_report", latency_data(), LATENCY_PARAMS)
    checks |= _pair("assert_model_size", "model_size_report", model_size_data(), MODEL_SIZE_PARAMS)
    checks |= _pair(
        "assert_peak_memory", "peak_memory_report", peak_memory_data(), PEAK_MEMORY_PARAMS
    )
    checks |= _pair("assert_endpoint", "endpoint_report", endpoint_data(), ENDPOINT_PARAMS)
    checks |= _pair("assert_fairness", "fairness_report", fairness_data(), FAIRNESS_PARAMS)
    checks |= _pair(
        "assert_calibrated", "calibration_report", calibration_data(), CALIBRATION_PARAMS
    )
    checks |= _pair("assert_beats_baseline", "baseline_report", baseline_data(), BASELINE_PARAMS)
    checks |= _pair(
        "assert_no_weak_slices", "find_weak_slices", weak_slices_data(), WEAK_SLICES_PARAMS
    )
    checks |= _pair("assert_model_fresh", "freshness_report", freshness_data(), FRESHNESS_PARAMS)
    checks |= _pair(
        "assert_staleness_impact", "staleness_report", staleness_data(), STALENESS_PARAMS
    )
    checks |= _pair("assert_mft", "mft_report", mft_data(), MFT_PARAMS, MAX_EXAMPLES)
    checks |= _pair(
        "assert_invariant",
        "invariant_report",
        perturbation_data(False),
        INVARIANT_PARAMS,
        MAX_EXAMPLES,
    )
    checks |= _pair(
        "assert_directional",
        "directional_report",
        perturbation_data(True),
        DIRECTIONAL_PARAMS,
        MAX_EXAMPLES,
    )
    checks |= _pair("run_checklist", "checklist_report", checklist_data(), {})
    checks |= _pair(
        "assert_overfits_batch", "overfit_batch", training_data("overfit"), OVERFIT_PARAMS
    )
    checks |= _pair("assert_loss_decreases", "loss_curve", training_data("curve"), CURVE_PARAMS)
    checks |= _pair(
        "assert_params_update",
        "params_update_report",
        training_data("params"),
        PARAMS_UPDATE_PARAMS,
    )
    checks |= _pair("assert_finite", "nonfinite_report", output_data(False), {"grads": flags()})
    checks |= _pair("assert_output_shape", "output_shape_report", output_data(True), {})
    checks |= _pair(
        "assert_deterministic", "determinism_report", determinism_data(), DETERMINISM_PARAMS
    )
    checks |= _pair(
        "assert_checkpoint_roundtrip", "checkpoint_report", checkpoint_data(), CHECKPOINT_PARAMS
    )
    checks |= _pair("assert_devices_agree", "devices_agree_report", devices_data(), DEVICES_PARAMS)
    checks |= _pair(
        "assert_batch_invariant", "batch_invariance_report", batch_invariance_data(), BATCH_PARAMS
    )
    return checks


# Strategies that need torch: their checks skip (with the install line) where it is missing.
NEEDS_TORCH = {
    "assert_overfits_batch",
    "overfit_batch",
    "assert_loss_decreases",
    "loss_curve",
    "assert_params_update",
    "params_update_report",
    "assert_finite",
    "nonfinite_report",
    "assert_output_shape",
    "output_shape_report",
    "assert_deterministic",
    "determinism_report",
    "assert_checkpoint_roundtrip",
    "checkpoint_report",
    "assert_devices_agree",
    "devices_agree_report",
}


# === the examples of issue 21, as calls ======================================================


def _binary(n: int, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    p = rng.random(n)
    return (rng.random(n) < p).astype(int), p


def _keyed(n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"id": np.arange(n), "f": rng.normal(size=n)})


def _leaky(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    return pd.DataFrame({"noise": rng.normal(size=n), "leak": y, "target": y})


def _lazy_failing() -> Any:
    import polars as pl

    return pl.LazyFrame({"a": ["x", "y"] * 10}).with_columns(
        pl.col("a").cast(pl.Int64, strict=True)
    )


def _lazy_deleted() -> Any:
    import polars as pl

    path = write("deleted.parquet", b"")
    pd.DataFrame({"a": np.arange(20.0)}).to_parquet(path)
    lazy = pl.scan_parquet(path)
    path.unlink()
    return lazy


def _polars_object() -> Any:
    import polars as pl

    return pl.DataFrame({"a": pl.Series("a", [object(), object()] * 10, dtype=pl.Object)})


def _empty_parquet() -> str:
    path = WORK / "empty.parquet"
    pd.DataFrame({"a": pd.Series([], dtype=float)}).to_parquet(path)
    return str(path)


def explicit() -> dict[str, list[Call]]:
    """The inputs named in issue 21's classes 1-11 (and the two earlier raw errors), by
    check: they run in every profile, before the generated ones."""
    import pandera.pandas as pa
    import pandera.polars as pap

    from mlops_testkit import PiiPattern, perturb

    out: dict[str, list[Call]] = {}

    def add(names: tuple[str, ...], *calls_: Call) -> None:
        for name in names:
            out.setdefault(name, []).extend(calls_)

    y, p = _binary(300)
    X = pd.DataFrame({"a": np.random.default_rng(1).normal(size=300), "b": np.arange(300) % 3})
    yX = (X["a"] > 0).astype(int).to_numpy()
    predict_a = labelled(lambda d: (np.asarray(d)[:, 0] > 0).astype(int), "predict<a > 0>")
    leaky = _leaky()
    groups = np.array(["a", "b"] * 150, dtype=object)
    biased = (groups == "a").astype(int)
    periods = {
        "2024-Q1": (X.iloc[:150], yX[:150]),
        "2024-Q2": (X.iloc[150:], yX[150:]),
    }
    pii_frame = pd.DataFrame({"contact": ["ann@example.com", "x"] * 5})
    # class 1: unchecked seeds
    for seed in (-1, "x", 1.5):
        why = f"class 1: seed={seed!r}"
        add(
            ("assert_no_target_leakage", "target_leakage_report"),
            Call((leaky, "target"), {"seed": seed}, USAGE, why),
        )
        add(
            ("assert_features_beneficial", "feature_importance_report"),
            Call((predict_a, X, yX), {"metric": "accuracy", "seed": seed}, USAGE, why),
        )
        add(("assert_no_pii", "pii_report"), Call((pii_frame,), {"seed": seed}, USAGE, why))
        add(
            ("assert_fairness", "fairness_report"),
            Call((y, y, groups), {"max_gap": 0.2, "n_boot": 200, "seed": seed}, USAGE, why),
        )
        add(
            ("assert_calibrated", "calibration_report"),
            Call((y, p), {"n_boot": 200, "seed": seed}, USAGE, why),
        )
        add(
            ("assert_beats_baseline", "baseline_report"),
            Call((y, y), {"metric": "accuracy", "n_boot": 200, "seed": seed}, USAGE, why),
        )
        add(
            ("assert_staleness_impact", "staleness_report"),
            Call(
                (predict_a, periods),
                {"metric": "accuracy", "max_decay": 0.1, "n_boot": 200, "seed": seed},
                USAGE,
                why,
            ),
        )
    # class 2: no minimum evidence in the bootstrap gates
    for n in (1, 2, 5):
        yn, pn = np.array([1, 0, 1, 1, 0][:n]), np.array([0.9, 0.1, 0.9, 0.9, 0.1][:n])
        why = f"class 2: {n} example(s)"
        add(
            ("assert_calibrated", "calibration_report"),
            Call((yn, pn), {"n_boot": 200}, NO_PASS, why),
        )
        add(
            ("assert_beats_baseline", "baseline_report"),
            Call((yn, yn), {"metric": "accuracy", "n_boot": 200}, NO_PASS, why),
        )
    for n in (1, 2):
        tiny = {"Q1": (X.iloc[:n], yX[:n]), "Q2": (X.iloc[n : 2 * n], yX[n : 2 * n])}
        add(
            ("assert_staleness_impact", "staleness_report"),
            Call(
                (predict_a, tiny),
                {"metric": "accuracy", "max_decay": 0.1, "n_boot": 200},
                NO_PASS,
                f"class 2: {n} example(s) per period",
            ),
        )
    half_nan = labelled(
        lambda t, q: (
            float("nan") if float(np.mean(t)) > float(np.mean(y)) else float(np.mean(t == q))
        ),
        "metric<NaN on half the resamples>",
    )
    add(
        ("assert_beats_baseline", "baseline_report"),
        Call(
            (y, y),
            {"metric": half_nan, "n_boot": 200},
            NO_PASS,
            "class 2: bootstrap resamples give NaN",
        ),
    )
    # class 3: infinities and complex numbers
    train, serve = _keyed(), _keyed()
    t1, s1 = train.copy(), serve.copy()
    t1.loc[0, "f"], s1.loc[0, "f"] = np.inf, 5.0
    t2, s2 = train.copy(), serve.copy()
    t2.loc[0, "f"], s2.loc[0, "f"] = -np.inf, np.inf
    t3, s3 = train.copy(), serve.copy()
    t3["f"], s3["f"] = t3["f"] + 1j, s3["f"] + 2j
    for a, b, why in (
        (t1, s1, "class 3: training +inf, serving 5.0"),
        (t2, s2, "class 3: training -inf, serving +inf"),
        (t3, s3, "class 3: a complex feature that differs in its imaginary part"),
    ):
        add(("assert_no_skew", "skew_report"), Call((a, b), {"on": "id"}, NO_PASS, why))
    inf_label = leaky.assign(target=np.where(leaky["target"] == 1, np.inf, -np.inf))
    add(
        ("assert_no_target_leakage", "target_leakage_report"),
        Call(
            (inf_label, "target"),
            {},
            NO_PASS,
            "class 3: a label encoded as +-inf, with a leaking feature",
        ),
    )
    # class 4: loose parameters
    changed = serve.copy()
    changed.loc[:9, "f"] += 1.0
    add(
        ("assert_no_skew", "skew_report"),
        Call(
            (train, changed.iloc[5:]),
            {"on": "id", "allow_missing_keys": "false"},
            USAGE,
            "class 4: allow_missing_keys='false'",
        ),
        Call(
            (train, changed),
            {"on": "id", "max_mismatch_rate": 1.0},
            NO_PASS,
            "class 4: max_mismatch_rate=1.0",
        ),
        Call(
            (train, changed),
            {"on": "id", "tolerance": float("inf")},
            NO_PASS,
            "class 4: tolerance=inf",
        ),
    )
    loss = labelled(lambda t, q: float(np.mean(np.abs(t - q))), "metric<mae as a callable>")
    add(
        ("assert_features_beneficial", "feature_importance_report"),
        Call(
            (predict_a, X, yX),
            {"metric": loss, "higher_is_better": 0},
            USAGE,
            "class 4: higher_is_better=0",
        ),
        Call(
            (predict_a, X, yX),
            {"metric": "accuracy", "min_importance": -0.5},
            NO_PASS,
            "class 4: a negative min_importance",
        ),
        Call(
            (predict_a, X, yX),
            {"metric": "accuracy", "confidence": 0.01},
            NO_PASS,
            "class 4: confidence=0.01",
        ),
    )
    add(
        ("assert_no_target_leakage", "target_leakage_report"),
        Call(
            (leaky, "target"),
            {"max_score": 1.0, "max_gap": None},
            NO_PASS,
            "class 4: max_score=1.0 with max_gap=None",
        ),
    )
    add(
        ("assert_no_weak_slices", "find_weak_slices"),
        Call(
            (X, y, p * 3 - 1),
            {"metric": "brier", "min_size": 30},
            NO_PASS,
            "class 4: probabilities outside [0, 1] with brier",
        ),
        Call(
            (X, y, p),
            {"metric": "accuracy", "min_size": 30},
            NO_PASS,
            "class 4: scores with metric='accuracy'",
        ),
    )
    # class 5: columns and names
    add(
        ("assert_fairness", "fairness_report"),
        Call(
            (y, biased, pd.DataFrame({0: ["x"] * 300, "0": groups})),
            {"max_gap": 0.2, "n_boot": 200},
            NO_PASS,
            "class 5: sensitive columns 0 and '0', the biased one named '0'",
        ),
    )
    dup_target = pd.concat([leaky, leaky[["target"]]], axis=1)
    dup_feature = pd.concat([leaky, leaky[["noise"]]], axis=1)
    ids = leaky.assign(
        ticket=[f"{'DEF' if v else 'OK'}-{i:05d}" for i, v in enumerate(leaky["target"])]
    ).drop(columns="leak")
    for frame, expect, why in (
        (dup_target, ANY, "class 5: a duplicated target name"),
        (dup_feature, ANY, "class 5: a duplicated feature name"),
        (leaky.assign(cells=[[int(v)] for v in leaky["target"]]), ANY, "class 5: list cells"),
        (
            leaky.assign(
                cells=pd.Series([np.array([v, 1.0]) for v in leaky["target"]], dtype=object)
            ),
            ANY,
            "class 5: embedding cells",
        ),
        (
            leaky.assign(text=pd.Series(["\ud800"] * len(leaky), dtype=object)),
            ANY,
            "class 5: a lone surrogate",
        ),
        (ids, NO_PASS, "class 5: a unique ID that encodes the label (DEF-00001, OK-00002)"),
    ):
        add(
            ("assert_no_target_leakage", "target_leakage_report"),
            Call((frame, "target"), {}, expect, why),
        )
    for frame, why in (
        (
            pd.DataFrame([[1, "a", 2.0]], columns=["id", "f", "f"]),
            "class 5: a duplicated feature name",
        ),
        (pd.DataFrame({"id": [1, 2], "f": [[1], [2]]}), "class 5: list cells"),
        (
            pd.DataFrame({"id": [1, 2], "f": pd.Series(["\ud800", "ok"], dtype=object)}),
            "class 5: a lone surrogate",
        ),
    ):
        add(("assert_no_skew", "skew_report"), Call((frame, frame), {"on": "id"}, ANY, why))
    add(
        ("assert_no_pii", "pii_report"),
        Call(
            (pd.DataFrame({"a": pd.Series(["\ud800 ann@example.com"] * 3, dtype=object)}),),
            {},
            NO_PASS,
            "class 5: a lone surrogate next to an e-mail",
        ),
        Call(
            (pd.DataFrame([["ann@example.com", "x"]], columns=["a", "a"]),),
            {},
            ANY,
            "class 5: a duplicated column name",
        ),
    )
    # class 6: the 0-row rule on every engine; class 7: engine errors
    schema = pa.DataFrameSchema({"a": pa.Column(float)})
    pschema = pap.DataFrameSchema({"a": pap.Column(float)})
    empty = pd.DataFrame({"a": pd.Series([], dtype=float)})
    for engine in ("pandas", "polars", "lazy", "arrow", "parquet"):
        data, used = on_engine(empty, engine)
        if engine == "parquet":
            data, used = _empty_parquet(), "parquet"
        add(
            ("assert_schema", "schema_report"),
            Call(
                (data, schema if used == "pandas" else pschema),
                {},
                NO_PASS,
                f"class 6: 0 rows on {used}",
            ),
        )
        add(
            ("assert_no_drift", "drift_report"),
            Call((data, data), {}, NO_PASS, f"class 6: 0 rows on {used}"),
        )
        add(
            ("assert_no_leakage", "leakage_report"),
            Call((data, data), {}, NO_PASS, f"class 6: 0 rows on {used}"),
        )
    for make, why in (
        (_lazy_failing, "class 7: a LazyFrame whose plan fails at collect"),
        (_lazy_deleted, "class 7: a LazyFrame over a deleted Parquet file"),
        (_polars_object, "class 7: a polars Object column"),
    ):
        data = make()
        ok_side = pd.DataFrame({"a": np.arange(20.0)})
        add(("assert_schema", "schema_report"), Call((data, pschema), {}, NO_PASS, why))
        add(("assert_no_drift", "drift_report"), Call((data, ok_side), {}, NO_PASS, why))
        add(("assert_no_leakage", "leakage_report"), Call((ok_side, data), {}, NO_PASS, why))
    # class 8: readers
    conda = [
        s
        for s in dependency_data_sides()
        if "PEP 440" in s[3]
        or "conflicting" in s[3]
        or "unparseable" in s[3]
        or "UTF-8" in s[3]
        or "conda.yaml" in s[3]
        or "python_env" in s[3]
    ]
    for candidate, champion, expect, why in conda:
        add(
            ("assert_dependencies_unchanged", "dependency_diff"),
            Call((candidate, champion), {}, expect, f"class 8: {why}"),
        )
    # class 10: quadratic time; class 11: a validator that raises
    for size in (200_000, 1_000_000):
        add(
            ("assert_no_pii", "pii_report"),
            Call(
                (pd.DataFrame({"note": ["a" * size + " ann@example.com"]}),),
                {},
                NO_PASS,
                f"class 10: a {size:,}-character cell",
            ),
        )
    add(
        ("assert_no_pii", "pii_report"),
        Call(
            (pd.DataFrame({"code": ["ZZ-1234-5678"] * 5}),),
            {"patterns": {"zz": PiiPattern("zz", r"ZZ-\d{4}-\d{4}", validate=_Raises())}},
            NO_PASS,
            "class 11: a validator that raises on every match",
        ),
    )
    # the two earlier raw errors
    texts = pd.DataFrame({"text": ["good movie", "bad movie", "fine"]})
    scorer = labelled(lambda d: np.zeros(len(d)), "predict<zeros>")
    for names_ in (
        ("assert_invariant", "invariant_report"),
        ("assert_directional", "directional_report"),
    ):
        kwargs = {"expect": "not_decrease"} if "directional" in names_[0] else {}
        add(
            names_,
            Call(
                (scorer, texts, perturb.typos()),
                dict(kwargs),
                ANY,
                "issue 13: a DataFrame of texts with typos()",
            ),
            Call(
                (scorer, pd.DataFrame({"x": ["a", "b", "c"]}), perturb.increase("x", by=1.0)),
                dict(kwargs),
                USAGE,
                "issue 13: increase() of a string column",
            ),
        )
    return out


def dependency_data_sides() -> list[tuple[Any, Any, str, str]]:
    """The fixed sides of :func:`dependency_data` (also used by :func:`explicit`)."""
    conda_old = _requirements(
        "old/conda.yaml",
        "dependencies:\n  - python=3.11\n  - openssl=1.1.1w\n  - pip:\n    - numpy==2.0\n",
    )
    conda_new = _requirements(
        "new/conda.yaml",
        "dependencies:\n  - python=3.11\n  - openssl=3.0.13\n  - pip:\n    - numpy==2.0\n",
    )
    return [
        (["numpy==2.0"], ["numpy==2.0"], ANY, "same pins"),
        (["numpy==3.0"], ["numpy==2.0"], NO_PASS, "a major change"),
        (["numpy==1.0", "numpy==2.0"], ["numpy==2.0"], NO_PASS, "two conflicting pins"),
        (["numpy==???"], ["numpy==2.0"], NO_PASS, "an unparseable pin"),
        (["numpy>=1", "numpy<1"], ["numpy==2.0"], ANY, "ranges"),
        ({"numpy": "2.0"}, {"numpy": None}, ANY, "a mapping with None"),
        (conda_new, conda_old, NO_PASS, "a conda version that is not PEP 440 (1.1.1w -> 3.0.13)"),
        (
            _requirements("latin1.txt", "numpy==2.0  # caf\xe9\n".encode("latin-1")),
            ["numpy==2.0"],
            ANY,
            "a requirements file that is not UTF-8",
        ),
        (
            _requirements("bad/conda.yaml", "dependencies: [: nope"),
            ["numpy==2.0"],
            ANY,
            "a malformed conda.yaml",
        ),
        (
            _requirements("list/conda.yaml", "- numpy\n- pandas\n"),
            ["numpy==2.0"],
            ANY,
            "a list-shaped conda.yaml",
        ),
        (
            _requirements("pyenv/python_env.yaml", "- 3.11\n"),
            ["numpy==2.0"],
            ANY,
            "a list-shaped python_env.yaml",
        ),
        (_requirements("empty.txt", ""), ["numpy==2.0"], ANY, "an empty requirements file"),
        ("env", "env", USAGE, "both sides the running environment"),
        (None, ["numpy==2.0"], USAGE, "candidate None"),
        (3, ["numpy==2.0"], USAGE, "candidate 3"),
        (WORK / "nothing-here.txt", ["numpy==2.0"], USAGE, "a path that is not there"),
        (["numpy==2.0", 3], ["numpy==2.0"], USAGE, "a list with a number"),
    ]
