"""assert_no_target_leakage: a feature that predicts the label suspiciously well alone."""

from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from mlops_testkit import MltkUsageError, assert_no_target_leakage, target_leakage_report


def applications(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Loan applications with real but moderate signal, and the outcome."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.4, n)
    debt = income * rng.beta(2, 5, n)
    late = rng.poisson(1.0, n)
    region = rng.choice(["north", "south", "east"], n)
    logit = -1.5 + 2.0 * debt / income + 0.4 * late + 0.2 * (region == "south")
    defaulted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(
        {
            "application_id": rng.permutation(n),
            "income": income,
            "debt": debt,
            "late_payments": late,
            "region": region,
            "defaulted": defaulted,
        }
    )


def with_approved_at(df: pd.DataFrame) -> pd.DataFrame:
    """A field filled in after the outcome: only loans that were repaid get a date."""
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(df)), "h")
    return df.assign(approved_at=pd.Series(dates).where(df["defaulted"] == 0))


def test_clean_applications_pass() -> None:
    result = assert_no_target_leakage(applications(), "defaulted")
    assert result.passed and result.task == "binary" and result.metric == "ROC AUC"
    assert {r["feature"] for r in result.rows} == {
        "application_id", "income", "debt", "late_payments", "region"
    }  # fmt: skip
    assert all(r["score"] < 0.8 for r in result.rows)


def test_an_approved_at_column_that_leaks_the_label_is_named() -> None:
    with pytest.raises(AssertionError) as exc:
        assert_no_target_leakage(with_approved_at(applications()), "defaulted")
    text = str(exc.value)
    assert text.startswith("1 of 6 features predict 'defaulted' suspiciously well")
    assert text.split("\n\n")[1].splitlines()[1].startswith("approved_at")


def test_the_label_in_disguise_and_an_id_that_encodes_it() -> None:
    df = applications()
    disguised = df.assign(status=np.where(df["defaulted"] == 1, "collections", "closed"))
    assert target_leakage_report(disguised, "defaulted").leaks == ["status"]
    # IDs handed out after the outcome: defaulted loans were renumbered last
    order = np.argsort(df["defaulted"].to_numpy() + np.random.default_rng(1).random(len(df)) * 1.6)
    ids = df.assign(application_id=np.argsort(order))
    report = target_leakage_report(ids, "defaulted")
    assert report.leaks == ["application_id"]
    assert report.rows[0]["verdict"].startswith("LEAK: skill")  # far above the others
    assert report.rows[0]["score"] < 0.95  # caught by the gap rule, not by max_score
    # without the gap rule the label-copy rule still sees it: the renumbered ID says
    # nothing about the applicant once the outcome is known
    assert target_leakage_report(ids, "defaulted", max_gap=None).leaks == ["application_id"]
    assert target_leakage_report(ids, "defaulted", max_gap=None, label_copies=False).passed


def test_no_false_alarm_and_full_power_over_seeds() -> None:
    """20 fixed seeds: the clean table never alarms, the leaking column always does."""
    false_alarms = caught = 0
    for seed in range(20):
        df = applications(1500, seed)
        false_alarms += not target_leakage_report(df, "defaulted", seed=seed).passed
        caught += target_leakage_report(with_approved_at(df), "defaulted", seed=seed).leaks == [
            "approved_at"
        ]
    assert false_alarms == 0
    assert caught == 20


def test_multiclass_and_regression_targets() -> None:
    df = applications(2000)
    df["grade"] = pd.cut(df["debt"] / df["income"], [0, 0.2, 0.4, 1.0], labels=False)
    multi = target_leakage_report(df.drop(columns="defaulted"), "grade", max_gap=None)
    assert multi.task == "multiclass" and multi.metric == "macro AUC"
    assert multi.leaks == []  # debt alone does not give the ratio: below max_score
    df["ratio"] = df["debt"] / df["income"]
    leak = target_leakage_report(df.drop(columns=["defaulted"]), "grade")
    assert leak.leaks == ["ratio"]
    reg = target_leakage_report(df.drop(columns=["grade", "ratio"]), "income")
    assert reg.task == "regression" and reg.metric == "R²"
    assert reg.leaks == []  # debt is a noisy share of income: R² below 0.95
    reg2 = target_leakage_report(df.assign(monthly=df["income"] / 12), "income")
    assert "monthly" in reg2.leaks


def test_large_frames_are_sampled() -> None:
    df = applications(5000)
    report = target_leakage_report(df, "defaulted", max_rows=1000)
    assert report.n_rows == 1000 and report.passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": "nope"}, "target 'nope' is not a column"),
        ({"target": "region"}, "target column 'region' is .*not numeric; ROC AUC needs numeric"),
        ({"target": "defaulted", "features": ["defaulted"]}, "features include the target"),
        ({"target": "defaulted", "features": ["nope"]}, r"feature column\(s\) \['nope'\]"),
        ({"target": "defaulted", "task": "ranking"}, "task must be one of"),
        ({"target": "debt", "task": "binary"}, "task='binary' but target column 'debt'"),
        ({"target": "defaulted", "max_score": 2}, "max_score must be"),
        ({"target": "defaulted", "max_rows": 3}, "max_rows must be"),
    ],
)
def test_bad_input_is_a_usage_error_naming_it(kwargs, match) -> None:
    with pytest.raises(MltkUsageError, match=match):
        target_leakage_report(applications(200), **kwargs)


def test_degenerate_targets_are_usage_errors() -> None:
    df = applications(200)
    with pytest.raises(MltkUsageError, match="'defaulted' is constant"):
        target_leakage_report(df.assign(defaulted=1), "defaulted")
    with pytest.raises(MltkUsageError, match="'defaulted' has 1 missing value"):
        target_leakage_report(
            df.assign(defaulted=df["defaulted"].where(df.index > 0)), "defaulted"
        )
    with pytest.raises(MltkUsageError, match="at least 30"):
        target_leakage_report(df.head(10), "defaulted")


def test_a_feature_with_no_usable_value_is_not_scored_and_nothing_scored_fails() -> None:
    df = applications(200)[["defaulted"]].assign(empty=np.nan)
    report = target_leakage_report(df, "defaulted")
    assert not report.passed and report.rows[0]["verdict"] == "not scored"
    assert "no feature could be scored" in report.headline
