"""Issue 21, the feature and pipeline checks: each hostile input of the sweep, and its verdict.

skew, target leakage, feature importance and PII: unchecked seeds (class 1), infinities
and complex numbers (3), loose parameters (4), columns and names (5), quadratic scans (10)
and validators that raise (11). Each input gets the outcome it must have: a usage error
naming the argument or column, or a failing result; clean input still passes and real
problems are still found.
"""

from __future__ import annotations

import sys

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from hostile import classify

from mlops_testkit import (
    MissingExtraError,
    MltkUsageError,
    PiiPattern,
    assert_features_beneficial,
    assert_no_pii,
    assert_no_skew,
    assert_no_target_leakage,
    feature_importance_report,
    pii_report,
    skew_report,
    target_leakage_report,
)
from mlops_testkit.data.pii import DEFAULT_PATTERNS, mask


def named(df: pd.DataFrame, names: list) -> pd.DataFrame:
    """``df`` with these column names, kept as objects (pandas' string Index cannot hold a
    lone surrogate)."""
    out = df.copy()
    out.columns = pd.Index(names, dtype=object)
    return out


def text(values: list) -> pd.Series:
    return pd.Series(values, dtype=object)


def labelled(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Two honest weak features and a binary label."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-0.5 * a))).astype(int)
    return pd.DataFrame({"a": a, "b": b, "y": y})


def regression(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = 2 * X["signal"].to_numpy() + rng.normal(size=n)
    return (lambda d: 2 * np.asarray(d, dtype=float)[:, 0]), X, y


def keyed(x, k=None) -> pd.DataFrame:
    return pd.DataFrame({"k": k if k is not None else list(range(len(x))), "x": x})


# --- class 1: seeds ----------------------------------------------------------------------------


def _leakage(seed):
    return target_leakage_report(labelled(), "y", seed=seed)


def _importance(seed):
    predict, X, y = regression()
    return feature_importance_report(predict, X, y, metric="r2", seed=seed)


def _pii(seed):
    return pii_report(pd.DataFrame({"t": ["hello", "jane@example.com"]}), seed=seed)


@pytest.mark.parametrize("seed", [-1, "x", 1.5, True, None, 2**32])
@pytest.mark.parametrize(
    ("check", "where"),
    [
        (_leakage, "target_leakage_report"),
        (_importance, "feature_importance_report"),
        (_pii, "pii_report"),
    ],
)
def test_a_seed_that_is_not_an_integer_in_range_is_a_usage_error(check, where, seed) -> None:
    with pytest.raises(MltkUsageError, match=rf"^{where}: seed must be an integer from 0 to"):
        check(seed)


def test_the_largest_seed_and_numpy_integers_work() -> None:
    assert _importance(2**32 - 1).rows
    assert _leakage(np.int64(7)).rows
    assert not _pii(np.uint32(3)).passed  # the e-mail is found


# --- class 3: infinities and complex numbers ---------------------------------------------------


@pytest.mark.parametrize(
    ("training", "serving", "shown"),
    [
        (np.inf, 5.0, "inf vs 5"),
        (-np.inf, np.inf, "-inf vs inf"),
        (5.0, np.inf, "5 vs inf"),
        (np.inf, np.nan, "inf vs NaN"),
        (1e308, -1e308, "1e+308 vs -1e+308"),  # the difference overflows to inf
    ],
)
def test_skew_an_infinity_matches_only_the_same_infinity(training, serving, shown) -> None:
    report = skew_report(keyed([training, 1.0]), keyed([serving, 1.0]), on="k")
    assert not report.passed and report.skewed == ["x"]
    assert report.rows[0]["mismatches"] == 1
    assert f"0: {shown}" in report.rows[0]["examples"]
    with pytest.raises(AssertionError, match="1 of 1 features differ"):
        assert_no_skew(keyed([training, 1.0]), keyed([serving, 1.0]), on="k")


def test_skew_equal_infinities_and_nans_still_match() -> None:
    values = [np.inf, -np.inf, np.nan, 1.0]
    assert skew_report(keyed(values), keyed(values), on="k").passed
    loose = skew_report(keyed(values), keyed(values), on="k", tolerance=1e6)
    assert loose.passed  # a huge (finite) tolerance still never matches inf with a number
    assert not skew_report(keyed([np.inf]), keyed([1.0]), on="k", tolerance=1e6).passed


def test_skew_a_complex_feature_differing_in_its_imaginary_part_fails() -> None:
    training = keyed(np.array([1 + 1j, 2 + 0j]))
    report = skew_report(training, keyed(np.array([1 - 1j, 2 + 0j])), on="k")
    assert not report.passed and report.rows[0]["mismatches"] == 1
    assert report.rows[0]["max abs diff"] == pytest.approx(2.0)
    assert "(1+1j) vs (1-1j)" in report.rows[0]["examples"]
    assert skew_report(training, training.copy(), on="k").passed
    close = keyed(np.array([1 + 1j, 2 + 1e-9j]))
    assert skew_report(training, close, on="k").passed  # within the tolerance
    real = keyed(np.array([1.0, 2.0]))
    assert not skew_report(real, keyed(np.array([1 + 0.5j, 2 + 0j])), on="k").passed


def test_target_leakage_a_label_written_as_infinities_is_a_leak() -> None:
    df = labelled()
    leaky = df.assign(code=np.where(df["y"] == 1, np.inf, -np.inf))
    report = target_leakage_report(leaky, "y")
    assert not report.passed and report.leaks == ["code"]
    assert report.rows[0]["score"] == 1.0
    partly = df.assign(code=np.where(df["y"] == 1, np.inf, np.linspace(0, 1, len(df))))
    assert target_leakage_report(partly, "y").leaks == ["code"]  # +inf only for one class


def test_target_leakage_an_infinite_label_is_a_usage_error() -> None:
    df = labelled()
    with pytest.raises(MltkUsageError, match="target column 'y' has infinite values"):
        target_leakage_report(df.assign(y=np.where(df["y"] == 1, np.inf, -np.inf)), "y")


def test_target_leakage_a_complex_feature_is_scored_on_both_parts() -> None:
    df = labelled()
    leaky = df.assign(z=df["a"].to_numpy() + 1j * df["y"].to_numpy())
    report = target_leakage_report(leaky, "y")
    assert report.leaks == ["z"] and report.rows[0]["model"] == "tree (imaginary part)"


# --- class 4: loose parameters -----------------------------------------------------------------

T2 = keyed([1.0, 2.0, 3.0], [1, 2, 3])
S2 = keyed([9.0, 2.0, 3.0], [1, 2, 4])


@pytest.mark.parametrize("value", ["false", "true", 0, 1, None, "no"])
def test_skew_allow_missing_keys_takes_a_real_bool_only(value) -> None:
    with pytest.raises(MltkUsageError, match=r"allow_missing_keys must be True or False"):
        skew_report(T2, S2, on="k", allow_missing_keys=value)


def test_skew_allow_missing_keys_false_and_numpy_true_still_work() -> None:
    assert not skew_report(T2, T2.head(2), on="k", allow_missing_keys=False).passed
    assert skew_report(T2, T2.head(2), on="k", allow_missing_keys=np.bool_(True)).passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_mismatch_rate": 1.0}, r"max_mismatch_rate must be >= 0 and < 1.*could not fail"),
        ({"max_mismatch_rate": 1}, r"max_mismatch_rate must be >= 0 and < 1"),
        ({"max_mismatch_rate": float("nan")}, r"max_mismatch_rate must be a finite number"),
        ({"max_mismatch_rate": -0.1}, r"max_mismatch_rate must be >= 0"),
        ({"max_mismatch_rate": "0.1"}, r"max_mismatch_rate must be a finite number"),
        ({"tolerance": float("inf")}, r"tolerance must be a finite number >= 0.*could not fail"),
        ({"tolerance": {"x": np.inf}}, r"tolerance\['x'\] must be a finite number >= 0"),
        ({"tolerance": float("nan")}, r"tolerance must be a finite number"),
        ({"tolerance": -1e-9}, r"tolerance must be >= 0"),
        ({"tolerance": True}, r"tolerance must be a finite number"),
    ],
)
def test_skew_thresholds_that_cannot_fail_are_refused(kwargs, match) -> None:
    with pytest.raises(MltkUsageError, match=rf"^skew_report: {match}"):
        skew_report(T2, S2, on="k", **kwargs)


def test_skew_a_high_mismatch_rate_below_one_still_fails_when_exceeded() -> None:
    report = skew_report(keyed([1.0, 2.0]), keyed([5.0, 6.0]), on="k", max_mismatch_rate=0.99)
    assert not report.passed and report.skewed == ["x"]


def leaky_frame(n: int = 300) -> pd.DataFrame:
    df = labelled(n)
    return df.assign(copy=df["y"] + np.random.default_rng(1).normal(scale=0.01, size=n))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_score": 1.0, "max_gap": None}, r"max_score=1 with max_gap=None could never fail"),
        ({"max_gap": 1.0}, r"max_gap must be > 0 and < 1, got 1.0 \(skill is at most 1"),
        ({"max_gap": 0}, r"max_gap must be > 0 and < 1"),
        ({"max_gap": -0.5}, r"max_gap must be > 0 and < 1"),
        ({"max_gap": float("inf")}, r"max_gap must be a finite number"),
        ({"max_score": float("nan")}, r"max_score must be a finite number"),
        ({"max_score": 1.5}, r"max_score must be > -1 and <= 1"),
        ({"max_score": "0.9"}, r"max_score must be a finite number"),
    ],
)
def test_target_leakage_thresholds_that_cannot_fail_are_refused(kwargs, match) -> None:
    with pytest.raises(MltkUsageError, match=rf"^target_leakage_report: {match}"):
        target_leakage_report(leaky_frame(), "y", **kwargs)


def test_target_leakage_max_score_one_needs_the_gap_rule_and_three_features() -> None:
    df = leaky_frame()
    with pytest.raises(MltkUsageError, match="needs at least 3 scored features; 2 could"):
        target_leakage_report(df[["a", "copy", "y"]], "y", max_score=1.0)
    report = target_leakage_report(df, "y", max_score=1.0)  # the gap rule still catches it
    assert report.leaks == ["copy"] and report.rows[0]["verdict"].startswith("LEAK: skill")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_importance": -0.1}, r"min_importance must be >= 0, got -0.1 \(a negative"),
        ({"min_importance": float("-inf")}, r"min_importance must be a finite number"),
        ({"min_importance": float("nan")}, r"min_importance must be a finite number"),
        ({"min_importance": "0"}, r"min_importance must be a finite number"),
        ({"confidence": 0.01}, r"confidence must be above 0.5, got 0.01"),
        ({"confidence": 0.5}, r"confidence must be above 0.5"),
        ({"confidence": 1.0}, r"confidence must be a number in \(0, 1\)"),
        ({"higher_is_better": 0}, r"higher_is_better must be True or False, got 0"),
        ({"higher_is_better": "false"}, r"higher_is_better must be True or False"),
        ({"metric": "mse", "higher_is_better": True}, r"metric 'mse' is lower is better"),
        ({"metric": "r2", "higher_is_better": False}, r"metric 'r2' is higher is better"),
    ],
)
def test_feature_importance_loose_parameters_are_refused(kwargs, match) -> None:
    predict, X, y = regression()
    kwargs = {"metric": lambda t, p: -float(np.mean((t - p) ** 2)), **kwargs}
    with pytest.raises(MltkUsageError, match=rf"^feature_importance_report: {match}"):
        feature_importance_report(predict, X, y, **kwargs)


def test_feature_importance_a_noise_feature_still_fails_at_the_defaults() -> None:
    predict, X, y = regression()
    with pytest.raises(AssertionError, match="1 of 2 features are not significantly"):
        assert_features_beneficial(predict, X, y, metric="r2")
    agreed = feature_importance_report(predict, X, y, metric="mse", higher_is_better=False)
    assert agreed.useless == ["noise"]


def test_pii_sampling_never_hides_a_real_value() -> None:
    cards = pd.DataFrame({"t": ["4111 1111 1111 1112"] * 50 + ["4111 1111 1111 1111"]})
    report = pii_report(cards, max_validate=1)
    assert not report.passed and report.rows[0]["kind"] == "payment_card"
    assert report.rows[0]["matches"] == 1  # exact: the sample found nothing, the rest did
    assert pii_report(pd.DataFrame({"t": ["4111 1111 1111 1112"] * 50}), max_validate=1).passed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patterns": ["email"]}, r"patterns must be a mapping kind -> PiiPattern"),
        ({"patterns": {"x": PiiPattern("x", r"a", "", "yes")}}, r"patterns\['x'\].validate"),
        ({"patterns": {"x": PiiPattern("x", 3)}}, r"patterns\['x'\].regex must be a string"),
        ({"allow": 3}, r"allow must be a list of 'column' or 'column:kind'"),
        ({"max_validate": 0}, r"max_validate must be a positive integer"),
    ],
)
def test_pii_loose_parameters_are_refused(kwargs, match) -> None:
    with pytest.raises(MltkUsageError, match=rf"^pii_report: {match}"):
        pii_report(pd.DataFrame({"t": ["jane@example.com"]}), **kwargs)


def test_pii_allow_none_allows_nothing_and_a_column_name_with_a_colon_can_be_allowed() -> None:
    df = pd.DataFrame({"a:b": ["jane@example.com"]})
    assert not pii_report(df, allow=None).passed
    assert pii_report(df, allow=["a:b"]).passed
    assert pii_report(df, allow=["a:b:email"]).passed


# --- class 5: columns and names ----------------------------------------------------------------


def test_target_leakage_a_duplicated_target_or_feature_name_is_a_usage_error() -> None:
    df = labelled()
    with pytest.raises(MltkUsageError, match=r"df has 2 columns named 'y' \(the target\)"):
        target_leakage_report(named(df, ["a", "y", "y"]), "y")
    with pytest.raises(MltkUsageError, match=r"df has 2 columns named 'a' \(a feature\)"):
        target_leakage_report(named(df, ["a", "a", "y"]), "y")
    with pytest.raises(MltkUsageError, match=r"'a' appears twice in features"):
        target_leakage_report(df, "y", features=["a", "a"])
    with pytest.raises(MltkUsageError, match=r"0 and '0' in the target and feature columns"):
        target_leakage_report(named(df, [0, "0", "y"]), "y")
    # a repeated column that is not used is no one's business
    extra = named(df.assign(c=1.0, d=2.0), ["a", "b", "y", "z", "z"])
    assert target_leakage_report(extra, "y", features=["a", "b"]).rows


@pytest.mark.parametrize(
    "cells",
    [
        pytest.param(lambda n: [[1, 2]] * n, id="lists"),
        pytest.param(lambda n: [np.ones(3) * i for i in range(n)], id="embeddings"),
        pytest.param(lambda n: [{"a": i} for i in range(n)], id="dicts"),
    ],
)
def test_target_leakage_list_and_array_cells_are_a_usage_error_naming_the_column(cells) -> None:
    df = labelled()
    df["emb"] = cells(len(df))
    with pytest.raises(MltkUsageError, match=r"feature column 'emb' holds cells that are not"):
        target_leakage_report(df, "y")
    assert target_leakage_report(df, "y", features=["a", "b"]).passed  # left out: fine


def test_target_leakage_surrogates_in_values_and_names() -> None:
    df = labelled()
    odd = df.assign(s=text(["\ud800", "a"] * (len(df) // 2)))
    assert target_leakage_report(odd, "y").passed
    report = target_leakage_report(named(df, ["\ud800", "b", "y"]), "y")
    assert report.passed and {r["feature"] for r in report.rows} == {"\\ud800", "b"}
    leak = named(df.assign(c=df["y"] * 2.0), ["a", "b", "y", "\udc00"])
    with pytest.raises(AssertionError, match=r"\\udc00"):
        assert_no_target_leakage(leak, "y")


@pytest.mark.parametrize("dtype", [object, "str", "category"])
def test_target_leakage_an_id_whose_prefix_is_the_label_is_caught(dtype) -> None:
    df = labelled()
    ref = [("DEF" if v else "OK") + f"-{i:05d}" for i, v in enumerate(df["y"])]
    report = target_leakage_report(df.assign(ref=pd.Series(ref, dtype=dtype)), "y")
    assert not report.passed and report.leaks == ["ref"]
    assert report.rows[0]["score"] > 0.99
    assert report.rows[0]["model"].startswith("category means (")  # a part of the value


def test_target_leakage_other_ways_an_id_can_carry_the_label() -> None:
    df = labelled(600)
    y = df["y"].to_numpy()
    rng = np.random.default_rng(3)
    suffix = [f"{rng.integers(10**6):06d}-{'X' if v else 'Q'}" for v in y]
    assert target_leakage_report(df.assign(ref=suffix), "y").leaks == ["ref"]
    longer = [f"{'A' * (3 + v)}{rng.integers(10**6):06d}" for v in y]  # only the length
    assert target_leakage_report(df.assign(ref=longer), "y").leaks == ["ref"]


def test_target_leakage_honest_unique_ids_are_not_flagged_over_seeds() -> None:
    """20 fixed seeds: random-looking IDs, counters and hex keys are never called leaks."""
    false_alarms = 0
    for seed in range(20):
        df = labelled(400, seed)
        rng = np.random.default_rng(seed + 100)
        ids = df.assign(
            counter=[f"APP-{i:05d}" for i in rng.permutation(len(df))],
            hexkey=[f"{v:012x}" for v in rng.integers(0, 2**48, len(df))],
            name=[f"{rng.choice(['ann', 'bo', 'cy'])} {rng.integers(100)}" for _ in df.index],
        )
        false_alarms += not target_leakage_report(ids, "y", seed=seed).passed
    assert false_alarms == 0


def test_target_leakage_an_honest_strong_feature_is_not_a_leak() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    strong = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * strong))).astype(int)  # AUC ~0.8
    df = pd.DataFrame({"strong": strong, "x1": rng.normal(size=n), "y": y})
    df["x2"] = strong * 0.3 + rng.normal(size=n)
    report = target_leakage_report(df, "y")
    assert report.passed, report.rows
    assert 0.7 < report.rows[0]["score"] < 0.9 and report.rows[0]["feature"] == "strong"


def test_feature_importance_duplicated_and_alike_names_are_usage_errors() -> None:
    predict, X, y = regression()
    with pytest.raises(MltkUsageError, match=r"X has 2 columns named 'a'"):
        feature_importance_report(predict, named(X, ["a", "a"]), y, metric="r2")
    with pytest.raises(MltkUsageError, match=r"0 and '0' in the columns of X both read '0'"):
        feature_importance_report(predict, named(X, [0, "0"]), y, metric="r2")
    with pytest.raises(MltkUsageError, match=r"'signal' appears twice in features"):
        feature_importance_report(predict, X, y, metric="r2", features=["signal", "signal"])
    report = feature_importance_report(predict, named(X, ["signal", "\ud800"]), y, metric="r2")
    assert [r["feature"] for r in report.rows] == ["signal", "\\ud800"]
    assert report.useless == ["\\ud800"]


def test_feature_importance_an_arrow_table_is_a_usage_error_not_a_raw_one() -> None:
    pa = pytest.importorskip("pyarrow")
    predict, X, y = regression()
    with pytest.raises(MltkUsageError, match=r"X must be a pandas DataFrame .*X.to_pandas\(\)"):
        feature_importance_report(predict, pa.Table.from_pandas(X), y, metric="r2")


def test_skew_list_and_embedding_cells_are_compared_cell_by_cell() -> None:
    lists = pd.DataFrame({"k": [1, 2], "l": [[1, 2], [3]]})
    assert skew_report(lists, lists.copy(), on="k").passed
    other = skew_report(lists, lists.assign(l=[[1, 2], [4]]), on="k")
    assert not other.passed and "2: [3] vs [4]" in other.rows[0]["examples"]
    emb = pd.DataFrame({"k": [1, 2], "e": [np.ones(3), np.zeros(3)]})
    assert skew_report(emb, emb.copy(), on="k").passed
    f32 = emb.assign(e=[(np.ones(3) / 3).astype(np.float32), np.zeros(3)])
    f64 = emb.assign(e=[np.ones(3) / 3, np.zeros(3)])
    assert skew_report(f64, f32, on="k").passed  # float32 serving, within the tolerance
    moved = skew_report(emb, emb.assign(e=[np.ones(3), np.ones(3)]), on="k")
    assert not moved.passed and moved.rows[0]["mismatches"] == 1
    shapes = skew_report(emb, emb.assign(e=[np.ones(3), np.zeros(4)]), on="k")
    assert not shapes.passed
    mixed = pd.DataFrame({"k": [1, 2], "m": [[1.0, 2.0], "text"]})
    assert skew_report(mixed, mixed.copy(), on="k").passed
    assert not skew_report(mixed, mixed.assign(m=[np.array([1.0, 2.5]), "text"]), on="k").passed
    dicts = pd.DataFrame({"k": [1], "d": [{"a": [1, 2]}]})
    assert skew_report(dicts, dicts.copy(), on="k").passed
    assert not skew_report(dicts, dicts.assign(d=[{"a": [1, 3]}]), on="k").passed


def test_skew_surrogates_in_values_and_names() -> None:
    ts = pd.DataFrame({"k": [1, 2], "s": text(["\ud800", "a"])})
    assert skew_report(ts, ts.copy(), on="k").passed
    assert not skew_report(ts, ts.assign(s=text(["\udc00", "a"])), on="k").passed
    numeric = named(keyed([1.0, 2.0]), ["k", "\ud800"])
    report = skew_report(numeric, named(keyed([1.0, 3.0]), ["k", "\ud800"]), on="k")
    assert not report.passed and report.skewed == ["\\ud800"]
    with pytest.raises(AssertionError, match=r"\\ud800"):
        assert_no_skew(numeric, named(keyed([1.0, 3.0]), ["k", "\ud800"]), on="k")
    key = named(keyed([1.0, 2.0], text(["\ud800", "b"])), ["\udc00", "x"])
    assert skew_report(key, key.copy(), on="\udc00").passed


@pytest.mark.parametrize(
    ("kwargs", "frame", "match"),
    [
        ({"features": ["x", "x"]}, T2, r"'x' appears twice in features"),
        ({"on": ["k", "k"]}, T2, r"'k' appears twice in on"),
        ({"features": ["k"]}, T2, r"features names the key column\(s\) \['k'\]"),
        (
            {},
            pd.DataFrame({"k": [1], 0: [1.0], "0": [2.0]}),
            r"0 and '0' in the columns of training_features both read '0'",
        ),
    ],
)
def test_skew_repeated_and_alike_names_are_usage_errors(kwargs, frame, match) -> None:
    with pytest.raises(MltkUsageError, match=rf"^skew_report: {match}"):
        skew_report(frame, frame.copy(), **{"on": "k", **kwargs})


def test_pii_surrogates_lists_and_alike_names() -> None:
    odd = pii_report(pd.DataFrame({"t": text(["\ud800 jane@example.com", "x \udfff"])}))
    assert not odd.passed and odd.rows[0]["kind"] == "email"
    assert odd.rows[0]["examples"] == "j***@e***.com"
    col = pii_report(named(pd.DataFrame({"q": ["jane@example.com"]}), ["\ud800"]))
    assert col.flagged == ["\\ud800"]
    assert pii_report(
        named(pd.DataFrame({"q": ["jane@example.com"]}), ["\ud800"]), allow=["\\ud800"]
    ).passed
    lists = pii_report(pd.DataFrame({"t": [["jane@example.com"], ["x"]]}))
    assert lists.flagged == ["t"]
    with pytest.raises(MltkUsageError, match=r"0 and '0' in the scanned columns both read"):
        pii_report(pd.DataFrame({0: ["jane@example.com"], "0": ["x"]}), allow=["0"])
    assert pii_report(pd.DataFrame({0: ["x"], "a": ["y"]}), allow=["0"]).passed


def test_pii_a_frame_whose_scanned_values_are_all_missing_does_not_pass() -> None:
    report = pii_report(pd.DataFrame({"t": text([None, None])}))
    assert not report.passed and "nothing was scanned" in report.headline
    with pytest.raises(AssertionError, match="every value of the 1 scanned column"):
        assert_no_pii(pd.DataFrame({"t": text([None, np.nan])}))
    assert pii_report(pd.DataFrame({"t": text([None, "fine"])})).passed


# --- class 10: linear scans --------------------------------------------------------------------


def test_pii_one_huge_value_is_scanned_whole() -> None:
    """A million letters, then an e-mail: Python's re took minutes on this (quadratic);
    RE2 scans it linearly. No time is asserted here (benchmarks/bench_pii.py measures)."""
    value = "a" * 1_000_000 + " jane@example.com " + "4111 1111 1111 1111 " + "b" * 1000
    report = pii_report(pd.DataFrame({"t": text([value, "short"])}))
    assert {r["kind"] for r in report.rows if r["verdict"] == "PII"} == {"email", "payment_card"}
    by_kind = {r["kind"]: r for r in report.rows}
    assert len(by_kind["email"]["examples"]) < 60  # the example is masked and short
    lookalikes = "4111 1111 1111 1112 " * 20_000 + "4111 1111 1111 1111"
    assert pii_report(pd.DataFrame({"t": [lookalikes]})).flagged == ["t"]  # the last one


def test_pii_long_matches_are_masked_short() -> None:
    assert mask("a" * 100 + "@example.com") == "a***@e***.com"
    assert mask("1:2:" + "3" * 1000) == "1***[1004 characters]***33"
    assert mask("4111 1111 1111 1111") == "4*** **** **** **11"


def test_pii_without_pyarrow_long_values_need_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.compute", None)
    short = pii_report(pd.DataFrame({"t": text(["\ud800 jane@example.com", "x"])}))
    assert short.flagged == ["t"]
    with pytest.raises(MissingExtraError, match=r"column 't' holds a value of 5,017 .*pyarrow"):
        pii_report(pd.DataFrame({"t": ["a" * 5000 + " jane@example.com"]}))


def test_pii_matches_agree_with_python_re_on_every_pattern() -> None:
    """RE2 marks the matches that validators see; they are the ones re.finditer gives."""
    from mlops_testkit.data.pii import _Texts

    values = pd.Series(
        [
            "call +44 20 7946 0958 or 555-123-4567, card 4111-1111-1111-1111 x",
            "ibans GB82 WEST 1234 5698 7654 32 and DE89 3704 0044 0532 0130 00",
            "ssn 123-45-6789 nino AB 12 34 56 C sin 130 692 544 ip 2001:db8::1",
        ],
        dtype=object,
    )
    texts = _Texts(values)
    for kind, pattern in DEFAULT_PATTERNS.items():
        got = {int(i): list(found) for i, found in texts.matches(pattern, np.arange(3))}
        want = {i: [m.group() for m in pattern.compiled.finditer(v)] for i, v in enumerate(values)}
        assert got == want, kind


# --- class 11: validators that raise -----------------------------------------------------------


def _boom(text: str) -> bool:
    raise RuntimeError("validator broke")


def test_pii_a_validator_that_raises_is_a_usage_error_naming_the_pattern() -> None:
    df = pd.DataFrame({"t": ["EMP-123456", "EMP-654321"]})
    broken = {"emp": PiiPattern("emp", r"EMP-[0-9]{6}", "staff", _boom)}
    with pytest.raises(
        MltkUsageError,
        match=r"^pii_report: the validator of pattern 'emp' raised RuntimeError: validator broke",
    ):
        pii_report(df, patterns=broken)
    outcome, _ = classify(assert_no_pii, df, patterns=broken, degenerate=True)
    assert outcome == "usage"


def test_pii_a_validator_that_raises_on_some_matches_is_a_usage_error_too() -> None:
    def picky(text: str) -> bool:
        if text.endswith("1"):
            raise ValueError("cannot judge")
        return True

    df = pd.DataFrame({"t": ["EMP-123450", "EMP-654321"]})
    with pytest.raises(MltkUsageError, match=r"pattern 'emp' raised ValueError: cannot judge"):
        pii_report(df, patterns={"emp": PiiPattern("emp", r"EMP-[0-9]{6}", "", picky)})


def test_pii_a_validator_that_rejects_by_returning_false_still_rejects() -> None:
    df = pd.DataFrame({"t": ["EMP-123456"]})
    never = {"emp": PiiPattern("emp", r"EMP-[0-9]{6}", "", lambda t: False)}
    assert pii_report(df, patterns=never).passed
    always = {"emp": PiiPattern("emp", r"EMP-[0-9]{6}", "", lambda t: t.startswith("EMP"))}
    assert pii_report(df, patterns=always).flagged == ["t"]
