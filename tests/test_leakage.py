from __future__ import annotations

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from mlops_testkit import MltkUsageError, assert_no_leakage, leakage_report


def split():
    train = pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.2, np.nan, 0.4], "c": list("abcd")})
    test = pd.DataFrame({"id": [5, 6, 7], "x": [0.5, 0.6, 0.7], "c": list("efg")})
    return train, test


def test_clean_split_passes() -> None:
    train, test = split()
    report = assert_no_leakage(train, test)
    assert report.leaked == 0 and report.share == 0.0


def test_duplicated_rows_are_found_with_examples() -> None:
    train, test = split()
    test = pd.concat([test, train.iloc[[1, 2]]], ignore_index=True)  # row 2 has a NaN
    with pytest.raises(AssertionError) as exc:
        assert_no_leakage(train, test)
    text = str(exc.value)
    assert text.startswith("2 of 5 test rows (40.0%) also appear in train (compared on id, x, c)")
    assert "test row" in text and "train row" in text


def test_key_columns_and_near_duplicates() -> None:
    train, test = split()
    test = test.assign(id=[5, 2, 7])
    assert leakage_report(train, test, on=["id"]).leaked == 1
    assert leakage_report(train, test, on="id").leaked == 1
    near = train.iloc[[0]].assign(x=0.1 + 1e-9)
    assert leakage_report(train, near).leaked == 0
    assert leakage_report(train, near, round=6).leaked == 1
    assert leakage_report(train, near, round={"x": 6}).leaked == 1


def test_many_leaks_are_capped() -> None:
    train = pd.DataFrame({"k": range(1000)})
    report = leakage_report(train, train.iloc[::2], max_examples=3)
    assert report.leaked == 500 and len(report.examples) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train": "x"}, "train must be a pandas DataFrame, got str"),
        ({"test": pd.DataFrame({"id": []})}, "test is empty"),
        ({"on": ["ghost"]}, r"column\(s\) \['ghost'\] missing from train"),
        ({"round": "2"}, "round must be decimals or a mapping"),
    ],
)
def test_bad_input(kwargs, message) -> None:
    train, test = split()
    args = {"train": train, "test": test, **kwargs}
    with pytest.raises(MltkUsageError, match=message):
        leakage_report(args.pop("train"), args.pop("test"), **args)
