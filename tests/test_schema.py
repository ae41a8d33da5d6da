"""assert_schema: every violation at once, in a readable table; bad arguments named."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pandera.pandas")

from mlops_testkit import MltkUsageError, assert_schema, schema_report

SCHEMA = pa.DataFrameSchema(
    {
        "age": pa.Column(int, pa.Check.in_range(18, 99)),
        "income": pa.Column(float, pa.Check.ge(0), coerce=True),
        "region": pa.Column(str, pa.Check.isin(["north", "south"])),
    },
    name="applicants",
    strict=True,
)


class Applicant(pa.DataFrameModel):
    age: int = pa.Field(in_range={"min_value": 18, "max_value": 99})
    region: str = pa.Field(isin=["north", "south"])


def good() -> pd.DataFrame:
    return pd.DataFrame({"age": [30, 40], "income": [1, 2], "region": ["north", "south"]})


def test_valid_frame_is_returned_coerced() -> None:
    out = assert_schema(good(), SCHEMA)
    assert out["income"].dtype == "float64"  # coerced from int


def test_dataframe_model_class() -> None:
    assert_schema(good()[["age", "region"]], Applicant)
    with pytest.raises(AssertionError, match="failed on 1 row"):
        assert_schema(pd.DataFrame({"age": [10], "region": ["north"]}), Applicant)


def test_every_violation_is_reported_at_once() -> None:
    bad = pd.DataFrame(
        {"age": [10, 30, 120], "income": [-1.0, 5.0, 7.0], "region": ["north", "west", "east"]}
    )
    with pytest.raises(AssertionError) as exc:
        assert_schema(bad, SCHEMA)
    text = str(exc.value)
    assert text.startswith(
        "3 check(s) of schema 'applicants' failed on 3 row(s) (5 failure case(s))"
    )
    assert "check" in text and "failure case" in text and "row index" in text
    assert "in_range(18, 99)" in text and "isin(['north', 'south'])" in text
    assert "schema_report(df, schema).rows" in text


def test_schema_level_failures_and_cap() -> None:
    bad = pd.DataFrame({"age": list(range(0, 15)), "income": [1.0] * 15, "extra": 1})
    with pytest.raises(AssertionError) as exc:
        assert_schema(bad, SCHEMA, max_examples=3)
    text = str(exc.value)
    assert "column_in_dataframe" in text or "column_in_schema" in text
    assert "+" in text and "more" in text


def test_report_rows_are_data() -> None:
    report = schema_report(good().assign(age=[5, 50]), SCHEMA)
    assert not report.passed
    assert report.rows == [
        {"check": "in_range(18, 99)", "column": "age", "failure case": 5, "row index": 0}
    ]


@pytest.mark.parametrize(
    ("df", "schema", "message"),
    [
        ([1, 2], SCHEMA, "df must be a pandas (or polars) DataFrame, got list"),
        (
            pd.DataFrame(),
            {"age": int},
            "schema must be a pandera DataFrameSchema or a DataFrameModel",
        ),
        (pd.DataFrame(), pd.DataFrame, "schema must be a pandera DataFrameSchema"),
    ],
)
def test_bad_arguments_are_named(df, schema, message) -> None:
    with pytest.raises(MltkUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        assert_schema(df, schema)
    with pytest.raises(MltkUsageError, match="max_examples must be >= 1"):
        assert_schema(good(), SCHEMA, max_examples=0)


def test_polars_frames_with_the_polars_backend() -> None:
    pl = pytest.importorskip("polars")
    pap = pytest.importorskip("pandera.polars")
    schema = pap.DataFrameSchema(
        {
            "age": pap.Column(int, pap.Check.ge(18)),
            "region": pap.Column(str, pap.Check.isin(["n", "s"])),
        }
    )
    assert assert_schema(pl.DataFrame({"age": [20], "region": ["n"]}), schema).height == 1
    with pytest.raises(AssertionError) as exc:
        assert_schema(pl.DataFrame({"age": [10, 30], "region": ["n", "x"]}), schema)
    text = str(exc.value)
    assert text.startswith("2 check(s) failed on 2 row(s)")
    assert "greater_than_or_equal_to(18)" in text and "isin(['n', 's'])" in text
