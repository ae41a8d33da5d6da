"""drift_report / assert_no_drift: verdicts, corrections, missing values, bad input."""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("scipy")

from mlops_testkit import (
    MltkUsageError,
    adjust_p_values,
    assert_no_drift,
    drift_report,
)


def frame(n: int, seed: int, shift: float = 0.0, p=(0.5, 0.3, 0.2)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.exponential(size=n),
            "city": rng.choice(["a", "b", "c"], size=n, p=list(p)),
            "flag": rng.random(n) < 0.5,
        }
    )


def test_same_distribution_passes() -> None:
    report = assert_no_drift(frame(2000, 1), frame(2000, 2))
    assert report.passed and {r.column for r in report.rows} == {"x", "y", "city", "flag"}
    kinds = {r.column: r.kind for r in report.rows}
    assert kinds == {"x": "numeric", "y": "numeric", "city": "categorical", "flag": "categorical"}


def test_shift_fails_with_headline_and_table() -> None:
    with pytest.raises(AssertionError) as exc:
        assert_no_drift(frame(2000, 1), frame(2000, 2, shift=0.5, p=(0.2, 0.3, 0.5)))
    text = str(exc.value)
    assert text.startswith("2 of 4 columns drifted (alpha 0.05, Holm): ")
    header = next(line for line in text.splitlines() if line.startswith("column"))
    for col in ("method", "statistic", "p-value", "adjusted p", "threshold", "verdict"):
        assert col in header
    table = text.split(header, 1)[1].strip().splitlines()
    assert {table[0].split()[0], table[1].split()[0]} == {"x", "city"}  # drifted first
    assert "DRIFT" in table[0] and "DRIFT" in table[1] and "ok" in table[2]


def test_unseen_categories_are_drift_not_a_crash() -> None:
    ref = pd.DataFrame({"city": ["a", "b"] * 200})
    cur = pd.DataFrame({"city": ["a", "b", "zzz", "new"] * 100})
    report = drift_report(ref, cur)
    assert report.drifted == ["city"]
    assert "unseen: zzz, new" in report.rows[0].note


def test_size_aware_auto_switches_to_effect_sizes() -> None:
    small = drift_report(frame(500, 1), frame(500, 2))
    assert {r.method for r in small.rows} == {"ks", "chi2"}
    big_ref, big_cur = frame(30_000, 1), frame(30_000, 2, shift=0.03)
    big = drift_report(big_ref, big_cur)
    assert {r.method for r in big.rows} == {"wasserstein", "jensenshannon"}
    x = next(r for r in big.rows if r.column == "x")
    # a 0.03-SD shift is significant at this size but far under the 0.1 threshold
    assert x.p_value < 0.05 and x.statistic < 0.1 and not x.drifted
    assert drift_report(big_ref, big_cur, method="ks").drifted == ["x"]


def test_effect_size_verdict_is_gated_by_the_test() -> None:
    # tiny samples: the effect looks big by chance, the test says it is noise
    rng = np.random.default_rng(3)
    ref, cur = pd.DataFrame({"x": rng.normal(size=8)}), pd.DataFrame({"x": rng.normal(size=8)})
    row = drift_report(ref, cur, method="wasserstein").rows[0]
    assert row.statistic > row.threshold and row.p_adjusted >= 0.05 and not row.drifted


def test_method_per_column_and_thresholds() -> None:
    ref, cur = frame(3000, 1), frame(3000, 2, shift=0.5)  # PSI ~ 0.25
    report = drift_report(ref, cur, method={"x": "psi", "y": "wasserstein"})
    methods = {r.column: r.method for r in report.rows}
    assert methods == {"x": "psi", "y": "wasserstein", "city": "chi2", "flag": "chi2"}
    x = next(r for r in report.rows if r.column == "x")
    assert x.threshold == 0.1 and x.drifted
    loose = drift_report(ref, cur, method={"x": "psi"}, thresholds={"x": 5.0})
    assert not next(r for r in loose.rows if r.column == "x").drifted
    assert drift_report(ref, cur, method="wasserstein", thresholds={"wasserstein": 0.5}).passed


def test_a_global_method_uses_its_counterpart_where_it_does_not_fit() -> None:
    methods = {
        r.column: r.method
        for r in drift_report(frame(300, 1), frame(300, 2), method="wasserstein").rows
    }
    assert methods == {
        "x": "wasserstein",
        "y": "wasserstein",
        "city": "jensenshannon",
        "flag": "jensenshannon",
    }
    with pytest.raises(MltkUsageError, match="'chi2' does not apply to numeric column 'x'"):
        drift_report(frame(300, 1), frame(300, 2), method={"x": "chi2"})
    with pytest.raises(MltkUsageError, match="'ks' does not apply to categorical column 'city'"):
        drift_report(frame(300, 1), frame(300, 2), method={"city": "ks"})


def test_categorical_override() -> None:
    ref = pd.DataFrame({"code": np.repeat([1, 2, 3], 100)})
    report = drift_report(ref, ref.copy(), categorical=["code"])
    assert report.rows[0].kind == "categorical" and report.rows[0].method == "chi2"


def test_missing_values_are_counted_not_dropped() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    ref = pd.DataFrame({"x": x[:2000], "c": ["a", "b"] * 1000})
    cur_x = x[2000:].copy()
    cur_x[:600] = np.nan  # 30% missing now: the feature pipeline broke for some rows
    cur = pd.DataFrame({"x": cur_x, "c": ["a", None] * 1000})
    report = drift_report(ref, cur)
    rows = {r.column: r for r in report.rows}
    assert rows["x"].missing_current == pytest.approx(0.3) and rows["x"].drifted
    assert rows["c"].missing_current == pytest.approx(0.5) and rows["c"].drifted
    assert "(missing)" in rows["c"].note


def test_missing_share_moves_under_effect_sizes() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=20_000)})
    cur_x = rng.normal(size=20_000)
    cur_x[:4000] = np.nan
    row = drift_report(ref, pd.DataFrame({"x": cur_x})).rows[0]
    assert row.method == "wasserstein" and row.statistic < 0.1
    assert row.drifted and "missing share moved" in row.note


def test_all_missing_current_column_drifts_and_reference_is_an_error() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0] * 20})
    cur = pd.DataFrame({"x": [np.nan] * 60})
    row = drift_report(ref, cur).rows[0]
    assert row.drifted and row.note == "all missing in current" and math.isinf(row.statistic)
    with pytest.raises(
        MltkUsageError, match=r"column 'x' has no value in reference \(all 60 missing\)"
    ):
        drift_report(cur, ref)


def test_adjust_p_values_against_known_values() -> None:
    p = [0.01, 0.04, 0.03, 0.20]
    assert adjust_p_values(p, "bonferroni") == pytest.approx([0.04, 0.16, 0.12, 0.8])
    assert adjust_p_values(p, "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust_p_values(p, "bh") == pytest.approx([0.04, 0.0533333, 0.0533333, 0.2])
    assert adjust_p_values(p, "none") == p


@pytest.mark.slow
def test_correction_keeps_the_family_wise_false_alarm_rate_on_wide_tables() -> None:
    """200 fixed seeds of 60 columns with no drift at all (300 rows a side). Uncorrected,
    almost every table raises a false alarm (1 - 0.95**60 = 95%); with Holm the share of
    tables with any alarm is at most alpha plus 3 standard errors (0.05 + 3 * 0.0154)."""
    seeds, family_alarms, raw_alarms = 200, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        ref = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(60)})
        cur = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(60)})
        report = drift_report(ref, cur, correction="holm")
        family_alarms += not report.passed
        raw_alarms += any(r.p_value < 0.05 for r in report.rows)  # what "none" would flag
    bound = 0.05 + 3 * (0.05 * 0.95 / seeds) ** 0.5
    assert family_alarms / seeds <= bound, family_alarms
    assert raw_alarms / seeds >= 0.85, raw_alarms


def test_no_correction_flags_what_holm_would_not() -> None:
    rng = np.random.default_rng(11)
    ref = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(60)})
    cur = pd.DataFrame({f"c{i}": rng.normal(size=300) for i in range(60)})
    none, holm = drift_report(ref, cur, correction="none"), drift_report(
        ref, cur, correction="holm"
    )
    assert {r.column for r in none.rows if r.drifted} == {
        r.column for r in none.rows if r.p_value < 0.05
    }  # fmt: skip
    assert all(r.p_adjusted >= r.p_value for r in holm.rows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reference": [1, 2]}, "reference must be a pandas DataFrame, got list"),
        ({"current": pd.DataFrame()}, "current is an empty DataFrame"),
        ({"current": pd.DataFrame({"x": [1.0]})}, r"column\(s\) \['city'\] missing from current"),
        ({"columns": ["nope"]}, r"column\(s\) \['nope'\] missing from reference"),
        ({"method": "magic"}, "unknown method 'magic'"),
        ({"correction": "fdr"}, "correction must be one of holm, bh, bonferroni, none"),
        ({"alpha": 1.5}, r"alpha must be in \(0, 1\)"),
        (
            {"thresholds": {"x": -1}, "method": "wasserstein"},
            "threshold for 'x' .* must be a number >= 0",
        ),
        ({"categorical": ["ghost"]}, "categorical names \\['ghost'\\]"),
    ],
)
def test_bad_input_is_named(kwargs, message) -> None:
    args = {"reference": pd.DataFrame({"x": [1.0, 2.0], "city": ["a", "b"]})}
    args["current"] = args["reference"].copy()
    args.update(kwargs)
    with pytest.raises(MltkUsageError, match=message):
        drift_report(args.pop("reference"), args.pop("current"), **args)


def test_mismatched_dtypes_name_the_column() -> None:
    ref = pd.DataFrame({"age": [30, 40, 50]})
    cur = pd.DataFrame({"age": ["30", "forty", "50"]})
    with pytest.raises(
        MltkUsageError,
        match=r"column 'age' is int64 in reference but .* in current.*categorical=\['age'\]",
    ):
        drift_report(ref, cur)


def test_report_is_data() -> None:
    report = drift_report(frame(300, 1), frame(300, 2))
    rows = report.as_dicts()
    assert {
        "column",
        "method",
        "statistic",
        "p_value",
        "p_adjusted",
        "threshold",
        "verdict",
    } <= set(rows[0])
    assert list(report.to_frame()["column"]) == [r["column"] for r in rows]
