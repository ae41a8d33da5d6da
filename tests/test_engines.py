"""The data checks where the data lives: pandas, polars, Parquet paths, PyArrow and Spark
give the same verdicts; engine statistics stay within their stated bounds; bad input is
a usage error naming the argument."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("scipy")
from scipy import stats

from mlops_testkit import MltkUsageError, drift_report, leakage_report, schema_report

ROWS = 20_000  # above the exact-values limit (8,192): engines send histograms, not values


def dataset(seed: int, shift: float = 0.0, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[rng.random(rows) < 0.02] = np.nan
    p = [0.5, 0.3, 0.2] if not shift else [0.35, 0.35, 0.3]
    return pd.DataFrame(
        {
            "income": rng.lognormal(10, 0.5, rows) * (1 + shift),
            "score": x + shift,
            "age": rng.integers(18, 90, rows),
            "region": rng.choice(np.array(["north", "south", "east"], dtype=object), rows, p=p),
            "member": rng.random(rows) < 0.4,
        }
    )


CASES = {"clean": (1, 2, 0.0), "drifted": (3, 4, 0.3), "clean-2": (5, 6, 0.0)}


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    """Each case's two sides as Parquet: reference a file, current a directory of two."""
    root = tmp_path_factory.mktemp("engines")
    out = {}
    for case, (seed_ref, seed_cur, shift) in CASES.items():
        ref, cur = dataset(seed_ref), dataset(seed_cur, shift)
        ref.to_parquet(root / f"{case}-ref.parquet", index=False)
        (root / f"{case}-cur").mkdir()
        half = len(cur) // 2
        cur.iloc[:half].to_parquet(root / f"{case}-cur" / "part-0.parquet", index=False)
        cur.iloc[half:].to_parquet(root / f"{case}-cur" / "part-1.parquet", index=False)
        (root / f"{case}-cur" / "_SUCCESS").write_text("")  # what Spark leaves behind
        out[case] = (ref, cur, str(root / f"{case}-ref.parquet"), str(root / f"{case}-cur"))
    return out


def verdict(report) -> tuple[bool, list[str]]:
    return report.passed, sorted(report.drifted)


@pytest.mark.parametrize("case", list(CASES))
def test_verdicts_are_the_same_in_pandas_polars_parquet_and_arrow(parquet, case) -> None:
    ref, cur, ref_path, cur_dir = parquet[case]
    expected = verdict(drift_report(ref, cur))
    assert expected[0] == (case != "drifted")
    assert verdict(drift_report(pl.from_pandas(ref), pl.from_pandas(cur).lazy())) == expected
    assert verdict(drift_report(ref_path, cur_dir)) == expected
    assert verdict(drift_report(ref, cur_dir)) == expected  # the two sides of different kinds
    import pyarrow.dataset as ds

    assert verdict(drift_report(pa.Table.from_pandas(ref), ds.dataset(cur_dir))) == expected


@pytest.mark.parametrize("method", ["ks", "wasserstein"])
def test_engine_statistics_are_within_their_stated_bound(parquet, method) -> None:
    ref, cur, ref_path, cur_dir = parquet["drifted"]
    report = drift_report(ref_path, cur_dir, method=method, columns=["income", "score", "age"])
    for row in report.rows:
        a, b = ref[row.column].dropna().to_numpy(float), cur[row.column].dropna().to_numpy(float)
        if method == "ks":
            exact = stats.ks_2samp(a, b).statistic
        else:
            exact = stats.wasserstein_distance(a, b) / np.std(a)
        assert abs(row.statistic - exact) <= row.bound + 1e-9, (row.column, exact, row)
        assert row.bound < (0.002 if method == "ks" else 0.01)
    assert {r.column: r.bound for r in report.rows}["age"] == 0  # integers: exact


def test_psi_and_js_come_from_exact_counts(parquet) -> None:
    ref, cur, ref_path, cur_dir = parquet["drifted"]
    for method in ("psi", "jensenshannon"):
        engine = drift_report(ref_path, cur_dir, method=method, columns=["region", "member"])
        memory = drift_report(ref, cur, method=method, columns=["region", "member"])
        assert [r.statistic for r in engine.rows] == pytest.approx(
            [r.statistic for r in memory.rows], rel=1e-12
        )


def test_leakage_is_an_exact_join_in_the_engine(parquet) -> None:
    ref, _, ref_path, _ = parquet["clean"]
    test = ref.sample(500, random_state=0).reset_index(drop=True)
    test.loc[:199, "income"] += 1.0  # 200 rows no longer match
    expected = leakage_report(ref, test, on=["income", "age"])
    assert expected.leaked == 300
    for train in (pl.from_pandas(ref), ref_path):
        report = leakage_report(train, test, on=["income", "age"], max_examples=3)
        assert (report.leaked, report.total) == (300, 500)
        assert len(report.examples) == 3 and report.examples[0]["test row"] == 200


def test_schema_of_a_parquet_path_with_the_polars_backend(parquet) -> None:
    pap = pytest.importorskip("pandera.polars")
    _, _, ref_path, _ = parquet["clean"]
    schema = pap.DataFrameSchema(
        {"age": pap.Column(int, pap.Check.ge(30)), "region": pap.Column(str)}
    )
    report = schema_report(ref_path, schema)
    assert not report.passed
    failed = [r for r in report.rows if r["check"] == "greater_than_or_equal_to(30)"]
    assert failed and all(int(r["failure case"]) < 30 for r in failed)
    assert all(r["row index"] is not None for r in failed)  # polars knows the rows


# --- bad input -----------------------------------------------------------------------------


def test_a_path_matching_no_file_is_named(tmp_path) -> None:
    frame = dataset(1, rows=50)
    with pytest.raises(MltkUsageError, match=r"current must be .*matches no Parquet file"):
        drift_report(frame, str(tmp_path / "nothing" / "*.parquet"))
    with pytest.raises(MltkUsageError, match=r"test must be .*matches no Parquet file"):
        leakage_report(frame, str(tmp_path))


def test_parquet_files_with_different_schemas_are_named(tmp_path) -> None:
    dataset(1, rows=50).to_parquet(tmp_path / "a.parquet")
    dataset(2, rows=50).drop(columns="age").to_parquet(tmp_path / "b.parquet")
    with pytest.raises(MltkUsageError, match="reference: Parquet files with different schemas"):
        drift_report(str(tmp_path), dataset(3, rows=50))


def test_a_column_on_one_side_only_is_named(parquet) -> None:
    ref, _, _, cur_dir = parquet["clean"]
    with pytest.raises(MltkUsageError, match=r"column\(s\) \['extra'\] missing from current"):
        drift_report(pl.from_pandas(ref.assign(extra=1.0)), cur_dir)


@pytest.mark.parametrize("bad", [[1, 2], {"a": [1]}, np.zeros(3)])
def test_an_unsupported_object_names_the_supported_kinds(bad) -> None:
    with pytest.raises(MltkUsageError, match=r"reference must be .*pyspark.sql.DataFrame"):
        drift_report(bad, dataset(1, rows=50))
    pap = pytest.importorskip("pandera.polars")
    with pytest.raises(MltkUsageError, match="a Parquet path, glob or directory"):
        schema_report(bad, pap.DataFrameSchema({"a": pap.Column(int)}))


# --- Spark: one local session for the test session ------------------------------------------


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_verdicts_are_the_same_in_spark(spark, parquet, case) -> None:
    ref, cur, ref_path, cur_dir = parquet[case]
    expected = verdict(drift_report(ref, cur))
    assert verdict(drift_report(spark.read.parquet(ref_path), spark.read.parquet(cur_dir))) == (
        expected
    )
    if case == "drifted":  # a pandas reference against a Spark current
        assert verdict(drift_report(ref, spark.read.parquet(cur_dir))) == expected


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_statistics_are_within_their_stated_bound(spark, parquet) -> None:
    ref, cur, ref_path, cur_dir = parquet["drifted"]
    report = drift_report(spark.read.parquet(ref_path), spark.read.parquet(cur_dir), method="ks")
    rows = {r.column: r for r in report.rows}
    for col in ("income", "score", "age"):
        a, b = ref[col].dropna().to_numpy(float), cur[col].dropna().to_numpy(float)
        exact = stats.ks_2samp(a, b).statistic
        assert abs(rows[col].statistic - exact) <= rows[col].bound + 1e-9
    memory = {r.column: r for r in drift_report(ref, cur, method="ks").rows}
    assert rows["region"].statistic == pytest.approx(memory["region"].statistic, rel=1e-12)


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_leakage(spark, parquet) -> None:
    ref, _, ref_path, _ = parquet["clean"]
    test = ref.sample(500, random_state=0).reset_index(drop=True)
    test.loc[:199, "age"] += 100
    report = leakage_report(spark.read.parquet(ref_path), test, on=["income", "age"])
    assert (report.leaked, report.total) == (300, 500) and report.examples
    leaked = set(zip(test["income"].iloc[200:], test["age"].iloc[200:], strict=True))
    assert all((e["income"], e["age"]) in leaked for e in report.examples)


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_leakage_examples_name_their_rows(spark, parquet, tmp_path) -> None:
    ref, _, ref_path, _ = parquet["clean"]
    test = ref.iloc[[5, 17, 40]].reset_index(drop=True)
    test.to_parquet(tmp_path / "test.parquet")
    on = ["income", "age"]
    report = leakage_report(
        spark.read.parquet(ref_path), spark.read.parquet(str(tmp_path / "test.parquet")), on=on
    )
    assert report.leaked == 3 and len(report.examples) == 3
    files = {"test.parquet": pd.read_parquet(tmp_path / "test.parquet")}
    for example in report.examples:
        for side in ("test row", "train row"):
            name, row = example[side].rsplit(":", 1)  # file.parquet:row
            if name not in files:
                files[name] = pd.read_parquet(next(Path(ref_path).parent.rglob(name)))
            assert tuple(files[name].iloc[int(row)][on]) == (example["income"], example["age"])
    # built in memory: no row identity, the key columns name the row
    memory = leakage_report(spark.createDataFrame(ref), spark.createDataFrame(test), on=on)
    assert memory.leaked == 3 and memory.examples[0]["test row"] is None


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_schema_is_refused_under_pandas_3(spark, parquet) -> None:
    # the Spark schema path itself runs in its own venv: tests/spark_schema (pandas 2)
    if int(pd.__version__.split(".")[0]) < 3:
        pytest.skip("pandas < 3 here: tests/spark_schema/test_spark_schema.py runs the path")
    pap = pytest.importorskip("pandera.pandas")
    frame = spark.read.parquet(parquet["clean"][2])
    with pytest.raises(MltkUsageError) as info:
        schema_report(frame, pap.DataFrameSchema({"age": pap.Column(int)}))
    assert str(info.value) == (
        "schema_report: df is a Spark DataFrame, validated by pandera's pyspark backend "
        "(pandera.pyspark), which imports pyspark.pandas; pyspark.pandas does not import "
        f"under pandas 3 (pandas {pd.__version__} is installed). Run Spark schema checks in "
        "an environment with pandas < 3 (Databricks runtimes ship pandas 2): "
        "pip install 'pandas<3' 'pyspark[connect]' pandera"
    )


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_zz_a_stopped_spark_session_is_named(spark, parquet) -> None:
    # last of the group: it stops the session the fixture shares
    frame = spark.read.parquet(parquet["clean"][2])
    spark.stop()
    with pytest.raises(MltkUsageError, match="current is a Spark DataFrame whose SparkSession"):
        drift_report(parquet["clean"][0], frame)
