"""The Spark drift path counts exactly what the in-memory path counts: the same grid bin
for every value (central and geometric tail bins, integer grids with their not-whole
flag), the same missing counts, min, max and standard deviation, and exact categories,
so a pandas side and a Spark side can share one grid."""

from __future__ import annotations

import math
import warnings
import weakref

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyspark")

from mlops_testkit.data.backends import MAX_CATEGORIES, TooMany
from mlops_testkit.data.backends import spark as spark_backend
from mlops_testkit.data.backends.spark import SparkBackend
from mlops_testkit.data.drift_stats import MISSING
from mlops_testkit.data.sketch import Grid, bin_values

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]


def frame(seed: int, rows: int = 30_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[:40] = [1e9, -1e9, 1e300, -1e300, 7.5, -12.0] * 6 + [np.nan, np.inf, -np.inf, np.nan]
    big = 1e9 + rng.normal(size=rows) * 1e-3  # raw sums of squares would cancel here
    ints = rng.integers(-50, 50, rows).astype(np.float64)
    ints[::97] += 0.5  # some values that are not whole numbers on an integer grid
    return pd.DataFrame(
        {
            "x": x,
            "big": big,
            "ints": ints,
            "region": rng.choice(np.array(["n", "s", None], dtype=object), rows),
            "flag": rng.random(rows) < 0.3,
        }
    )


GRIDS = {
    "x": Grid(-3.0, 6.0 / 8192),  # tails on both sides, far outliers
    "big": Grid(1e9 - 0.004, 0.008 / 8192),
    "ints": Grid(-51.0, 1.0, integer=True),
}


def count_with(way: str, spark, monkeypatch) -> None:
    """Make the Spark side count one way: "arrow" (numpy over Arrow batches on the
    executors, the default) or "sql" (the Spark SQL aggregations used where that cannot
    run); the other way's function fails the test if it is called."""
    from mlops_testkit.data.backends import spark_counts

    def not_this_one(*args, **kwargs):
        pytest.fail(f"the {way} path counted with the other path's function")

    monkeypatch.undo()  # a previous way's patches
    monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    if way == "sql":
        spark_backend._SQL_ONLY.add(spark_backend._session_key(spark))
        monkeypatch.setattr(spark_counts, "arrow_bin_counts", not_this_one)
    else:
        monkeypatch.setattr(spark_counts, "bin_counts", not_this_one)


@pytest.fixture(params=["arrow", "sql"])
def path(request, spark):
    """Each test that takes it runs once per way of counting (:func:`count_with`)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        count_with(request.param, spark, monkeypatch)
        yield request.param


def assert_same(got, expected, where) -> None:
    assert got.counts == expected.counts, where
    assert (got.finite, got.missing) == (expected.finite, expected.missing), where
    assert (got.minimum, got.maximum) == (expected.minimum, expected.maximum), where
    assert got.std == pytest.approx(expected.std, rel=1e-9, nan_ok=True), where
    assert got.non_integer == expected.non_integer, where


def in_memory(grid, values):
    """What the in-memory path counts, with the standard deviation computed exactly
    (rational arithmetic): np.std of 1e9 + 1e-3 noise is itself off by about 4e-9."""
    from fractions import Fraction

    finite = values[np.isfinite(values)]
    expected = bin_values(grid, finite)
    expected.missing = len(values) - len(finite)
    if grid.a > 1e8:  # the "big" column; the others' np.std is exact enough
        exact = [Fraction(float(v)) for v in finite]
        mean = sum(exact) / len(exact)
        expected.std = math.sqrt(sum((v - mean) ** 2 for v in exact) / len(exact))
    return expected


@pytest.mark.parametrize("seed", [1, 2])
def test_bins_and_moments_equal_the_in_memory_path(spark, path, seed) -> None:
    data = frame(seed)
    side = SparkBackend(spark.createDataFrame(data), "current", "drift_report")
    counted = side.binned(GRIDS)
    for col, grid in GRIDS.items():
        values = data[col].to_numpy(np.float64)
        finite = values[np.isfinite(values)]
        expected = bin_values(grid, finite)
        got = counted[col]
        assert got.counts == expected.counts, col
        assert (got.finite, got.missing) == (len(finite), len(values) - len(finite))
        assert (got.minimum, got.maximum) == (expected.minimum, expected.maximum)
        assert got.std == pytest.approx(expected.std, rel=1e-9), col
        if grid.integer:
            assert got.non_integer == expected.non_integer > 0
    assert min(counted["x"].counts) < 0 and max(counted["x"].counts) > 8193  # tails used


def test_the_counts_come_back_without_to_arrow_as_on_pyspark_3_5(spark, monkeypatch) -> None:
    monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    df = spark.createDataFrame(frame(4, rows=10_000))
    for cls in type(df).__mro__:  # pyspark 3.5's DataFrame has no toArrow: collect() instead
        if "toArrow" in vars(cls):
            monkeypatch.delattr(cls, "toArrow")
    assert not hasattr(df, "toArrow")
    got = SparkBackend(df, "ref", "drift_report").binned(GRIDS)
    data = frame(4, rows=10_000)
    for col, grid in GRIDS.items():
        assert_same(got[col], in_memory(grid, data[col].to_numpy(np.float64)), col)
        assert all(type(k) is int for k in got[col].counts)


def test_nulls_empty_partitions_dates_and_no_rows_count_the_same_on_both_paths(
    spark, monkeypatch
) -> None:
    import datetime as dt

    rng = np.random.default_rng(5)
    rows = []
    for i in range(40):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 400)))
        rows.append(
            (
                None if i % 7 == 0 else float(rng.normal()),  # Spark nulls, not NaN
                None,  # no value at all
                None if i % 5 == 0 else day,
                dt.datetime(2024, 3, 1, 12) + dt.timedelta(minutes=int(rng.integers(0, 10**5))),
            )
        )
    schema = "x double, nothing double, day date, at timestamp"
    df = spark.createDataFrame(rows, schema).repartition(16)  # most partitions empty
    grids = {
        "x": Grid(-3.0, 6.0 / 8192),
        "nothing": Grid(0.0, 1.0),
        "day": Grid(1.70e18, 4e16 / 8192),
        "at": Grid(1.709e18, 7e15 / 8192),
    }
    counted = {}
    for way in ("arrow", "sql"):
        count_with(way, spark, monkeypatch)
        counted[way] = SparkBackend(df, "ref", "drift_report").binned(grids)
        empty = SparkBackend(df.limit(0), "ref", "drift_report").binned(grids)
        assert all((b.counts, b.finite, b.missing) == ({}, 0, 0) for b in empty.values())
    x = np.array([r[0] for r in rows if r[0] is not None])
    expected_x = bin_values(grids["x"], x)
    expected_x.missing = 40 - len(x)
    for col in grids:
        assert_same(counted["arrow"][col], counted["sql"][col], col)
    assert_same(counted["arrow"]["x"], expected_x, "x")
    nothing = counted["arrow"]["nothing"]
    assert (nothing.counts, nothing.finite, nothing.missing) == ({}, 0, 40)
    assert counted["arrow"]["day"].finite == sum(r[2] is not None for r in rows) < 40
    assert counted["arrow"]["at"].finite == 40


def test_a_failing_query_is_raised_not_recounted_with_sql(spark, monkeypatch) -> None:
    from mlops_testkit import MltkUsageError
    from mlops_testkit.data.backends import spark_counts

    monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    monkeypatch.setattr(
        spark_counts, "bin_counts", lambda *a, **k: pytest.fail("recounted with SQL")
    )
    broken = spark.range(20).selectExpr("IF(assert_true(id < 5) IS NULL, 1.0, 0.0) AS x")
    with pytest.raises(MltkUsageError, match="cannot be computed by spark"):
        SparkBackend(broken, "ref", "drift_report").binned({"x": Grid(0.0, 1.0)})
    assert not spark_backend._SQL_ONLY  # nothing learnt about the executors


def test_a_driver_without_what_arrow_needs_counts_with_sql_and_says_so(spark, monkeypatch) -> None:
    from pyspark.sql.pandas import functions

    from mlops_testkit import MltkWarning

    def too_old() -> None:
        raise ImportError("PyArrow >= 18.0.0 must be installed; however, your version is 14.0.")

    monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    monkeypatch.setattr(functions, "require_minimum_pyarrow_version", too_old)
    data = frame(6, rows=10_000)
    side = SparkBackend(spark.createDataFrame(data), "current", "drift_report")
    with pytest.warns(MltkWarning, match="this Python could not count current's bins") as seen:
        got = side.binned(GRIDS)
    assert "PyArrow >= 18.0.0 must be installed" in str(seen[0].message)
    assert "pyspark[sql]" in str(seen[0].message)
    for col, grid in GRIDS.items():
        assert_same(got[col], in_memory(grid, data[col].to_numpy(np.float64)), col)
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        assert_same(side.binned(GRIDS)["x"], got["x"], "x")  # the rest: SQL, no new warning
    assert not [w for w in again if issubclass(w.category, MltkWarning)]


def test_values_at_the_end_of_the_doubles_land_in_the_last_tail_bin(spark, path) -> None:
    # on a fine grid, (x - a) / width of x = 1.7e308 overflows to inf: every path clips it
    x = np.concatenate([[1.7e308, -1.7e308, 1e308, -1e308], np.linspace(-1, 1, 100)])
    grid = Grid(0.0, 1e-3)
    side = SparkBackend(spark.createDataFrame(pd.DataFrame({"x": x})), "ref", "drift_report")
    got = side.binned({"x": grid})["x"]
    expected = bin_values(grid, x)
    assert got.counts == expected.counts
    assert min(got.counts) == -1023 and max(got.counts) == grid.bins + 1 + 1023
    assert (got.minimum, got.maximum, got.finite) == (-1.7e308, 1.7e308, 104)


def test_categories_are_exact_and_too_many_is_named(spark) -> None:
    data = frame(3)
    side = SparkBackend(spark.createDataFrame(data), "current", "drift_report")
    got = side.categories(["region", "flag"])
    region = data["region"].value_counts(dropna=False)
    assert got["region"] == {
        (k if isinstance(k, str) else MISSING): int(v) for k, v in region.items()
    }
    assert got["flag"] == {bool(k): int(v) for k, v in data["flag"].value_counts().items()}
    ids = spark.range(MAX_CATEGORIES + 5).selectExpr("CAST(id AS STRING) AS key")
    wide = SparkBackend(ids, "current", "drift_report").categories(["key"])["key"]
    assert isinstance(wide, TooMany) and wide.distinct == MAX_CATEGORIES + 5


def test_a_mostly_missing_column_still_gets_a_grid_sample(spark) -> None:
    rows = 200_000
    x = np.full(rows, np.nan)
    x[::2000] = np.arange(rows // 2000, dtype=np.float64)  # 100 values in 200,000 rows
    side = SparkBackend(spark.createDataFrame(pd.DataFrame({"x": x})), "ref", "drift_report")
    sample = side.sample(["x"], 0)["x"]
    assert len(sample) >= 64 and math.isclose(sample.max(), 99.0, abs_tol=1.0)


def test_the_shipped_counter_needs_numpy_and_pyarrow_only(tmp_path) -> None:
    # what mapInArrow ships to the executors, unpickled where mlops-testkit cannot import
    import json
    import subprocess
    import sys

    from pyspark import cloudpickle

    from mlops_testkit.data.backends.spark_counts import MOMENTS, _counter

    blob = tmp_path / "counter.pickle"
    blob.write_bytes(cloudpickle.dumps(_counter([0.0], [0.5], 8192, [2048.0], [False])))
    script = (
        "import json, pickle, sys\n"
        "sys.modules['mlops_testkit'] = None  # every import of the kit fails\n"
        "import pyarrow as pa\n"
        "count = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "batch = pa.record_batch([pa.array([0.2, 1.0, float('nan'), None, 3.0])], ['v0'])\n"
        "print(json.dumps(pa.Table.from_batches(list(count(iter([batch])))).to_pydict()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(blob)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    table = json.loads(out.stdout)
    assert table["k"] == [1, 2, 6, MOMENTS] and table["n"] == [1, 1, 1, 0]
    assert table["lo"] == [None, None, None, 0.2] and table["hi"][-1] == 3.0
    assert table["s1"][-1] == pytest.approx(0.2 + 1.0 + 3.0 - 3 * 2048.0)
