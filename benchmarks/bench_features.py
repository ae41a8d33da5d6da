"""Speed of the feature and pipeline checks, measured in one run (medians of --repeats).

1. assert_no_skew on 1,000,000 keyed rows x 20 numeric features (serving in another row
   order, float32), against a plain pandas merge + per-column numpy comparison.
   Target: <= 2 s.
2. assert_no_pii on 1,000,000 rows x 20 string columns (18 clean, one of e-mails, one of
   phone numbers). Target: <= 5 s.
3. assert_no_target_leakage on 100,000 rows x 50 features. Target: <= 10 s.

    python benchmarks/bench_features.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np
import pandas as pd

from mlops_testkit import assert_no_pii, assert_no_skew, assert_no_target_leakage


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def skew_frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"id": np.arange(n), **{f"f{i}": rng.normal(size=n) for i in range(20)}})
    serve = train.sample(frac=1.0, random_state=1)
    serve[[f"f{i}" for i in range(20)]] = serve[[f"f{i}" for i in range(20)]].astype(np.float32)
    return train, serve


def merge_baseline(train: pd.DataFrame, serve: pd.DataFrame) -> None:
    joined = train.merge(serve, on="id", suffixes=("_t", "_s"))
    for i in range(20):
        a, b = joined[f"f{i}_t"].to_numpy(), joined[f"f{i}_s"].to_numpy()
        np.count_nonzero(~np.isclose(a, b, rtol=1e-6, atol=1e-6))


def pii_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    words = np.array(["north", "south", "east", "west", "gold", "silver", "basic", "premium"])
    cols = {}
    for i in range(18):
        values = words[rng.integers(0, len(words), n)]
        if i % 3 == 0:  # free text with numbers in it
            values = np.char.add(
                np.char.add(values, " ref "), rng.integers(0, 10**6, n).astype(str)
            )
        cols[f"text{i}"] = pd.Series(values, dtype="str")
    cols["email"] = pd.Series([f"user{i}@example.com" for i in range(n)], dtype="str")
    cols["phone"] = pd.Series(
        [f"+1 555 {i % 1000:03d} {i % 10000:04d}" for i in range(n)], dtype="str"
    )
    return pd.DataFrame(cols)


def leakage_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 50)), columns=[f"f{i}" for i in range(50)])
    X["y"] = (X["f0"] + X["f1"] + rng.normal(size=n) > 0).astype(int)
    return X


def bench_skew(n: int, repeats: int) -> None:
    train, serve = skew_frames(n)
    skew = timed(lambda: assert_no_skew(train, serve, on="id"), repeats)
    merge = timed(lambda: merge_baseline(train, serve), repeats)
    print(
        f"assert_no_skew, {n:,} keyed rows x 20 features: median {skew:.2f} s (target <= 2 s); "
        f"pandas merge + numpy compare: {merge:.2f} s; ratio {skew / merge:.2f}"
    )


def bench_pii(n: int, repeats: int) -> None:
    frame = pii_frame(n)

    def pii() -> None:
        with contextlib.suppress(AssertionError):  # the e-mail and phone columns are found
            assert_no_pii(frame)

    pii_s = timed(pii, repeats)
    print(f"assert_no_pii, {n:,} rows x 20 string columns: median {pii_s:.2f} s (target <= 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = args.rows

    bench_skew(n, args.repeats)
    bench_pii(n, args.repeats)
    rows = min(n, 100_000)
    frame = leakage_frame(rows)
    leak = timed(lambda: assert_no_target_leakage(frame, "y", max_gap=None), args.repeats)
    print(
        f"assert_no_target_leakage, {rows:,} rows x 50 features: median {leak:.2f} s "
        "(target <= 10 s)"
    )


if __name__ == "__main__":
    main()
