"""assert_calibrated: a softmax at temperature 3 fails, calibrated probabilities pass over
seeds, a model miscalibrated exactly at the bar fails at about the level, and
probabilities outside [0, 1] are a usage error."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy")

from hostile import classify
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_testkit import MltkUsageError, assert_calibrated, calibration_report
from mlops_testkit.reporting.results import _CURRENT, Recorder, recording, renderer_for


def softmax(logits, temperature=1.0):
    z = np.exp((logits - logits.max(axis=1, keepdims=True)) / temperature)
    return z / z.sum(axis=1, keepdims=True)


def multiclass(n, seed, k=4):
    """Logits, and labels drawn from the softmax of the logits (so it is calibrated)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    labels = (softmax(logits).cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    return logits, labels


def test_softmax_at_temperature_3_fails_and_the_calibrated_softmax_passes() -> None:
    for seed in range(10):
        logits, y = multiclass(2000, seed)
        assert assert_calibrated(y, softmax(logits), seed=seed).passed
        with pytest.raises(AssertionError, match=r"top-label ECE 0\.2\d+ \[") as info:
            assert_calibrated(y, softmax(logits, temperature=3.0), seed=seed)
        assert "recalibrate" in str(info.value) and "worst bins" in str(info.value)


def test_binary_probabilities_calibrated_pass_and_shifted_ones_fail() -> None:
    fails = 0
    for seed in range(30):
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.05, 0.95, 3000)
        y = (rng.random(3000) < p).astype(int)
        fails += not calibration_report(y, p, seed=seed).passed
        with pytest.raises(AssertionError, match=r"binary ECE"):
            assert_calibrated(y, np.clip(p + 0.15, 0, 1), seed=seed)
    assert fails == 0


@pytest.mark.slow
def test_false_alarms_near_the_level_when_the_error_sits_at_the_bar() -> None:
    # every probability is 0.05 too low: the true ECE is exactly max_ece. Measured fail
    # rates over 200 seeds: 7.5% at n=500, 3.5% at 2,000, 5.5% at 10,000 (level 5%);
    # 4.25% over the 400 seeds here (n=2,000). The bound is the level plus 3 standard
    # deviations of a rate measured over SEEDS seeds, as in test_drift_stats.py.
    seeds, alpha = 400, 0.05
    fails = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.1, 0.8, 2000)
        y = (rng.random(2000) < p + 0.05).astype(int)
        fails += not calibration_report(y, p, max_ece=0.05, seed=seed).passed
    assert fails / seeds <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / seeds)


def test_two_columns_are_binary_and_the_bins_are_reported() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 1000)
    y = (rng.random(1000) < p).astype(int)
    r = calibration_report(y, np.column_stack([1 - p, p]), bins=5)
    assert r.details["mode"] == "binary" and len(r.rows) == 5
    assert r.rows[0]["bin"] == "[0.00, 0.20)" and r.rows[-1]["bin"] == "[0.80, 1.00]"
    assert sum(row["n"] for row in r.rows) == 1000
    lo, hi = r.details["ece_ci"]
    assert 0 <= lo <= r.value <= hi + 0.01


@pytest.mark.parametrize(
    ("y", "proba", "kwargs", "message"),
    [
        ([0, 1], [0.2, 1.2], {}, r"proba must be probabilities in \[0, 1\]"),
        ([0, 1], [-0.1, 0.5], {}, r"proba must be probabilities in \[0, 1\]"),
        ([0, 1], [0.2, float("nan")], {}, "proba contains 1 NaN"),
        ([0, 1], [[0.2, 0.3, 0.4], [0.1, 0.1, 0.8]], {}, "each row of proba must sum to 1"),
        ([0, 3], [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]], {}, r"class indices 0\.\.2"),
        ([0, 2], [0.2, 0.5], {}, "y_true must hold 0/1"),
        ([0, 1, 1], [0.2, 0.5], {}, "y_true has 3 entries for 2 examples"),
        ([], [], {}, "proba must be P"),
        ([0, 1], [0.2, 0.5], {"bins": 0}, "bins must be an integer >= 1"),
        ([0, 1], [0.2, 0.5], {"max_ece": 2}, r"max_ece must be >= 0 and < 1, got 2"),
        ([0, 1], [0.2, 0.5], {"max_ece": 1.0}, "a bar of 1 or more could never fail"),
        ([0, 1], [0.2, 0.5], {"seed": -1}, "seed must be an integer from 0"),
        ([0, 1], [0.2, 0.5], {}, r"proba has 2 example\(s\); an interval needs at least 30"),
        ([0, 1], [0.2, 0.5], {"confidence": 0.2}, "confidence must be"),
        ([0, 1], "abc", {}, "proba must be numbers"),
    ],
)
def test_bad_input_names_the_argument(y, proba, kwargs, message) -> None:
    with pytest.raises(MltkUsageError, match=message):
        assert_calibrated(y, proba, **kwargs)


@st.composite
def hostile_calibration(draw):
    """Labels and probabilities of any length (around the minimum of 30 too), maybe
    spoiled in one way; and whether the gate has anything it could judge."""
    n = draw(st.sampled_from([0, 1, 2, 5, 29, 30, 31, 60]))
    proba = draw(st.lists(st.floats(0, 1), min_size=n, max_size=n))
    y = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    spoil = draw(st.sampled_from(["none", "nan", "inf", "above 1", "below 0", "label 2",
                                  "label -1", "length"]))  # fmt: skip
    if n and spoil != "none":
        i = draw(st.integers(0, n - 1))
        if spoil == "length":
            y = y[:-1]
        elif spoil.startswith("label"):
            y[i] = int(spoil.split()[1])
        else:
            proba[i] = {"nan": math.nan, "inf": math.inf, "above 1": 1.5, "below 0": -0.1}[spoil]
    degenerate = n < 30 or (n > 0 and spoil != "none")
    return y, proba, degenerate


@settings(max_examples=60, deadline=None)
@given(data=hostile_calibration(), bins=st.integers(-1, 12))
def test_hostile_input_gives_a_result_a_failure_or_a_usage_error(data, bins) -> None:
    # anything the gate cannot judge (NaN/inf or out-of-range probabilities, labels other
    # than 0/1, lengths that differ, fewer examples than an interval needs, no bins) is
    # a usage error; the rest is judged: a result or a failure, never another exception
    y, proba, degenerate = data
    degenerate = degenerate or bins < 1
    outcome, value = classify(calibration_report, y, proba, bins=bins, n_boot=100,
                              degenerate=degenerate)  # fmt: skip
    assert outcome in ("usage", "result"), (outcome, value)
    if degenerate:
        assert outcome == "usage", (outcome, value)
    else:
        assert value.details["n"] == len(y) >= 30


def test_recorded_without_rubric_items_and_drawn_as_a_reliability_diagram() -> None:
    logits, y = multiclass(1000, 0)
    recorder = Recorder("t::test_calibrated")
    token = recording(recorder)
    try:
        assert_calibrated(y, softmax(logits))
    finally:
        _CURRENT.reset(token)
    (data,) = recorder.results
    assert data["kind"] == "calibration" and data["items"] == [] and data["passed"]
    (section,) = renderer_for(data).sections([data])
    assert section.title.startswith("Calibration") and section.header[0] == "bin"
    assert "conf" in section.text  # the text rendering is always there
    pytest.importorskip("matplotlib")
    assert section.image and len(section.image) > 1000
