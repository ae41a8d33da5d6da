"""The Spark drift path counts exactly what the in-memory path counts: the same grid bin
for every value (central and geometric tail bins, integer grids with their not-whole
flag), the same missing counts, min, max and standard deviation, and exact categories,
so a pandas side and a Spark side can share one grid."""

from __future__ import annotations

import math
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


@pytest.fixture(params=["arrow", "sql"])
def path(request, spark, monkeypatch):
    """Both ways the Spark side counts: numpy over Arrow batches on the executors (the
    default), and the Spark SQL aggregations used where the executors' Python cannot."""
    if request.param == "sql":
        monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet([spark]))
    else:
        monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    return request.param


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
    from pyspark.sql import DataFrame

    monkeypatch.setattr(spark_backend, "_SQL_ONLY", weakref.WeakSet())
    monkeypatch.delattr(DataFrame, "toArrow")  # pyspark 3.5's DataFrame has no toArrow
    data = frame(4, rows=10_000)
    got = SparkBackend(spark.createDataFrame(data), "ref", "drift_report").binned(GRIDS)
    for col, grid in GRIDS.items():
        values = data[col].to_numpy(np.float64)
        expected = bin_values(grid, values[np.isfinite(values)])
        assert got[col].counts == expected.counts, col
        assert all(type(k) is int for k in got[col].counts)
        assert got[col].non_integer == expected.non_integer


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
