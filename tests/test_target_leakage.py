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


# --- the label-copy rule (issue 23 part 3) ------------------------------------------------


def _borrowers(n: int, seed: int) -> tuple[np.random.Generator, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.5, 0.4, n)
    debt = income * rng.beta(2, 5, n)
    late = rng.poisson(1.0, n).astype(float)
    return rng, {"income": income, "debt": debt, "late_payments": late}


def with_collections_score(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A field logged after the outcome: a noisy copy of the label (ROC AUC about 0.88,
    under max_score=0.95 and less than max_gap above the others)."""
    rng, cols = _borrowers(n, seed)
    logit = -1.5 + 2.0 * cols["debt"] / cols["income"] + 0.4 * cols["late_payments"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({**cols, "collections_score": 1.66 * y + rng.normal(0, 1, n), "y": y})


def with_bureau_score(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """An honest feature as strong (ROC AUC about 0.88): a bureau score computed from the
    applicant's debt ratio and history plus what the bureau alone knows; it drives the
    outcome, and it keeps sharing information with the other features in each class."""
    rng, cols = _borrowers(n, seed)
    risk = 3.0 * cols["debt"] / cols["income"] + 0.5 * cols["late_payments"]
    bureau = risk + rng.normal(0, 0.6, n)
    y = (rng.random(n) < 1 / (1 + np.exp(4.0 - 2.6 * bureau))).astype(int)
    return pd.DataFrame({**cols, "bureau_score": bureau, "y": y})


def test_a_noisy_copy_of_the_label_under_the_bar_is_named_with_its_evidence() -> None:
    df = with_collections_score()
    before = target_leakage_report(df, "y", label_copies=False)
    assert before.passed  # the score rules alone let it through: AUC under 0.95
    report = target_leakage_report(df, "y")
    assert report.leaks == ["collections_score"] and report.copies == ["collections_score"]
    row = next(r for r in report.rows if r["feature"] == "collections_score")
    assert 0.8 < row["score"] < 0.95
    assert row["given label"] < 0.1 < row["with others"]
    assert row["verdict"].startswith("LEAK: independent of the other features given the label")
    with pytest.raises(AssertionError, match="1 look like copies of it"):
        assert_no_target_leakage(df, "y")


def test_an_honest_strong_feature_is_not_a_copy() -> None:
    report = target_leakage_report(with_bureau_score(), "y")
    row = next(r for r in report.rows if r["feature"] == "bureau_score")
    assert 0.8 < row["score"] < 0.95  # as strong as the copy
    assert row["given label"] > 0.3  # still predicted by the others within each class
    assert report.passed and report.copies == []


@pytest.mark.slow
def test_label_copy_rule_power_and_false_alarms_over_20_seeds() -> None:
    """The issue's bar: the noisy copy flagged in at least 19 of 20 seeds, the equally
    strong honest feature in at most 1 of 20."""
    caught = sum(
        target_leakage_report(with_collections_score(seed=s), "y", seed=s).copies
        == ["collections_score"]
        for s in range(20)
    )
    false_alarms = sum(
        not target_leakage_report(with_bureau_score(seed=s), "y", seed=s).passed for s in range(20)
    )
    assert caught >= 19, caught
    assert false_alarms <= 1, false_alarms


# --- timing metadata: available_at / label_time -------------------------------------------


def timed(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Each row's label is known at label_at; balance_at is when its balance was read."""
    rng = np.random.default_rng(seed)
    label_at = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D")
    return pd.DataFrame(
        {
            "balance": rng.normal(1000, 200, n),
            "age": rng.integers(20, 70, n),
            "balance_at": label_at - pd.to_timedelta(rng.integers(1, 30, n), "D"),
            "label_at": label_at,
            "y": rng.integers(0, 2, n),
        }
    )


def test_a_value_recorded_after_the_label_is_a_leak_whatever_its_score() -> None:
    df = timed()
    clean = target_leakage_report(
        df, "y", features=["balance", "age"], available_at={"balance": "balance_at"},
        label_time="label_at",
    )  # fmt: skip
    assert clean.passed and clean.late == []
    late = df.copy()
    late.loc[:9, "balance_at"] = late.loc[:9, "label_at"] + pd.Timedelta(days=3)
    report = target_leakage_report(
        late, "y", features=["balance", "age"], available_at={"balance": "balance_at"},
        label_time="label_at",
    )  # fmt: skip
    assert report.late == ["balance"] and report.leaks == ["balance"]
    row = next(r for r in report.rows if r["feature"] == "balance")
    assert row["after label"] == 10
    assert row["verdict"].startswith("LEAK: recorded after the label time in 10 of 400 rows")
    # one datetime as the label time: every value read after the cut-off leaks
    cut = target_leakage_report(
        df, "y", features=["balance", "age"], available_at={"balance": "balance_at"},
        label_time=pd.Timestamp("2025-03-01"),
    )  # fmt: skip
    assert cut.late == ["balance"]


def test_a_value_without_a_timestamp_cannot_be_shown_to_precede_the_label() -> None:
    df = timed()
    df.loc[:4, "balance_at"] = pd.NaT
    report = target_leakage_report(
        df, "y", features=["balance", "age"], available_at={"balance": "balance_at"},
        label_time="label_at",
    )  # fmt: skip
    assert report.late == ["balance"]
    row = next(r for r in report.rows if r["feature"] == "balance")
    assert "5 of 400 values have no available_at time" in row["verdict"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"available_at": {"balance": "balance_at"}}, "needs label_time="),
        ({"label_time": "label_at"}, "needs available_at="),
        (
            {"available_at": {"balance": "nope"}, "label_time": "label_at"},
            "'nope' is not a column",
        ),
        ({"available_at": {"balance": "age"}, "label_time": "label_at"}, "not datetimes"),
        ({"available_at": {"balance": "balance_at"}, "label_time": "age"}, "not datetimes"),
        (
            {"available_at": {"balance": "balance_at"}, "label_time": 3},
            "a column name or a datetime",
        ),
        ({"available_at": [], "label_time": "label_at"}, "non-empty mapping"),
    ],
)
def test_timing_arguments_that_cannot_be_used_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(MltkUsageError, match=match):
        target_leakage_report(timed(), "y", features=["balance", "age"], **kwargs)
