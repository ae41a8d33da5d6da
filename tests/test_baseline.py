"""assert_beats_baseline: a model no better than the majority class fails, a real model
passes, every baseline fits, and one that cannot be fitted is a usage error."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from hostile import classify
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, assert_beats_baseline, baseline_report
from mlops_testkit.reporting.results import _CURRENT, Recorder, recording, renderer_for


def problem(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    logit = 1.5 * X[:, 0] - X[:, 1] + 1.2 * X[:, 0] * X[:, 2] - 1.0  # ~30% positives
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y, logit


def test_a_model_no_better_than_the_majority_class_fails_over_seeds() -> None:
    for seed in range(10):
        _, y, logit = problem(2000, seed)
        rng = np.random.default_rng(seed + 100)
        lazy = np.where(rng.random(2000) < 0.03, 1, 0)  # "predicts" almost only the majority
        with pytest.raises(AssertionError, match=r"baseline \(majority\)"):
            assert_beats_baseline(y, lazy, metric="accuracy", seed=seed)
        good = (logit > 0).astype(int)
        assert assert_beats_baseline(y, good, metric="accuracy", seed=seed).passed
        assert assert_beats_baseline(
            y, good, baseline="stratified", metric="f1", n_boot=500
        ).passed


def test_the_failure_says_what_the_baseline_scored_and_the_bounds() -> None:
    _, y, _ = problem(2000, 0)
    with pytest.raises(AssertionError) as info:
        assert_beats_baseline(y, np.zeros(2000), metric="accuracy")
    text = str(info.value)
    assert "gate 'beats majority baseline: accuracy' failed" in text
    assert "baseline (majority)" in text and "95% bounds" in text and "simpler one" in text


def test_linear_baseline_on_scores_and_a_margin() -> None:
    X, y, logit = problem(3000, 1)
    # the true logit has an interaction a linear model cannot see
    r = baseline_report(y, logit, baseline="linear", metric="roc_auc", X=X, n_boot=300)
    assert r.passed and r.details["baseline"] == "linear (ridge classifier)"
    assert 0.6 < r.details["baseline_value"] < r.value
    # the linear model's own (cross-fitted) predictions are not better than the linear baseline
    linear = 1.5 * X[:, 0] - X[:, 1]
    with pytest.raises(AssertionError):
        assert_beats_baseline(y, linear, baseline="linear", metric="roc_auc", X=X, n_boot=300)
    with pytest.raises(AssertionError):
        assert_beats_baseline(y, logit, metric="roc_auc", margin=0.5, n_boot=300)


def test_regression_mean_and_linear_baselines() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x": rng.normal(size=1000), "kind": rng.choice(["a", "b"], 1000)})
    y = 2 * X["x"] + (X["kind"] == "a") + rng.normal(0, 0.5, 1000)
    truth = 2 * X["x"] + (X["kind"] == "a")
    assert assert_beats_baseline(y, truth, baseline="mean", metric="mae").passed
    r = baseline_report(y, truth, baseline="linear", metric="rmse", X=X, n_boot=200)
    assert r.details["baseline"] == "linear (ridge)" and not r.passed  # the truth is linear
    with pytest.raises(AssertionError):
        assert_beats_baseline(y, np.full(1000, y.mean()), baseline="mean", metric="mae")


def test_an_estimator_or_a_callable_can_be_the_baseline() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    X, y, logit = problem(1500, 3)
    r = baseline_report(
        y, logit, baseline=sklearn.LogisticRegression(), metric="roc_auc", X=X, n_boot=200
    )
    assert r.details["baseline"] == "LogisticRegression (5-fold)" and r.passed

    def always_one(X, y):
        return np.ones(len(y))

    assert assert_beats_baseline(y, (logit > 0).astype(int), baseline=always_one,
                                 metric="accuracy").passed  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": "linear"}, "baseline 'linear' cannot be fitted without X="),
        (
            {"baseline": "linear", "X": [[1.0], [float("nan")]] * 10},
            "baseline 'linear' cannot be fitted: X has NaN or inf in x0",
        ),
        ({"baseline": "linear", "X": [["a"], ["b"]] * 10}, "baseline 'linear' cannot be fitted"),
        ({"baseline": "linear", "X": [[1.0]] * 19}, "X must be a 2-D table with 20 rows"),
        ({"baseline": "median"}, "unknown baseline 'median'"),
        ({"baseline": "mean"}, "baseline 'mean' is for regression metrics"),
        ({"baseline": "majority", "metric": "mae"}, "baseline 'majority' is for classification"),
        ({"baseline": lambda X, y: 1 / 0}, "baseline '<lambda>' cannot be fitted: ZeroDivision"),
        ({"metric": "auc"}, "assert_beats_baseline: unknown metric 'auc'"),
        ({"margin": float("inf")}, "margin must be a finite number"),
        ({"y": [1] * 20, "metric": "roc_auc"}, "roc_auc needs both classes"),
        ({"pred": [0, 1] * 9}, "candidate_pred has 18 entries for 20 examples"),
        ({"pred": [0.2, 0.9] * 10}, r"found scores \(e\.g\. 0\.2\) in candidate_pred"),
        ({"margin": -1.0}, "a margin of -1 or less could never fail"),
        ({"seed": "x"}, "seed must be an integer from 0"),
        ({}, r"y_true has 20 example\(s\); an interval needs at least 30"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message) -> None:
    args = {"y": [0, 1] * 10, "pred": [0, 1] * 10, "metric": "accuracy"}
    args.update(kwargs)
    y, pred = args.pop("y"), args.pop("pred")
    with pytest.raises(MltkUsageError, match=message):
        assert_beats_baseline(y, pred, **args)


def test_single_class_cannot_fit_the_linear_classifier() -> None:
    with pytest.raises(MltkUsageError, match="cannot be fitted: y_true has one class"):
        assert_beats_baseline([1] * 20, [1] * 20, baseline="linear", X=[[0.0]] * 20,
                              metric="accuracy")  # fmt: skip


@st.composite
def hostile_labels(draw):
    """Labels and a candidate's labels of any length (around the minimum of 30 too),
    maybe spoiled in one way; and whether the gate has anything it could judge."""
    n = draw(st.sampled_from([0, 1, 5, 29, 30, 40, 60]))
    y = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    pred = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    spoil = draw(st.sampled_from(["none", "nan label", "inf prediction", "score 0.3",
                                  "label 0.5", "class 2", "length"]))  # fmt: skip
    if n and spoil != "none":
        i = draw(st.integers(0, n - 1))
        if spoil == "length":
            pred = pred[:-1]
        elif spoil == "nan label":
            y[i] = float("nan")
        elif spoil == "inf prediction":
            pred[i] = float("inf")
        elif spoil == "score 0.3":
            pred[i] = 0.3
        elif spoil == "label 0.5":
            y[i] = 0.5
        else:
            y[i] = 2  # a third class: accuracy still compares labels
    degenerate = n < 30 or (n > 0 and spoil not in ("none", "class 2"))
    return y, pred, degenerate


@settings(max_examples=50, deadline=None)
@given(data=hostile_labels(), baseline=st.sampled_from(["majority", "stratified", "mean",
                                                         "linear"]))  # fmt: skip
def test_hostile_input_gives_a_result_a_failure_or_a_usage_error(data, baseline) -> None:
    # anything the gate cannot judge (NaN/inf, scores where accuracy compares labels,
    # lengths that differ, fewer than 30 examples, a baseline for another task) is a
    # usage error; the rest is judged, and a pass needs a finite lower bound above margin
    y, pred, degenerate = data
    X = np.arange(len(y), dtype=float)[:, None]
    outcome, value = classify(baseline_report, y, pred, baseline=baseline, metric="accuracy",
                              X=X, n_boot=100, degenerate=degenerate)  # fmt: skip
    assert outcome in ("usage", "result"), (outcome, value)
    if degenerate or baseline == "mean":
        assert outcome == "usage", (outcome, value)
    if outcome == "result" and value.passed:
        assert value.details["ci_low"] > value.details["margin"] and len(y) >= 30


def test_recorded_with_model_5() -> None:
    _, y, logit = problem(1000, 0)
    recorder = Recorder("t::test_baseline")
    token = recording(recorder)
    try:
        assert_beats_baseline(y, (logit > 0).astype(int), metric="accuracy")
    finally:
        _CURRENT.reset(token)
    (data,) = recorder.results
    assert data["kind"] == "baseline" and data["items"] == ["model-5"]
    (section,) = renderer_for(data).sections([data])
    assert section.table[0][1] == "pass" and section.table[0][3].startswith("majority: ")
