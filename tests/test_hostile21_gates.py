"""Issue 21, the statistical gates: every example input of the classes "unchecked seeds",
"no minimum evidence", "loose parameters" and "columns and names" ends in a usage error
naming the argument or in a failing result saying what was degenerate, and the clean
cases still pass.

fairness, calibration, baseline, weak slices, staleness, regression (and assert_slices,
which shares the label and threshold rules).
"""

from __future__ import annotations

import inspect
import math
import re

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from mlops_testkit import (
    MltkUsageError,
    assert_beats_baseline,
    assert_calibrated,
    assert_fairness,
    assert_no_regression,
    assert_no_weak_slices,
    assert_slices,
    assert_staleness_impact,
    baseline_report,
    calibration_report,
    fairness_report,
    find_weak_slices,
    regression_report,
    staleness_report,
)
from mlops_testkit.gates import _support

# --- data ------------------------------------------------------------------------------------


def decisions(rates, n, seed=0):
    """0/1 decisions for ``n`` members of each group, group i selected at ``rates[i]``."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.array([f"g{i}" for i in range(len(rates))]), n)
    return (rng.random(len(groups)) < np.repeat(np.asarray(rates), n)).astype(int), groups


def calibrated(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.95, n)
    return (rng.random(n) < p).astype(int), p


def classification(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] + rng.normal(0, 0.5, n) > 0).astype(int)
    return X, y, (X[:, 0] > 0).astype(int)


class Model:
    """Learned y = x > 0."""

    def predict(self, X):
        return (np.asarray(X)[:, 0] > 0).astype(int)


class Scorer:
    """P(y=1) = sigmoid(x): scores, not labels."""

    def predict(self, X):
        return 1 / (1 + np.exp(-np.asarray(X)[:, 0]))


def quarters(shifts, n=2000, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i, shift in enumerate(shifts):
        x = rng.normal(size=(n, 1))
        out[f"q{i + 1}"] = (x, (x[:, 0] + rng.normal(0, 0.3, n) > shift).astype(int))
    return out


def slices_data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"region": rng.choice(["n", "s"], n), "age": rng.integers(18, 80, n)})
    y = (rng.random(n) < 0.3).astype(int)
    return X, y, np.where(rng.random(n) < 0.85, y, 1 - y)


def paired(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random(n) < 0.8).astype(float), (rng.random(n) < 0.8).astype(float)


# the gates that draw a seeded bootstrap, called with clean data and one extra argument
P, G = decisions([0.45, 0.45], 400)
Y, PR = calibrated()
X, YB, CB = classification()
C, B = paired()
SEEDED = {
    "assert_fairness": lambda **kw: fairness_report(None, P, G, max_gap=0.1, **kw),
    "assert_calibrated": lambda **kw: calibration_report(Y, PR, **kw),
    "assert_beats_baseline": lambda **kw: baseline_report(YB, CB, metric="accuracy", **kw),
    "assert_staleness_impact": lambda **kw: staleness_report(
        Model(), quarters([0, 0]), metric="accuracy", max_decay=0.05, **kw
    ),
    "assert_no_regression": lambda **kw: regression_report(
        "acc", C.mean(), B.mean(), candidate_scores=C, baseline_scores=B, **kw
    ),
}


# --- class 1: unchecked seeds ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [-1, "x", 1.5, True, 2**32, None])
@pytest.mark.parametrize("where", sorted(SEEDED))
def test_a_seed_that_is_not_a_non_negative_integer_is_a_usage_error(where, seed) -> None:
    # before: -1, "x" and 1.5 reached numpy (ValueError / TypeError), True passed as 1
    with pytest.raises(MltkUsageError) as info:
        SEEDED[where](seed=seed)
    assert str(info.value) == (
        f"{where}: seed must be an integer from 0 to 4294967295, got {seed!r}"
    )


@pytest.mark.parametrize("where", sorted(SEEDED))
def test_numpy_integer_seeds_are_seeds(where) -> None:
    a, b = SEEDED[where](seed=np.int64(7)), SEEDED[where](seed=7)
    assert a.passed and a.details == b.details


def test_the_weak_slice_search_has_no_seed_it_is_deterministic() -> None:
    # find_weak_slices draws nothing (a z-test per slice): a seed= is Python's own
    # TypeError for an unknown keyword, and two runs give the same verdict
    assert "seed" not in inspect.signature(find_weak_slices).parameters
    X_, y, pred = slices_data()
    assert (
        find_weak_slices(X_, y, pred, metric="accuracy").details
        == find_weak_slices(X_, y, pred, metric="accuracy").details
    )


# --- class 2: minimum evidence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "proba"),
    [([1], [0.97]), ([1, 0, 1, 1, 0], [0.97, 0.03, 0.97, 0.97, 0.03]), calibrated(29, 1)],
)
def test_calibration_on_fewer_than_30_examples_is_a_usage_error(y, proba) -> None:
    # before: one example at 0.97 "certified" calibration (ECE 0.03, interval [0.03, 0.03])
    n = len(y)
    with pytest.raises(
        MltkUsageError,
        match=rf"assert_calibrated: proba has {n} example\(s\); " r"an interval needs at least 30",
    ):
        calibration_report(y, proba)
    with pytest.raises(MltkUsageError, match="an interval needs at least 30"):
        assert_calibrated(y, proba)


def test_calibration_from_30_examples_is_judged() -> None:
    y, p = calibrated(30, 2)
    r = calibration_report(y, p)
    assert r.details["n"] == 30
    lo, hi = r.details["ece_ci"]
    assert lo < hi  # the interval has a width
    with pytest.raises(AssertionError, match="binary ECE"):  # grossly off: fails from 30
        assert_calibrated([0] * 30, [0.9] * 30)


SEGMENTS = np.repeat(["a", "b", "c", "d"], 500)  # four segments of the 2,000 in Y, PR


@pytest.mark.parametrize("min_size", [0, 1, 29, -400, 30.0, "400", True, None])
def test_calibration_segments_need_a_min_size_of_at_least_30(min_size) -> None:
    # an integer >= 30: a bound on fewer examples proves nothing; None is the default 400
    if min_size is None:
        assert calibration_report(Y, PR, segments=SEGMENTS).details["min_size"] == 400
        return
    with pytest.raises(
        MltkUsageError,
        match=rf"assert_calibrated: min_size must be an integer >= 30, got {re.escape(repr(min_size))}",
    ):
        calibration_report(Y, PR, segments=SEGMENTS, min_size=min_size)


def test_calibration_with_no_segment_of_min_size_fails_for_lack_of_evidence() -> None:
    # before segments were judged, the overall ECE passed alone: no segment is no evidence
    r = calibration_report(Y, PR, segments=SEGMENTS, min_size=501)
    assert not r.passed and r.details["judged"] == 0
    assert "no evidence: all 4 segment(s) have fewer than min_size=501" in r.threshold
    with pytest.raises(AssertionError, match="no evidence"):
        assert_calibrated(Y, PR, segments=SEGMENTS, min_size=501)
    assert calibration_report(Y, PR, segments=SEGMENTS, min_size=500).passed


@pytest.mark.parametrize("seed", [-1, "x", 1.5, True])
def test_segmented_calibration_checks_its_seed_too(seed) -> None:
    with pytest.raises(MltkUsageError, match="assert_calibrated: seed must be an integer"):
        calibration_report(Y, PR, segments=SEGMENTS, seed=seed)


@pytest.mark.parametrize("n", [1, 2, 29])
def test_staleness_with_fewer_than_30_examples_in_a_period_is_a_usage_error(n) -> None:
    # before: one or two examples per period passed (decay 0, interval [0, 0])
    data = {"q1": (np.ones((n, 1)), [1] * n), "q2": (np.full((n, 1), 2.0), [1] * n)}
    with pytest.raises(
        MltkUsageError,
        match=rf"assert_staleness_impact: datasets_by_period"
        rf"\['q1'\] has {n} example\(s\); an interval needs at least 30",
    ):
        staleness_report(Model(), data, metric="accuracy", max_decay=0.05)


def test_baseline_with_fewer_than_30_examples_is_a_usage_error() -> None:
    # before: 10 examples passed (the bootstrap of 10 exact answers has no width)
    with pytest.raises(
        MltkUsageError,
        match=r"assert_beats_baseline: y_true has 10 example\(s\);"
        " an interval needs at least 30",
    ):
        baseline_report([0, 1] * 5, [0, 1] * 5, metric="accuracy")


def test_baseline_resamples_where_roc_auc_is_undefined_fail_the_gate() -> None:
    # 2 positives of 40: ~4% of resamples have none, and roc_auc is NaN there. Before,
    # those were dropped and the bound came from the rest: the gate passed
    y = np.array([1, 1] + [0] * 38)
    scores = y * 0.9 + 0.05
    r = baseline_report(y, scores, metric="roc_auc")
    assert not r.passed
    assert re.search(
        r"no interval: the roc_auc difference is undefined \(NaN or infinite\) "
        r"on \d+ of 2000 bootstrap resamples",
        r.details["problem"],
    )
    assert r.details["problem"] in r.threshold  # the headline says why
    with pytest.raises(AssertionError, match="no interval: the roc_auc difference"):
        assert_beats_baseline(y, scores, metric="roc_auc")


def test_staleness_resamples_where_roc_auc_is_undefined_fail_the_gate() -> None:
    y = np.array([1] * 3 + [0] * 57)
    X_ = np.where(y == 1, 1.0, -1.0)[:, None]
    r = staleness_report(
        Scorer(), {"q1": (X_, y), "q2": (X_, y)}, metric="roc_auc", max_decay=0.05
    )
    assert not r.passed and "of period 'q1'" in r.details["problem"]
    assert "no interval: roc_auc of period 'q1' is undefined" in r.threshold
    # measured only (no bar): the curve's intervals are still not there
    assert not staleness_report(Scorer(), {"q1": (X_, y), "q2": (X_, y)}, metric="roc_auc").passed


def test_fairness_groups_need_30_members() -> None:
    # before: two groups of two, all selected, passed max_gap=0.1 (interval [0, 0])
    with pytest.raises(
        MltkUsageError,
        match=r"assert_fairness: min_group_size must be an "
        r"integer >= 30, got 1 \(a smaller group",
    ):
        fairness_report(None, [1, 1, 1, 1], ["a", "a", "b", "b"], max_gap=0.1, min_group_size=1)
    with pytest.raises(MltkUsageError, match=r"2 group\(s\) smaller than min_group_size=30"):
        fairness_report(None, [1, 1, 1, 1], ["a", "a", "b", "b"], max_gap=0.1)


def test_fairness_resamples_where_a_callable_metric_is_undefined_fail_the_gate() -> None:
    # precision is NaN in resamples without a positive decision; before, the gate failed
    # for a wrong reason ("the gap is above 0.1") with NaN bounds
    def precision(t, p):
        return float((t[p == 1] == 1).mean()) if (p == 1).any() else float("nan")

    pred = np.array(([1] + [0] * 29) * 2)
    groups = np.repeat(["a", "b"], 30)
    r = fairness_report(pred, pred, groups, metric=precision, max_gap=0.1, n_boot=200)
    assert not r.passed
    (why,) = r.details["failed"]
    assert why.startswith("no interval: precision of a group is undefined (NaN or infinite)")
    assert all(math.isnan(v) for v in (*r.details["gap_ci"], *r.details["ratio_ci"]))
    with pytest.raises(AssertionError, match="failed because no interval"):
        assert_fairness(pred, pred, groups, metric=precision, max_gap=0.1, n_boot=200)


def test_weak_slices_need_30_examples_per_slice_and_rest() -> None:
    # before: 8 examples with min_size=2 passed (nothing can be significant)
    with pytest.raises(
        MltkUsageError,
        match=r"find_weak_slices: min_size must be an integer " r">= 30, got 2 \(the z-test",
    ):
        find_weak_slices(
            {"f": ["a", "b"] * 4},
            [1, 0] * 4,
            [0, 1, 0, 1, 1, 0, 1, 0],
            metric="accuracy",
            min_size=2,
        )
    # a slice of 70 whose rest is 10: its rest is too small to compare with
    with pytest.raises(
        MltkUsageError,
        match="no slice has at least min_size=30 examples and " "leaves as many out",
    ):
        find_weak_slices(
            {"f": ["a"] * 70 + ["b"] * 10}, [1] * 80, [1] * 80, metric="accuracy", min_size=30
        )


def test_regression_needs_30_paired_scores() -> None:
    # before: two paired scores passed a candidate that lost half its accuracy
    with pytest.raises(
        MltkUsageError,
        match=r"assert_no_regression: candidate_scores has 2 "
        r"example\(s\); an interval needs at least 30",
    ):
        regression_report("acc", 0.5, 1.0, candidate_scores=[1.0, 0.0], baseline_scores=[1.0, 1.0])


def test_resamples_are_never_dropped_from_bounds() -> None:
    resampled = np.array([0.1, 0.2, math.nan] + [0.15] * 97)
    assert all(math.isnan(v) for v in _support.percentile(resampled, 0.95))
    assert all(math.isnan(v) for v in _support.bounds(0.15, resampled, 0.95))
    assert _support.undefined(resampled, "x").startswith("no interval: x is undefined")
    assert _support.undefined(resampled[:2], "x") is None


# --- class 4: loose parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"higher_is_better": "false"}, "higher_is_better must be True or False, got 'false'"),
        ({"higher_is_better": 0}, "higher_is_better must be True or False, got 0"),
        ({"relative": "no"}, "relative must be True or False, got 'no'"),
        ({"relative": 1}, "relative must be True or False, got 1"),
        ({"tolerance": math.inf}, "tolerance must be a finite number, got inf"),
        (
            {"tolerance": 1.0, "relative": True},
            r"tolerance must be >= 0 and < 1, got 1\.0 \(a relative tolerance of 1 or more",
        ),
        ({"confidence": 0.01}, r"confidence must be a number in \[0\.5, 1\), got 0\.01"),
        ({"n_boot": 99}, "n_boot must be an integer >= 100, got 99"),
    ],
)
def test_regression_refuses_loose_parameters(kwargs, message) -> None:
    # before: "false" and 0 were truth-tested (a loss of 10.5 vs 10 passed as "higher is
    # better"), a relative tolerance of 1 let an AUC of 0 pass against 0.8
    with pytest.raises(MltkUsageError, match="assert_no_regression: " + message):
        regression_report("mae", 10.5, 10.0, **kwargs)
    with pytest.raises(MltkUsageError, match=message):
        assert_no_regression("mae", 10.5, 10.0, **kwargs)


def test_regression_takes_real_and_numpy_booleans() -> None:
    assert regression_report("mae", 9.9, 10.0, higher_is_better=False).passed
    assert not regression_report("mae", 10.5, 10.0, higher_is_better=np.bool_(False)).passed
    assert regression_report("auc", 0.79, 0.80, tolerance=0.02, relative=np.True_).passed


@pytest.mark.parametrize("where", sorted(SEEDED))
@pytest.mark.parametrize("confidence", [0.01, 0.49, 1.0, 1.5, math.nan, "0.95", True])
def test_a_confidence_outside_half_to_one_is_a_usage_error(where, confidence) -> None:
    with pytest.raises(
        MltkUsageError, match=rf"{where}: confidence must be a number in " r"\[0\.5, 1\)"
    ):
        SEEDED[where](confidence=confidence)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: calibration_report([0] * 100, [1.0] * 100, max_ece=1.0),
            r"assert_calibrated: max_ece must be >= 0 and < 1, got 1\.0 \(an ECE is at most 1: "
            "a bar of 1 or more could never fail",
        ),
        (
            lambda: fairness_report(None, *decisions([0.6, 0.35], 400), max_gap=1.0),
            r"assert_fairness: max_gap must be >= 0 and < 1, got 1\.0 \(selection_rate is a "
            "rate: a gap of 1 or more could never be exceeded",
        ),
        (
            lambda: fairness_report(None, *decisions([0.6, 0.35], 400), min_ratio=0.0),
            r"assert_fairness: min_ratio must be > 0 and <= 1, got 0\.0 \(a ratio min / max "
            "is never below 0",
        ),
        (
            lambda: find_weak_slices(*slices_data(), metric="accuracy", max_gap=1.0),
            r"find_weak_slices: max_gap must be >= 0 and < 1, got 1\.0 \(accuracy scores lie "
            r"in \[0, 1\]",
        ),
        (
            lambda: staleness_report(Model(), quarters([0, 3]), metric="accuracy", max_decay=1.0),
            r"assert_staleness_impact: max_decay must be < 1, got 1\.0 \(accuracy lies in "
            r"\[0, 1\]: a decay of 1 or more could never be exceeded",
        ),
        (
            lambda: baseline_report(YB, 1 - YB, metric="accuracy", margin=-1.0),
            r"assert_beats_baseline: margin must be > -1, got -1\.0 \(accuracy lies in "
            r"\[0, 1\]: a margin of -1 or less could never fail",
        ),
        (
            lambda: assert_slices(
                [0, 1] * 20, [0, 1] * 20, ["a", "b"] * 20, metric="accuracy", max_gap=1.0
            ),
            r"assert_slices: max_gap must be >= 0 and < 1, got 1\.0",
        ),
    ],
)
def test_a_threshold_that_could_never_fail_is_a_usage_error(call, message) -> None:
    # before: each of these passed (an ECE of 1 against max_ece=1, a gap of 0.23 against
    # max_gap=1, a ratio of 0.59 against min_ratio=0, a decay of 0.4 against 1, a model
    # that is always wrong against margin=-1)
    with pytest.raises(MltkUsageError, match=message):
        call()


def test_a_threshold_for_an_unbounded_metric_is_not_capped() -> None:
    # mae and callables have no upper end: a large bar is a choice, not a mistake
    X_, y, _ = slices_data()
    assert find_weak_slices(X_, y, y * 0.5, metric="mae", max_gap=5.0).passed
    assert staleness_report(Model(), quarters([0, 0]), metric="mae", max_decay=5.0).passed


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: find_weak_slices(*slices_data()[:2], np.linspace(-3, 4, 2000), metric="brier"),
            r"find_weak_slices: brier needs probabilities in \[0, 1\] in y_pred, found values "
            "from -3 to 4",
        ),
        (
            lambda: find_weak_slices(
                slices_data()[0], slices_data()[1] * 5, np.full(2000, 0.3), metric="brier"
            ),
            "find_weak_slices: y_true must hold 0/1 labels or decisions, found 5",
        ),
        (
            lambda: find_weak_slices(
                slices_data()[0], slices_data()[1] * 5, np.full(2000, 0.3), metric="log_loss"
            ),
            "find_weak_slices: y_true must hold 0/1 labels or decisions, found 5",
        ),
    ],
)
def test_brier_and_log_loss_refuse_what_is_not_a_probability_or_an_outcome(call, message):
    # before: probabilities from -3 to 4, or outcomes of 5, passed metric="brier"
    with pytest.raises(MltkUsageError, match=message):
        call()


def test_scores_where_accuracy_compares_labels_are_a_usage_error() -> None:
    # before: scores gave accuracy 0 in every slice (every period, every model) and the
    # weak-slice and staleness gates passed; the baseline gate failed for a wrong reason
    X_, y, _ = slices_data()
    wrong_in_s = 0.2 + 0.6 * np.where(X_["region"] == "s", 1 - y, y)
    hint = r"threshold them first, e\.g\. \(scores >= 0\.5\)\.astype\(int\)"
    with pytest.raises(
        MltkUsageError,
        match=r"find_weak_slices: found scores \(e\.g\. 0\.2\) "
        r"in y_pred where metric 'accuracy' compares labels; " + hint,
    ):
        find_weak_slices(X_, y, wrong_in_s, metric="accuracy")
    with pytest.raises(MltkUsageError, match=r"found scores .* in y_pred"):
        assert_no_weak_slices(X_, y, wrong_in_s, metric="accuracy")
    with pytest.raises(
        MltkUsageError,
        match=r"assert_staleness_impact: found scores \(e\.g\. "
        r"[\d.]+\) in the predictions for period 'q1'",
    ):
        staleness_report(Scorer(), quarters([0, 1.5]), metric="accuracy", max_decay=0.05)
    with pytest.raises(
        MltkUsageError,
        match=r"assert_beats_baseline: found scores \(e\.g\. " r"0\.1\) in candidate_pred",
    ):
        baseline_report(YB, np.where(YB == 1, 0.9, 0.1), metric="accuracy")
    with pytest.raises(MltkUsageError, match=r"found scores .* in the predictions of baseline"):
        baseline_report(YB, CB, metric="accuracy", baseline=lambda X, y: np.full(len(y), 0.5))
    with pytest.raises(MltkUsageError, match=r"assert_slices: found scores .* in y_pred"):
        assert_slices(y, np.full(len(y), 0.3), X_["region"], metric="accuracy", max_gap=0.05)
    with pytest.raises(MltkUsageError, match="y_true must hold 0/1 labels for metric 'f1'"):
        baseline_report(np.arange(400) % 3, np.arange(400) % 2, metric="f1")
    with pytest.raises(MltkUsageError, match="y_true must hold 0/1 labels for metric 'roc_auc'"):
        staleness_report(
            Scorer(), {k: (x, y * 2) for k, (x, y) in quarters([0, 0]).items()}, metric="roc_auc"
        )


def test_labels_of_several_classes_are_still_labels() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 600)
    pred = np.where(rng.random(600) < 0.9, y, (y + 1) % 3)
    assert baseline_report(y, pred, metric="accuracy").passed
    X_ = {"f": rng.choice(["a", "b"], 600)}
    assert find_weak_slices(X_, y, pred, metric="accuracy").passed


# --- class 5: columns and names ----------------------------------------------------------------


def _two_attributes(n=400):
    biased = np.tile(["u", "v"], n // 2)  # decisions follow this one
    fair = np.repeat(["x", "y"], n // 2)
    return (biased == "u").astype(int), biased, fair


@pytest.mark.parametrize("frame", [dict, pd.DataFrame])
def test_sensitive_columns_named_0_and_text_0_are_refused(frame) -> None:
    # before: {0: biased, "0": fair} kept only "0" (the fair one): the gate passed
    pred, biased, fair = _two_attributes()
    with pytest.raises(
        MltkUsageError,
        match=r"assert_fairness: sensitive has 2 columns named "
        r"'0' as text \(0, '0'\); .* rename one",
    ):
        fairness_report(None, pred, frame({0: biased, "0": fair}), max_gap=0.1)


def test_weak_slice_features_named_0_and_text_0_are_refused() -> None:
    _, biased, fair = _two_attributes()
    right = np.where((biased == "u") & (np.arange(400) % 4 < 2), 0.0, 1.0)
    with pytest.raises(
        MltkUsageError, match=r"find_weak_slices: X has 2 columns named '0' " r"as text"
    ):
        find_weak_slices({0: biased, "0": fair}, np.ones(400), right, metric="accuracy")


def test_duplicated_dataframe_columns_are_refused() -> None:
    pred, biased, fair = _two_attributes()
    frame = pd.DataFrame(np.column_stack([biased, fair]), columns=["a", "a"])
    with pytest.raises(MltkUsageError, match="sensitive has 2 columns named 'a' as text"):
        fairness_report(None, pred, frame, max_gap=0.1)


def test_two_differently_named_columns_keep_the_biased_one() -> None:
    pred, biased, fair = _two_attributes()
    r = fairness_report(None, pred, {0: biased, "1": fair}, max_gap=0.1)
    assert r.details["sensitive"] == ["0", "1"] and not r.passed
    assert {g["group"] for g in r.details["groups"]} == {
        "0=u, 1=x",
        "0=u, 1=y",
        "0=v, 1=x",
        "0=v, 1=y",
    }


@pytest.mark.parametrize("frame", [dict, pd.DataFrame])
def test_calibration_segment_columns_named_0_and_text_0_are_refused(frame) -> None:
    other = np.tile(["x", "y"], 1000)
    with pytest.raises(
        MltkUsageError, match=r"assert_calibrated: segments has 2 columns named '0' as text"
    ):
        calibration_report(Y, PR, segments=frame({0: SEGMENTS, "0": other}))


@pytest.mark.parametrize("missing", [None, math.nan, pd.NA])
def test_calibration_segments_with_a_missing_label_are_refused(missing) -> None:
    # a missing label is no segment: it would be judged as a segment called "NaN"
    labels = SEGMENTS.astype(object)
    labels[7] = missing
    with pytest.raises(
        MltkUsageError,
        match=r"assert_calibrated: segments column 'segments' has 1 missing label",
    ):
        calibration_report(Y, PR, segments=labels)


@pytest.mark.parametrize("cut", [1, 1999, 2000])
def test_calibration_segments_of_another_length_are_refused(cut) -> None:
    with pytest.raises(MltkUsageError, match=r"assert_calibrated: segments .*for 2000 examples"):
        calibration_report(Y, PR, segments=SEGMENTS[cut:])


# --- the clean cases still pass ----------------------------------------------------------------


def test_a_well_calibrated_model_with_enough_data_passes() -> None:
    for seed in range(5):
        y, p = calibrated(2000, seed)
        assert assert_calibrated(y, p, seed=seed).passed
        assert assert_calibrated(y, p, seed=seed, segments=SEGMENTS).passed


def test_a_fair_policy_passes_and_a_biased_one_fails() -> None:
    pred, groups = decisions([0.45, 0.45], 400, 1)
    assert assert_fairness(None, pred, groups, min_ratio=0.8, max_gap=0.1).passed
    biased, groups = decisions([0.6, 0.35], 400, 1)
    with pytest.raises(AssertionError, match=r"ratio is below 0\.8"):
        assert_fairness(None, biased, groups, min_ratio=0.8)


def test_a_good_model_beats_the_baseline_also_on_scores() -> None:
    assert assert_beats_baseline(YB, CB, metric="accuracy").passed
    rng = np.random.default_rng(3)
    X_, y, _ = classification(2000, 3)
    r = baseline_report(y, X_[:, 0] + rng.normal(0, 0.1, 2000), metric="roc_auc")
    assert r.passed and "problem" not in r.details


def test_a_stable_model_passes_staleness_and_roc_auc_with_both_classes_is_judged() -> None:
    assert assert_staleness_impact(
        Model(), quarters([0, 0]), metric="accuracy", max_decay=0.05
    ).passed
    r = staleness_report(
        Scorer(), quarters([0, 0], n=500), metric="roc_auc", max_decay=0.05, n_boot=200
    )
    assert r.passed and "problem" not in r.details


def test_clean_data_has_no_weak_slice_and_an_equal_candidate_does_not_regress() -> None:
    X_, y, pred = slices_data()
    assert assert_no_weak_slices(X_, y, pred, metric="accuracy").passed
    assert assert_no_regression(
        "acc", C.mean(), C.mean(), candidate_scores=C, baseline_scores=C
    ).passed
