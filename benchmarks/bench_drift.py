"""Speed and memory of the data tests, measured in one run.

1. assert_no_drift on 1,000,000 rows x (20 numeric + 5 categorical) columns, against a
   straightforward per-column scipy loop (ks_2samp / chi2_contingency) on the same data.
   Targets: <= 2 s wall; peak memory <= 3x the two input frames.
2. assert_schema overhead over a bare ``schema.validate(df, lazy=True)`` at 1M rows.
   Target: <= 10%.
3. frames(): 100 examples of 50-row frames for a 10-column schema. Target: a few seconds.

    python benchmarks/bench_drift.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np
import pandas as pd
import pandera.pandas as pa
from hypothesis import given, settings
from scipy import stats

from mlops_testkit import assert_no_drift, assert_schema, frames

CATEGORIES = pd.CategoricalDtype(["north", "south", "east", "west", "other"])


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {f"num{i}": rng.normal(size=n) if i % 2 else rng.lognormal(size=n) for i in range(20)}
    for i in range(5):
        codes = rng.choice(5, size=n, p=[0.3, 0.25, 0.2, 0.15, 0.1])
        cols[f"cat{i}"] = pd.Categorical.from_codes(codes, dtype=CATEGORIES)
    return pd.DataFrame(cols)


def scipy_loop(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
    """What one writes by hand: a test per column, no correction, no effect sizes."""
    p = {}
    for col in reference.columns:
        if isinstance(reference[col].dtype, pd.CategoricalDtype):
            table = pd.concat(
                [reference[col].value_counts(), current[col].value_counts()], axis=1
            ).fillna(0)
            p[col] = stats.chi2_contingency(table.T.to_numpy()).pvalue
        else:
            p[col] = stats.ks_2samp(reference[col].dropna(), current[col].dropna()).pvalue
    return p


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_drift(rows: int, repeats: int) -> None:
    reference, current = make_frame(rows, 1), make_frame(rows, 2)
    inputs_mb = (
        reference.memory_usage(deep=True).sum() + current.memory_usage(deep=True).sum()
    ) / 1e6
    assert_no_drift(reference, current)  # warm imports
    ours = timed(lambda: assert_no_drift(reference, current), repeats)
    tracemalloc.start()
    assert_no_drift(reference, current)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    loop = timed(lambda: scipy_loop(reference, current), max(1, repeats // 2))
    print(f"drift: {rows:,} rows x 25 columns (20 numeric, 5 categorical), {repeats} runs")
    print(
        f"  assert_no_drift        median {ours:7.3f} s   (target <= 2 s)  {'OK' if ours <= 2 else 'OVER'}"
    )
    print(f"  per-column scipy loop  median {loop:7.3f} s   ratio scipy/ours {loop / ours:.1f}x")
    ratio = peak_mb / inputs_mb
    print(
        f"  peak memory {peak_mb:.0f} MB for {inputs_mb:.0f} MB of inputs: {ratio:.2f}x (target <= 3x)"
    )


def bench_schema(rows: int, repeats: int) -> None:
    frame = make_frame(rows, 3)
    schema = pa.DataFrameSchema(
        {
            **{f"num{i}": pa.Column(float, pa.Check.ge(-1e9)) for i in range(20)},
            **{
                f"cat{i}": pa.Column(CATEGORIES, pa.Check.isin(list(CATEGORIES.categories)))
                for i in range(5)
            },
        }
    )
    schema.validate(frame, lazy=True)
    bare, ours = [], []
    for _ in range(repeats):  # interleaved
        bare.append(timed(lambda: schema.validate(frame, lazy=True), 1))
        ours.append(timed(lambda: assert_schema(frame, schema), 1))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"schema: {rows:,} rows x 25 columns, {repeats} runs each")
    print(f"  schema.validate(lazy=True) median {b:.3f} s; assert_schema median {o:.3f} s")
    print(f"  overhead {o / b - 1:+.1%} (target <= 10%)")


def bench_frames() -> None:
    schema = pa.DataFrameSchema(
        {
            "age": pa.Column(int, pa.Check.in_range(18, 99)),
            "income": pa.Column(float, pa.Check.gt(0)),
            "debt": pa.Column(float, pa.Check.ge(0), nullable=True),
            "region": pa.Column(str, pa.Check.isin(["north", "south", "east", "west"])),
            "home": pa.Column("category", pa.Check.isin(["rent", "own", "mortgage"])),
            "late": pa.Column(int, [pa.Check.ge(0), pa.Check.le(30)]),
            "code": pa.Column(str, pa.Check.str_length(3, 6)),
            "flag": pa.Column(bool),
            "score": pa.Column(float, pa.Check.in_range(0, 1, include_min=False)),
            "id": pa.Column(int, pa.Check.ge(0), unique=True),
        }
    )
    count = [0]

    @settings(max_examples=100, deadline=None, database=None)
    @given(frames(schema, size=50))
    def consume(df):
        count[0] += 1

    start = time.perf_counter()
    consume()
    took = time.perf_counter() - start
    print(f"frames: {count[0]} examples of 50-row frames, 10-column schema: {took:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    bench_drift(args.rows, args.repeats)
    bench_schema(args.rows, args.repeats)
    bench_frames()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
