"""assert_fairness: a biased model fails, a fair one passes, false alarms stay at the level
(measured over fixed seeds), the power at a given n is what the docs say, and bad input
is a usage error naming the argument."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from hostile import classify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, assert_fairness, fairness_report
from mlops_testkit.reporting.results import Recorder, recording, renderer_for


def decisions(rates, n, seed):
    """0/1 decisions for ``n`` members of each group, group i selected at ``rates[i]``."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.array([f"g{i}" for i in range(len(rates))]), n)
    selected = rng.random(len(groups)) < np.repeat(np.asarray(rates), n)
    return selected.astype(int), groups


def fail_rate(rates, n, seeds, **bars):
    fails = 0
    for seed in range(seeds):
        pred, groups = decisions(rates, n, seed)
        fails += not fairness_report(None, pred, groups, seed=seed, **bars).passed
    return fails / seeds


def test_biased_model_fails_and_fair_model_passes_over_seeds() -> None:
    for seed in range(20):
        biased, groups = decisions([0.60, 0.35], 400, seed)
        with pytest.raises(AssertionError, match=r"ratio is below 0\.8") as info:
            assert_fairness(None, biased, groups, min_ratio=0.8, max_gap=0.1, seed=seed)
        assert "gap is above 0.1" in str(info.value)
        fair, groups = decisions([0.45, 0.45], 400, seed)
        result = assert_fairness(None, fair, groups, min_ratio=0.8, max_gap=0.1, seed=seed)
        assert result.passed and result.kind == "fairness"


def test_a_pass_says_why_it_passes() -> None:
    # issue 24: "pass ... 0.0632, required gap <= 0.05" read as a pass over the bar
    fair, groups = decisions([0.45, 0.45], 400, 1)
    result = fairness_report(None, fair, pd.Series(groups, name="sex"), max_gap=0.05)
    assert result.passed and result.name == "fairness:selection_rate by sex"
    assert result.threshold.startswith("gap <= 0.05: not significantly above (gap ")
    assert "interval [" in result.threshold


def test_failure_message_is_a_headline_a_table_and_a_next_step() -> None:
    biased, groups = decisions([0.60, 0.35], 400, 0)
    with pytest.raises(AssertionError) as info:
        assert_fairness(None, biased, groups, min_ratio=0.8)
    text = str(info.value)
    # groups given as an array: the gate is named by its metric, not "by sensitive"
    assert text.startswith("gate 'fairness:selection_rate' failed")
    assert "ratio >= 0.8: significantly below (ratio 0.5" in text and "interval [" in text
    assert "highest 'g0', lowest 'g1'" in text
    assert "group  rows  selection_rate  ci_low  ci_high" in text
    assert "reweight" in text


@pytest.mark.parametrize(
    ("rates", "n", "bars"),
    [
        ([0.40, 0.45], 1000, {"max_gap": 0.05}),  # the gap sits exactly at the bar
        ([0.40, 0.45, 0.45, 0.45], 500, {"max_gap": 0.05}),  # three groups tie at the top
        ([0.40, 0.50], 1000, {"min_ratio": 0.8}),  # the ratio sits exactly at the bar
        ([0.40, 0.50, 0.50, 0.40], 500, {"min_ratio": 0.8}),
    ],
)
@pytest.mark.slow
def test_false_alarms_stay_at_the_level(rates, n, bars) -> None:
    # at the boundary of the null the gate may fail at most 5% of the time (95%
    # confidence); measured 1.3-2.3% over 400 seeds (Bonferroni over the pairs is
    # conservative); 200 seeds here, with room for the binomial noise of 200 draws
    assert fail_rate(rates, n, 200, **bars) <= 0.05 + 0.03


def test_power_at_a_given_n() -> None:
    # selection rates 0.60 vs 0.35 (ratio 0.58, gap 0.25) with min_ratio=0.8: measured
    # power 0.60 at 100 per group, 0.87 at 200, 0.95 at 300 over 400 seeds (docs/gates.md)
    assert fail_rate([0.60, 0.35], 100, 100, min_ratio=0.8) >= 0.45
    assert fail_rate([0.60, 0.35], 300, 100, min_ratio=0.8) >= 0.9


def test_intervals_are_reported_for_each_group_the_gap_and_the_ratio() -> None:
    pred, groups = decisions([0.60, 0.35], 2000, 1)
    r = fairness_report(None, pred, groups, min_ratio=0.8)
    d = r.details
    assert [g["group"] for g in d["groups"]] == ["g0", "g1"]
    for g in d["groups"]:
        assert g["ci_low"] < g["selection_rate"] < g["ci_high"]
    assert d["gap_ci"][0] < d["gap"] < d["gap_ci"][1]
    assert d["ratio_ci"][0] < d["ratio"] < d["ratio_ci"][1] < 0.8
    assert abs(d["gap"] - 0.25) < 0.04 and d["pairs"] == 2
    assert r.value == pytest.approx(d["ratio"])  # the ratio when only min_ratio is given


def test_tpr_fpr_accuracy_and_a_callable() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    groups = rng.choice(["a", "b"], n)
    y = (rng.random(n) < 0.5).astype(int)
    # equal opportunity broken: group b's positives are found far less often
    found = rng.random(n) < np.where(groups == "a", 0.9, 0.6)
    pred = np.where(y == 1, found, rng.random(n) < 0.1).astype(int)
    with pytest.raises(AssertionError, match="tpr"):
        assert_fairness(y, pred, groups, metric="tpr", max_gap=0.1)
    assert assert_fairness(y, pred, groups, metric="fpr", max_gap=0.1).passed
    r = fairness_report(y, pred, groups, metric="accuracy", max_gap=0.5)
    assert r.details["groups"][0]["group"] == "a"

    def precision(t, p):
        return float(((t == 1) & (p == 1)).sum() / max((p == 1).sum(), 1))

    r = fairness_report(y, pred, groups, metric=precision, max_gap=0.5, n_boot=200)
    assert r.details["metric"] == "precision" and r.passed


def test_intersectional_groups_and_nan_as_a_group() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m", None], n, p=[0.45, 0.45, 0.1]),
            "region": rng.choice(["north", "south"], n),
        }
    )
    pred = (rng.random(n) < 0.4).astype(int)
    r = fairness_report(None, pred, frame, max_gap=0.2)
    labels = {g["group"] for g in r.details["groups"]}
    assert "sex=NaN, region=north" in labels and "sex=f, region=south" in labels
    assert len(labels) == 6 and r.details["pairs"] == 30 and r.passed
    assert r.details["sensitive"] == ["sex", "region"]
    single = fairness_report(None, pred, frame["sex"], max_gap=0.2)
    assert {g["group"] for g in single.details["groups"]} == {"f", "m", "NaN"}
    assert sum(g["rows"] for g in single.details["groups"]) == n  # nothing dropped


def test_a_small_nan_group_is_a_usage_error_not_a_dropped_row() -> None:
    pred, groups = decisions([0.5, 0.5], 100, 0)
    groups = groups.astype(object)
    groups[:5] = np.nan
    with pytest.raises(MltkUsageError, match=r"sensitive has 1 group\(s\) smaller than "
                       r"min_group_size=30 rows: 'NaN' \(5 rows\); missing values"):  # fmt: skip
        assert_fairness(None, pred, groups, max_gap=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "precision"}, "unknown metric 'precision'"),
        ({"metric": "tpr", "y_true": None}, "y_true is required for metric 'tpr'"),
        ({"y_pred": [0.2, 0.7] * 100}, "y_pred must hold 0/1"),
        ({"y_pred": [0, 1] * 99}, "y_true has 200 entries for 198 examples"),
        ({"max_gap": None, "min_ratio": None}, "give max_gap= and/or min_ratio="),
        ({"max_gap": -0.1}, "max_gap must be >= 0"),
        ({"min_ratio": 1.5}, r"min_ratio must be > 0 and <= 1, got 1\.5"),
        ({"max_gap": None, "min_ratio": 0.0}, "a bar of 0 or less could never fail"),
        ({"max_gap": 1.0}, "a gap of 1 or more could never be exceeded"),
        ({"min_group_size": 29}, r"min_group_size must be an integer >= 30, got 29"),
        ({"seed": 1.5}, "seed must be an integer from 0"),
        ({"max_gap": float("nan")}, "max_gap must be a finite number"),
        ({"confidence": 1.0}, "confidence must be a number"),
        ({"sensitive": ["a"] * 200}, "sensitive has one group"),
        ({"min_group_size": 150}, "smaller than min_group_size=150"),
        ({"y_pred": [0, 1, float("nan")] * 66 + [0, 1]}, "y_pred contains 66 NaN"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message) -> None:
    args = {
        "y_true": [0, 1] * 100,
        "y_pred": [0, 1] * 100,
        "sensitive": ["a"] * 100 + ["b"] * 100,
        "max_gap": 0.1,
    }
    args.update(kwargs)
    y_true, y_pred, sensitive = args.pop("y_true"), args.pop("y_pred"), args.pop("sensitive")
    with pytest.raises(MltkUsageError, match=message):
        assert_fairness(y_true, y_pred, sensitive, **args)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pred=st.lists(st.sampled_from([0, 1, 2, 0.5, float("nan")]), min_size=0, max_size=80),
    groups=st.lists(st.sampled_from(["a", "b", None, 1.0, float("nan")]), max_size=80),
    size=st.integers(-1, 40),
)
def test_hostile_input_gives_a_result_a_failure_or_a_usage_error(pred, groups, size) -> None:
    # degenerate: decisions other than 0/1, lengths that differ, a group (NaN included)
    # under min_group_size, min_group_size under 30, one group: a usage error, never a pass
    values = np.asarray(pred, dtype=float)
    keys = ["NaN" if g is None or g != g else str(g) for g in groups]
    sizes = [keys.count(k) for k in set(keys)]
    degenerate = (
        len(pred) != len(groups)
        or not set(values.tolist()) <= {0.0, 1.0}
        or size < 30
        or len(sizes) < 2
        or min(sizes) < size
    )
    outcome, value = classify(fairness_report, None, pred, groups, max_gap=0.1,
                              min_group_size=size, n_boot=100, degenerate=degenerate)  # fmt: skip
    assert outcome in ("usage", "result"), (outcome, value)
    if degenerate:
        assert outcome == "usage", (outcome, value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rates=st.tuples(st.sampled_from([0.0, 0.3, 0.5, 1.0]), st.sampled_from([0.0, 0.3, 1.0])),
    n=st.sampled_from([30, 60]),
    seed=st.integers(0, 2**32 - 1),
)
def test_judged_groups_pass_only_when_the_bounds_allow_it(rates, n, seed) -> None:
    # groups large enough to judge: a pass means the gap's lower bound is within the bar,
    # every bound finite; groups at rates 0 and 1 (a gap of 1) can never pass
    pred, groups = decisions(list(rates), n, seed % 1000)
    outcome, value = classify(fairness_report, None, pred, groups, max_gap=0.1, n_boot=200,
                              seed=seed)  # fmt: skip
    assert outcome == "result", (outcome, value)
    if value.passed:
        lo, hi = value.details["gap_ci"]
        assert math.isfinite(lo) and math.isfinite(hi) and lo <= 0.1
    if abs(rates[0] - rates[1]) == 1.0:
        assert not value.passed


def test_recorded_with_model_7_and_rendered_as_a_table_with_intervals() -> None:
    pred, groups = decisions([0.45, 0.45], 400, 0)
    recorder = Recorder("t::test_fair")
    from mlops_testkit.reporting.results import _CURRENT

    token = recording(recorder)
    try:
        assert_fairness(None, pred, groups, min_ratio=0.8)
    finally:
        _CURRENT.reset(token)
    (data,) = recorder.results
    assert data["kind"] == "fairness" and data["items"] == ["model-7"] and data["passed"]
    renderer = renderer_for(data)
    assert renderer.gate
    (section,) = renderer.sections([data])
    assert section.header[0] == "group" and len(section.table) == 2
    assert section.table[0][3].startswith("[") and (section.image or section.text)
