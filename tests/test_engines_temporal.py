"""Datetime and date columns on every engine: pandas, polars (DataFrame and LazyFrame),
Parquet paths, PyArrow and Spark give the same drift and leakage verdicts on the same
seeded data. Engines compare temporal values as nanoseconds since the epoch."""

from __future__ import annotations

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
pytest.importorskip("scipy")

from mlops_testkit import drift_report, leakage_report

ROWS = 20_000  # above the exact-values limit (8,192): engines send histograms, not values
DAY = 86_400


def dataset(seed: int, shift_days: float = 0.0, rows: int = ROWS) -> pd.DataFrame:
    """``signup`` (a timestamp, about a month of spread) and ``day`` (its date)."""
    rng = np.random.default_rng(seed)
    seconds = rng.normal(0, 30 * DAY, rows) + shift_days * DAY
    # microseconds: Spark reads no nanosecond Parquet timestamps (PARQUET_TYPE_ILLEGAL)
    signup = np.datetime64("2024-01-01T00:00:00", "us") + (seconds * 1e6).astype("timedelta64[us]")
    frame = pd.DataFrame({"signup": signup, "x": rng.normal(size=rows)})
    frame["day"] = frame["signup"].dt.date  # datetime.date objects: Parquet date32
    return frame


CASES = {"clean": (1, 2, 0.0), "clean-2": (5, 6, 0.0), "drifted": (3, 4, 10.0)}
TEMPORAL = ["signup", "day"]


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    root = tmp_path_factory.mktemp("temporal")
    out = {}
    for case, (seed_ref, seed_cur, shift) in CASES.items():
        ref, cur = dataset(seed_ref), dataset(seed_cur, shift)
        ref.to_parquet(root / f"{case}-ref.parquet", index=False)
        cur.to_parquet(root / f"{case}-cur.parquet", index=False)
        out[case] = (
            ref,
            cur,
            str(root / f"{case}-ref.parquet"),
            str(root / f"{case}-cur.parquet"),
        )
    return out


def verdict(report) -> tuple[bool, list[str]]:
    return report.passed, sorted(report.drifted)


def test_the_parquet_files_hold_timestamp_and_date_types(parquet) -> None:
    import pyarrow.parquet as pq

    schema = pq.read_schema(parquet["clean"][2])
    assert str(schema.field("signup").type).startswith("timestamp")
    assert str(schema.field("day").type) == "date32[day]"


@pytest.mark.parametrize("case", list(CASES))
def test_temporal_verdicts_are_the_same_on_every_local_engine(parquet, case) -> None:
    ref, cur, ref_path, cur_path = parquet[case]
    expected = verdict(drift_report(ref, cur, columns=TEMPORAL))
    # a 10-day shift of a month-wide spread is found on both columns; no false alarm without
    assert expected == ((False, TEMPORAL[::-1]) if case == "drifted" else (True, []))
    assert verdict(drift_report(pl.from_pandas(ref), pl.from_pandas(cur), columns=TEMPORAL)) == (
        expected
    )
    lazy = pl.from_pandas(cur).lazy()
    assert verdict(drift_report(pl.from_pandas(ref), lazy, columns=TEMPORAL)) == expected
    assert verdict(drift_report(ref_path, cur_path, columns=TEMPORAL)) == expected
    tables = pa.Table.from_pandas(ref), pa.Table.from_pandas(cur)
    assert verdict(drift_report(*tables, columns=TEMPORAL)) == expected


def test_engine_temporal_rows_are_numeric_in_nanoseconds(parquet) -> None:
    ref, cur, ref_path, cur_path = parquet["drifted"]
    rows = {r.column: r for r in drift_report(ref_path, cur_path, columns=TEMPORAL).rows}
    assert rows["signup"].kind == rows["day"].kind == "numeric"
    memory = {r.column: r for r in drift_report(ref, cur, columns=["signup"]).rows}
    # Wasserstein normalised by the reference's spread: unit-free, so ns and s agree
    assert (
        abs(rows["signup"].statistic - memory["signup"].statistic) <= rows["signup"].bound + 1e-9
    )


def test_temporal_leakage_keys_on_every_local_engine(parquet) -> None:
    ref, _, ref_path, _ = parquet["clean"]
    test = ref.sample(400, random_state=0).reset_index(drop=True)
    test.loc[:99, "signup"] += pd.Timedelta(seconds=1)  # 100 rows no longer match
    expected = leakage_report(ref, test, on=["signup", "day"])
    assert (expected.leaked, expected.total) == (300, 400)
    for train in (pl.from_pandas(ref), ref_path, pa.Table.from_pandas(ref)):
        report = leakage_report(train, test, on=["signup", "day"])
        assert (report.leaked, report.total) == (300, 400)


@pytest.fixture
def live_spark(spark):
    """The shared session (the conftest fixture starts a fresh one when a test stopped it)."""
    return spark


@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_temporal_verdicts_are_the_same_in_spark(live_spark, parquet) -> None:
    types = {}
    for case in CASES:
        ref, cur, ref_path, cur_path = parquet[case]
        expected = verdict(drift_report(ref, cur, columns=TEMPORAL))
        sides = live_spark.read.parquet(ref_path), live_spark.read.parquet(cur_path)
        types = {f.name: f.dataType.simpleString() for f in sides[0].schema.fields}
        assert verdict(drift_report(*sides, columns=TEMPORAL)) == expected, case
    assert types["signup"].startswith("timestamp") and types["day"] == "date"
    ref, _, ref_path, _ = parquet["clean"]
    test = ref.sample(400, random_state=0).reset_index(drop=True)
    test.loc[:99, "signup"] += pd.Timedelta(seconds=1)
    report = leakage_report(live_spark.read.parquet(ref_path), test, on=["signup", "day"])
    assert (report.leaked, report.total) == (300, 400)
