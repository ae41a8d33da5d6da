"""Drifted columns counted by an engine get their histogram in the report, drawn from the
grid counts the engine sent back (no values): the same shares as a histogram of the
values, up to one grid bin at each display boundary."""

from __future__ import annotations

import numpy as np
import pytest

import mlops_testkit as mltk
from mlops_testkit.data.sketch import Grid, bin_values, binned_histogram
from mlops_testkit.reporting.results import histogram

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

ROWS = 20_000  # above EXACT_UP_TO: the engine counts in a grid


def frames(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame({"x": rng.normal(size=ROWS), "same": rng.normal(size=ROWS)})
    cur = pd.DataFrame({"x": rng.normal(0.5, 1.0, ROWS), "same": rng.normal(size=ROWS)})
    return ref, cur


def close_to_values(plot: dict, ref: np.ndarray, cur: np.ndarray) -> None:
    assert len(plot["edges"]) == 21
    assert sum(plot["reference"]) == pytest.approx(1.0)
    assert sum(plot["current"]) == pytest.approx(1.0)
    expected = histogram(ref, cur)
    assert plot["edges"] == pytest.approx(expected["edges"])
    # a grid bin straddling a display edge is counted on one side of it
    assert np.abs(np.subtract(plot["reference"], expected["reference"])).max() < 0.01
    assert np.abs(np.subtract(plot["current"], expected["current"])).max() < 0.01


def test_binned_histogram_matches_the_values_histogram() -> None:
    ref, cur = frames()
    grid = Grid(-5.0, 10.5 / 8192)
    plot = binned_histogram(
        grid, bin_values(grid, ref["x"].to_numpy()), bin_values(grid, cur["x"].to_numpy())
    )
    close_to_values(plot, ref["x"].to_numpy(), cur["x"].to_numpy())


def test_binned_histogram_of_an_empty_side_is_none() -> None:
    grid = Grid(0.0, 1.0)
    assert binned_histogram(grid, bin_values(grid, []), bin_values(grid, [1.0, 2.0])) is None


def test_polars_lazyframe_drift_report_draws_the_drifted_column() -> None:
    ref, cur = frames()
    with pytest.raises(AssertionError, match="drift"):
        mltk.assert_no_drift(pl.from_pandas(ref).lazy(), pl.from_pandas(cur).lazy())
    report = mltk.drift_report(pl.from_pandas(ref).lazy(), pl.from_pandas(cur).lazy())
    assert report.drifted == ["x"]
    assert list(report.plots) == ["x"]  # only drifted columns are drawn
    close_to_values(report.plots["x"], ref["x"].to_numpy(), cur["x"].to_numpy())


def test_parquet_drift_report_draws_the_drifted_column(tmp_path) -> None:
    ref, cur = frames(1)
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_parquet(tmp_path / "cur.parquet")
    report = mltk.drift_report(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"))
    assert list(report.plots) == ["x"]
    assert report.record_fields()["histograms"]["x"] == report.plots["x"]


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_spark_drift_report_draws_the_drifted_column(spark) -> None:
    ref, cur = frames(2)
    report = mltk.drift_report(spark.createDataFrame(ref), spark.createDataFrame(cur))
    assert report.drifted == ["x"]
    close_to_values(report.plots["x"], ref["x"].to_numpy(), cur["x"].to_numpy())
