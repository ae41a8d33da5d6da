"""assert_no_skew: the training and serving pipelines compute the same features."""

from __future__ import annotations

import json
import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from hostile import classify
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, assert_no_skew, skew_report


def raw_rows(n: int = 500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n) + 1000,
            "income": rng.lognormal(10, 0.5, n),
            "age": rng.integers(18, 80, n),
            "region": rng.choice(["north", "south"], n),
        }
    )


def training_pipeline(raw: pd.DataFrame) -> pd.DataFrame:
    mean, std = 10.0, 0.5  # fitted on the training data
    return pd.DataFrame(
        {
            "id": raw["id"],
            "log_income_z": (np.log(raw["income"]) - mean) / std,
            "age": raw["age"].astype(float),
            "region": raw["region"],
        }
    )


def serving_pipeline(raw: pd.DataFrame, *, mean: float = 10.0) -> pd.DataFrame:
    """The serving code path: float32, rows in another order, its own copy of the mean."""
    out = pd.DataFrame(
        {
            "id": raw["id"],
            "log_income_z": ((np.log(raw["income"]) - mean) / 0.5).astype(np.float32),
            "age": raw["age"].astype(np.float32),
            "region": raw["region"].astype("category"),
        }
    )
    return out.iloc[::-1].reset_index(drop=True)


def test_the_same_pipeline_in_float32_and_another_order_passes() -> None:
    raw = raw_rows()
    result = assert_no_skew(training_pipeline(raw), serving_pipeline(raw), on="id")
    assert result.passed and result.compared == 500
    assert {r["feature"] for r in result.rows} == {"log_income_z", "age", "region"}
    assert all(r["mismatches"] == 0 for r in result.rows)
    json.dumps(result.to_dict())  # the recorded form is plain JSON


def test_a_serving_pipeline_scaling_with_the_wrong_mean_is_caught() -> None:
    raw = raw_rows()
    with pytest.raises(AssertionError) as exc:
        assert_no_skew(training_pipeline(raw), serving_pipeline(raw, mean=10.1), on="id")
    text = str(exc.value)
    assert text.startswith("1 of 3 features differ between the training and serving pipelines")
    first = text.split("\n\n")[1].splitlines()[1]
    assert first.startswith("log_income_z") and "SKEW" in first
    report = skew_report(training_pipeline(raw), serving_pipeline(raw, mean=10.1), on="id")
    row = report.rows[0]
    assert row["mismatch rate"] == 1.0
    assert row["max abs diff"] == pytest.approx(0.2, rel=1e-5)  # 0.1 / std 0.5
    assert row["examples"].count(" vs ") == 3  # key, training value, serving value


def test_a_small_mismatch_rate_can_be_tolerated() -> None:
    raw = raw_rows()
    serving = serving_pipeline(raw)
    serving.loc[serving["id"] == 1003, "age"] = 99.0
    report = skew_report(training_pipeline(raw), serving, on="id")
    assert not report.passed and report.skewed == ["age"]
    assert "1003: " in report.rows[0]["examples"]
    assert skew_report(training_pipeline(raw), serving, on="id", max_mismatch_rate=0.01).passed
    assert skew_report(training_pipeline(raw), serving, on="id", tolerance={"age": 100}).passed


def test_keys_missing_on_either_side_are_reported_and_fail() -> None:
    raw = raw_rows()
    serving = serving_pipeline(raw).iloc[5:]  # serving dropped 5 rows
    report = skew_report(training_pipeline(raw), serving, on="id")
    assert report.n_missing_in_serving == 5 and report.n_missing_in_training == 0
    assert not report.passed and "5 key(s) missing from serving" in report.headline
    assert skew_report(training_pipeline(raw), serving, on="id", allow_missing_keys=True).passed
    disjoint = training_pipeline(raw).assign(id=lambda d: d["id"] + 10**6)
    nothing = skew_report(disjoint, serving, on="id", allow_missing_keys=True)
    assert not nothing.passed and "nothing was compared" in nothing.headline


def test_missing_values_match_only_missing_values() -> None:
    train = pd.DataFrame({"k": [1, 2, 3], "x": [np.nan, 1.0, np.inf], "s": ["a", None, "c"]})
    serve = train.copy()
    assert skew_report(train, serve, on="k").passed
    serve.loc[1, "x"] = np.nan
    serve.loc[0, "s"] = None
    report = skew_report(train, serve, on="k")
    assert sorted(report.skewed) == ["s", "x"]


def test_a_composite_key() -> None:
    raw = raw_rows(50).assign(day=lambda d: d["id"] % 3)
    train = training_pipeline(raw).assign(day=raw["day"])
    serve = train.sample(frac=1, random_state=0)
    assert skew_report(train, serve, on=["id", "day"]).passed


def test_without_on_it_refuses_and_points_at_drift() -> None:
    raw = raw_rows(20)
    with pytest.raises(MltkUsageError, match=r"on= is required.*assert_no_drift"):
        assert_no_skew(training_pipeline(raw), serving_pipeline(raw))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda t, s: (pd.concat([t, t.head(2)]), s), "key \\['id'\\] is not unique in training"),
        (
            lambda t, s: (t, s.drop(columns="id")),
            "key column\\(s\\) \\['id'\\] missing from serving",
        ),
        (lambda t, s: (t, s.drop(columns="age")), "'age' only in training_features"),
        (lambda t, s: (t.assign(extra=1), s), "'extra' only in training_features"),
        (lambda t, s: (t, s.assign(id=s["id"].where(s.index > 0))), "missing key"),
        (lambda t, s: (t.head(0), s), "training_features is empty"),
        (lambda t, s: (t.to_numpy(), s), "training_features must be a pandas"),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(change, match) -> None:
    raw = raw_rows(20)
    train, serve = change(training_pipeline(raw), serving_pipeline(raw))
    with pytest.raises(MltkUsageError, match=match):
        skew_report(train, serve, on="id")


def test_bad_options_are_usage_errors() -> None:
    raw = raw_rows(20)
    t, s = training_pipeline(raw), serving_pipeline(raw)
    with pytest.raises(MltkUsageError, match="max_mismatch_rate"):
        skew_report(t, s, on="id", max_mismatch_rate=2)
    with pytest.raises(MltkUsageError, match="tolerance"):
        skew_report(t, s, on="id", tolerance=-1)
    with pytest.raises(MltkUsageError, match="unknown feature"):
        skew_report(t, s, on="id", tolerance={"nope": 1.0})
    with pytest.raises(MltkUsageError, match="feature 'nope' is missing"):
        skew_report(t, s, on="id", features=["nope"])


values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none(), st.text(max_size=3))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _clearly_differ(a, b) -> bool:
    """A pair that no reading of the rules lets match: one side missing, text against a
    number or other text, an infinity against anything else, or numbers far apart."""
    if _missing(a) or _missing(b):
        return _missing(a) != _missing(b)
    if isinstance(a, str) or isinstance(b, str):
        return a != b
    if math.isinf(a) or math.isinf(b):
        return a != b
    return abs(a - b) > 1e-3 * max(abs(a), 1.0)


def _identical(a, b) -> bool:
    return (_missing(a) and _missing(b)) or (type(a) is type(b) and a == b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(values, values), max_size=8), st.booleans())
@example([(math.inf, 5.0), (1.0, 1.0)], False)
@example([(-math.inf, math.inf)], False)
@example([(math.inf, math.inf), (math.nan, None), ("a", "a")], False)
@example([(1.0, 1.0), (2.0, 2.0)], True)
def test_hostile_input_gives_a_result_or_a_usage_error(pairs, repeat_a_key) -> None:
    """The verdict is judged: rows with a pair that clearly differs never pass, identical
    rows always do; no rows and repeated keys are usage errors."""
    keys = list(range(len(pairs)))
    if repeat_a_key and len(keys) > 1:
        keys[-1] = keys[0]
    rows = [(k, a, b) for k, (a, b) in zip(keys, pairs, strict=True)]
    train = pd.DataFrame({"k": keys, "x": [r[1] for r in rows]})
    serve = pd.DataFrame({"k": keys, "x": [r[2] for r in rows]})
    degenerate = not rows or any(_clearly_differ(r[1], r[2]) for r in rows)
    outcome, report = classify(skew_report, train, serve, on="k", degenerate=degenerate)
    if not rows or len(set(keys)) < len(keys):
        assert outcome == "usage", (outcome, report)
        return
    assert outcome == "result", (outcome, report)  # a pass here on a clear mismatch: silent
    json.dumps(report.to_dict())
    if all(_identical(r[1], r[2]) for r in rows):
        assert report.passed, report.rows
