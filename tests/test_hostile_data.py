"""Hostile frames against the data helpers: a result, a failure or MltkUsageError, and
never a pass on degenerate evidence (see tests/hostile.py)."""

from __future__ import annotations

import contextlib
import math

import pytest

pytest.importorskip("hypothesis")
np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

pytestmark = pytest.mark.hostile  # make test-hostile runs these with more examples

from hostile import check, examples, helper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BOUNDED = settings(
    max_examples=examples(40, hostile=200),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# --- hostile frames ----------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(["a", "b", "a", "", " ", "x y", "(missing)"]),
    st.integers(-2, 3),
    st.just(None),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: f != f or f in (0.5, 1.5)),
    st.sampled_from([(1, 2), b"bytes", 1.5]),
)
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
    "int64[pyarrow]",
    "double[pyarrow]",
    "string[pyarrow]",
    "constant",
)


def _column(kind: str, n: int, rng) -> pd.Series:
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
    if kind == "constant":
        return pd.Series([7.0] * n)
    try:  # pyarrow-backed
        base = {"int64[pyarrow]": [i % 3 for i in range(n)]}.get(
            kind, [f"p{i % 2}" for i in range(n)] if "string" in kind else list(rng.normal(size=n))
        )
        if n:
            base[0] = None
        return pd.Series(base, dtype=kind)
    except (ImportError, TypeError):
        return pd.Series(rng.normal(size=n))


@st.composite
def hostile_frames(draw, rows=None):
    n = draw(rows if rows is not None else st.sampled_from([0, 1, 2, 2, 25, 40]))
    k = draw(st.integers(1, 3))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(k)]
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    data = {i: _column(kind, n, rng) for i, kind in enumerate(kinds)}
    frame = pd.DataFrame(data)
    if draw(st.booleans()):
        names = [draw(NAMES) for _ in range(k)]
        with contextlib.suppress(TypeError, ValueError):
            frame.columns = names
    return frame, kinds


def _degenerate(frame: pd.DataFrame) -> bool:
    """Nothing a drift check could judge: too few rows, or a column without values."""
    return len(frame) < 20 or bool(frame.isna().all().any())


def _maybe_polars(frame: pd.DataFrame, use: bool):
    if not use:
        return frame
    pl = pytest.importorskip("polars")
    try:
        return pl.from_pandas(frame)
    except Exception:  # polars refuses some frames (duplicate or non-string names)
        return frame


# --- drift -------------------------------------------------------------------------------------


@BOUNDED
@given(hostile_frames(), hostile_frames(), st.booleans(), st.sampled_from(["auto", "psi", "ks"]))
def test_drift_on_hostile_frames(ref, cur, polars, method) -> None:
    (reference, _), (current, _) = ref, cur
    current = (
        current.set_axis(list(reference.columns)[: current.shape[1]], axis=1)
        if (current.shape[1] <= reference.shape[1] and reference.columns.is_unique)
        else current
    )
    degenerate = _degenerate(reference) or _degenerate(current)
    for fn in (helper("drift_report"), helper("assert_no_drift")):
        check(
            "drift",
            fn,
            _maybe_polars(reference, polars),
            _maybe_polars(current, polars),
            method=method,
            degenerate=degenerate,
        )


@BOUNDED
@given(hostile_frames(rows=st.sampled_from([25, 60])))
def test_drift_of_a_frame_against_itself_shifted(drawn) -> None:
    frame, _ = drawn
    degenerate = _degenerate(frame)
    shifted = frame.sample(frac=1.0, random_state=0, replace=True).reset_index(drop=True)
    check("drift-self", helper("drift_report"), frame, shifted, degenerate=degenerate)


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        (pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": [2.0]})),
        (pd.DataFrame({"a": [np.nan] * 30}), pd.DataFrame({"a": [1.0] * 30})),
        (pd.DataFrame({"a": [1.0] * 30}), pd.DataFrame({"a": [np.nan] * 30})),
        (pd.DataFrame({"a": [np.inf] * 30}), pd.DataFrame({"a": [np.inf] * 30})),
        (pd.DataFrame({"a": [np.inf, -np.inf] * 15}), pd.DataFrame({"a": [1.0, 2.0] * 15})),
        (pd.DataFrame(), pd.DataFrame()),
        (pd.DataFrame(index=range(30)), pd.DataFrame(index=range(30))),
        (pd.DataFrame({"a": []}), pd.DataFrame({"a": [1.0]})),
        (
            pd.DataFrame({"a": [f"id{i}" for i in range(30)]}),
            pd.DataFrame({"a": [f"new{i}" for i in range(30)]}),
        ),
        (pd.DataFrame({"a": [1.0] * 30}), "not a frame"),
        (np.zeros((30, 2)), np.zeros((30, 2))),
        (pd.DataFrame({"a": list(range(30))}), pd.DataFrame({"a": [str(i) for i in range(30)]})),
    ],
)
def test_drift_on_degenerate_frames_never_passes(reference, current) -> None:
    for fn in (helper("drift_report"), helper("assert_no_drift")):
        check("drift-degenerate", fn, reference, current, degenerate=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": float("nan")},
        {"alpha": 1.5},
        {"alpha": np.float64(0.05)},
        {"correction": "nope"},
        {"method": "nope"},
        {"method": 3},
        {"method": {"a": "chi2"}},
        {"columns": "a"},
        {"columns": []},
        {"columns": ["a", "a"]},
        {"columns": ["zz"]},
        {"columns": np.array(["a"])},
        {"categorical": ["zz"]},
        {"categorical": "a"},
        {"thresholds": {"psi": float("nan")}},
        {"thresholds": {"psi": -1}},
        {"thresholds": 0.1},
        {"thresholds": {"a": np.float64(0.2)}},
    ],
)
def test_drift_arguments(kwargs) -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"a": rng.normal(size=40), "b": rng.integers(0, 3, 40)})
    cur = pd.DataFrame({"a": rng.normal(size=40), "b": rng.integers(0, 3, 40)})
    for fn in (helper("drift_report"), helper("assert_no_drift")):
        check("drift-args", fn, ref, cur, **kwargs)


# --- leakage -----------------------------------------------------------------------------------


@BOUNDED
@given(hostile_frames(rows=st.sampled_from([0, 1, 2, 5])), hostile_frames(), st.booleans())
def test_leakage_on_hostile_frames(train, test, rounded) -> None:
    (train, _), (test, _) = train, test
    if train.columns.is_unique and test.shape[1] <= train.shape[1]:
        test = test.set_axis(list(train.columns)[: test.shape[1]], axis=1)
    kwargs = {"round": 2} if rounded else {}
    for fn in (helper("leakage_report"), helper("assert_no_leakage")):
        check("leakage", fn, train, test, degenerate=len(train) == 0 or len(test) == 0, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"on": []},
        {"on": "zz"},
        {"on": ["a", "a"]},
        {"on": 3},
        {"round": -1},
        {"round": 1.5},
        {"round": {"a": "x"}},
        {"round": True},
        {"max_examples": -1},
        {"max_examples": "x"},
    ],
)
def test_leakage_arguments(kwargs) -> None:
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    test = pd.DataFrame({"a": [1.0, 5.0], "b": ["x", "q"]})
    for fn in (helper("leakage_report"), helper("assert_no_leakage")):
        check("leakage-args", fn, train, test, degenerate=kwargs.get("on") == [], **kwargs)


def test_leakage_of_nothing_compared_never_passes() -> None:
    train = pd.DataFrame({"a": [1.0, 2.0]})
    for test in (pd.DataFrame({"a": []}), pd.DataFrame(index=[0, 1]), pd.DataFrame()):
        for fn in (helper("leakage_report"), helper("assert_no_leakage")):
            check("leakage-degenerate", fn, train, test, degenerate=True)
    for fn in (helper("leakage_report"), helper("assert_no_leakage")):
        check("leakage-degenerate", fn, train, pd.DataFrame({"a": [3.0]}), on=[], degenerate=True)


# --- schema ------------------------------------------------------------------------------------


def _schema():
    pa = pytest.importorskip("pandera.pandas")
    return pa.DataFrameSchema(
        {"a": pa.Column(float, pa.Check.ge(0), nullable=False)}, strict=False, name="hostile"
    )


@BOUNDED
@given(hostile_frames(), st.booleans())
def test_schema_on_hostile_frames(drawn, polars) -> None:
    frame, _ = drawn
    if frame.shape[1] and frame.columns.is_unique and "a" not in frame.columns:
        frame = frame.rename(columns={frame.columns[0]: "a"})
    for fn in (helper("schema_report"), helper("assert_schema")):
        check("schema", fn, _maybe_polars(frame, False), _schema(), degenerate=len(frame) == 0)


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"a": []}, dtype=float),
        pd.DataFrame(),
        "text",
        None,
        np.zeros((3, 1)),
        pd.Series([1.0]),
        pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]),
    ],
)
def test_schema_on_degenerate_frames(df) -> None:
    degenerate = isinstance(df, pd.DataFrame) and len(df) == 0
    for fn in (helper("schema_report"), helper("assert_schema")):
        check("schema-degenerate", fn, df, _schema(), degenerate=degenerate)


@pytest.mark.parametrize("schema", [None, "schema", {"a": float}, 3, pd.DataFrame])
def test_schema_with_a_hostile_schema(schema) -> None:
    for fn in (helper("schema_report"), helper("assert_schema")):
        check("schema-args", fn, pd.DataFrame({"a": [1.0]}), schema)


@pytest.mark.parametrize("size", [0, -1, (3, 1), (0, 0), "x", 1.5, (1, 2, 3), None])
def test_frames_with_hostile_sizes(size) -> None:
    frames = helper("frames")
    outcome, value = check("frames", frames, _schema(), size=size)
    if outcome == "result":  # a strategy: drawing from it must work too
        from hypothesis import find

        check("frames-draw", lambda: find(value, lambda df: True))


@pytest.mark.parametrize("p", [[], [float("nan")], [1.5, -0.1], ["x"], [np.float64(0.2)], None])
def test_adjust_p_values_on_hostile_input(p) -> None:
    check("adjust-p", helper("adjust_p_values"), p)


# --- other data helpers, where this version has them -------------------------------------------


@BOUNDED
@given(hostile_frames(rows=st.sampled_from([0, 1, 2, 30])))
def test_pii_on_hostile_frames(drawn) -> None:
    frame, _ = drawn
    for fn in (helper("pii_report"), helper("assert_no_pii")):
        check("pii", fn, frame, degenerate=len(frame) == 0)


@BOUNDED
@given(hostile_frames(rows=st.sampled_from([0, 1, 2, 30])), hostile_frames(rows=st.just(2)))
def test_skew_on_hostile_frames(train, serve) -> None:
    (train, _), (serve, _) = train, serve
    on = train.columns[0] if train.shape[1] else None
    for fn in (helper("skew_report"), helper("assert_no_skew")):
        check("skew", fn, train, serve, on=on, degenerate=len(train) == 0 or len(serve) == 0)


@BOUNDED
@given(hostile_frames(rows=st.sampled_from([0, 1, 2, 40])))
def test_target_leakage_on_hostile_frames(drawn) -> None:
    frame, _ = drawn
    target = frame.columns[-1]
    for fn in (helper("target_leakage_report"), helper("assert_no_target_leakage")):
        check("target-leakage", fn, frame, target, degenerate=len(frame) < 2)


def test_hostile_names_render_in_messages() -> None:
    """A result about columns whose names are not strings renders as text."""
    ref = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2)))
    cur = pd.DataFrame(np.random.default_rng(1).normal(loc=3, size=(30, 2)))
    outcome, value = check("drift-int-names", helper("assert_no_drift"), ref, cur)
    assert outcome == "failure"
    assert "0" in str(value) and math.isfinite(1.0)
