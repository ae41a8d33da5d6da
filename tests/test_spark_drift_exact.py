"""The Spark drift path counts exactly what the in-memory path counts: the same grid bin
for every value (central and geometric tail bins, integer grids with their not-whole
flag), the same missing counts, min, max and standard deviation, and exact categories,
so a pandas side and a Spark side can share one grid."""

from __future__ import annotations

import math

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyspark")

from mlops_testkit.data.backends import MAX_CATEGORIES, TooMany
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


@pytest.mark.parametrize("seed", [1, 2])
def test_bins_and_moments_equal_the_in_memory_path(spark, seed) -> None:
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
