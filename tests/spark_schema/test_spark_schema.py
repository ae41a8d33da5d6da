"""assert_schema on a Spark DataFrame, through pandera's pyspark backend, for real.

pandera.pyspark imports ``pyspark.pandas``, which does not import under pandas 3 (pyspark
4.3) nor without grpc. So this file runs in a virtualenv of its own with pandas 2 and
``pyspark[connect]`` (``make test-spark-schema``); the main run skips it and says why, and
tests/test_engines.py checks the refusal under pandas 3 there.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import pytest


def _why_not() -> str | None:
    """Why pandera.pyspark cannot run here, or None. Checked before importing it: under
    pandas 3 the import fails half-way, without grpc it exits (SystemExit)."""
    try:
        pandas = importlib.metadata.version("pandas")
        importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError as exc:
        return f"{exc.name} is not installed"
    if int(pandas.split(".")[0]) >= 3:
        return f"pandas {pandas}: pyspark.pandas does not import under pandas 3"
    if importlib.util.find_spec("grpc") is None:
        return "grpc is missing: pyspark.pandas does not import without pyspark[connect]"
    try:
        import pandera.pyspark  # noqa: F401
    except (ImportError, SystemExit) as exc:
        return f"pandera.pyspark does not import: {exc!r}"
    return None


REASON = _why_not()
if REASON is not None:
    pytest.skip(
        f"the Spark schema path needs pandas < 3 and pyspark[connect] ({REASON}); it runs in "
        "its own virtualenv: make test-spark-schema",
        allow_module_level=True,
    )

import pandas as pd
import pandera.pyspark as pa
import pyspark.sql.types as T

from mlops_testkit import MltkUsageError, assert_schema, schema_report

ROWS = 5_000


class Applicants(pa.DataFrameModel):
    """A DataFrameModel, the way pandera's docs write pyspark schemas."""

    age: T.LongType() = pa.Field(ge=18, le=89)
    region: T.StringType() = pa.Field(isin=["north", "south", "east"])
    income: T.DoubleType() = pa.Field(gt=0)


def frame(spark, *, bad_ages: int = 0, bad_regions: int = 0):
    import numpy as np

    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {
            "age": rng.integers(18, 90, ROWS),
            "region": rng.choice(np.array(["north", "south", "east"], dtype=object), ROWS),
            "income": rng.lognormal(10, 0.5, ROWS),
        }
    )
    if bad_ages:
        data.loc[: bad_ages - 1, "age"] = 7
    if bad_regions:
        data.loc[: bad_regions - 1, "region"] = "mars"
    return spark.createDataFrame(data)


def test_a_clean_spark_frame_passes(spark) -> None:
    df = frame(spark)
    validated = assert_schema(df, Applicants)
    assert validated.count() == ROWS
    report = schema_report(df, Applicants.to_schema())
    assert report.passed and report.rows_checked == ROWS
    assert report.headline == f"{ROWS} row(s) meet the schema 'Applicants'"


def test_a_violating_spark_frame_fails_with_the_failure_table(spark) -> None:
    df = frame(spark, bad_ages=3, bad_regions=1)
    report = schema_report(df, Applicants)
    assert not report.passed
    assert sorted((r["column"], r["check"]) for r in report.rows) == [
        ("age", "greater_than_or_equal_to(18)"),
        ("region", "isin(['north', 'south', 'east'])"),
    ]
    with pytest.raises(AssertionError) as info:
        assert_schema(df, Applicants)
    text = str(info.value)
    assert text.startswith(
        "2 check(s) of schema 'Applicants' failed (2 failure case(s); 5000 row(s) checked"
    )
    header = next(line for line in text.splitlines() if line.startswith("check"))
    assert header.split() == ["check", "column", "failure", "case", "row", "index"]
    assert "greater_than_or_equal_to(18)" in text and "isin(['north', 'south', 'east'])" in text
    assert "Fix the data upstream" in text


@pytest.mark.parametrize("bad", ["age", "region"])
def test_each_violation_alone_is_caught(spark, bad) -> None:
    df = frame(spark, bad_ages=int(bad == "age"), bad_regions=int(bad == "region"))
    report = schema_report(df, Applicants)
    assert [r["column"] for r in report.rows] == [bad]


def test_a_wrong_column_type_is_a_failure(spark) -> None:
    df = frame(spark).selectExpr("CAST(age AS STRING) AS age", "region", "income")
    report = schema_report(df, Applicants)
    assert not report.passed
    assert {r["column"] for r in report.rows} == {"age"}
    assert any("dtype" in r["check"] for r in report.rows), report.rows


def test_no_rows_is_no_evidence(spark) -> None:
    report = schema_report(frame(spark).where("age < 0"), Applicants)
    assert not report.passed and report.rows[0]["check"] == "has rows"


def test_a_pandas_schema_for_a_spark_frame_is_a_usage_error(spark) -> None:
    import pandera.pandas as ppa

    with pytest.raises(MltkUsageError, match=r"write the schema with pandera\.pyspark"):
        schema_report(frame(spark), ppa.DataFrameSchema({"age": ppa.Column(int)}))
