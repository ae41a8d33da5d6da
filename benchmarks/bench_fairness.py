"""Speed of the statistical gates on large data (medians of a few runs, one process):

- assert_fairness, 2,000 bootstrap resamples, 1M rows x 4 groups: target <= 2 s;
- find_weak_slices, 100k rows x 20 features (10 numeric, 10 categorical), depth 2:
  target <= 10 s;
- and, for scale, assert_calibrated (1M rows, 10 bins, 2,000 resamples) and
  assert_beats_baseline (accuracy, 100k rows, 2,000 paired resamples).

    python benchmarks/bench_fairness.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from mlops_testkit import (
    baseline_report,
    calibration_report,
    fairness_report,
    find_weak_slices,
)


def timed(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    n = 1_000_000
    groups = pd.Series(rng.choice(["a", "b", "c", "d"], n))  # text, as users hold it
    rates = groups.map({"a": 0.40, "b": 0.42, "c": 0.38, "d": 0.41}).to_numpy()
    decisions = (rng.random(n) < rates).astype(np.int8)
    fair = timed(
        lambda: fairness_report(None, decisions, groups, min_ratio=0.8, n_boot=2000), args.runs
    )

    m = 100_000
    X = pd.DataFrame(
        {
            **{f"num_{i}": rng.normal(size=m) for i in range(10)},
            **{f"cat_{i}": rng.choice(list("abcdefgh")[: 3 + i % 5], m) for i in range(10)},
        }
    )
    y = (rng.random(m) < 0.3).astype(int)
    pred = np.where(rng.random(m) < 0.85, y, 1 - y)
    slices = timed(lambda: find_weak_slices(X, y, pred, metric="accuracy"), args.runs)
    candidates = find_weak_slices(X, y, pred, metric="accuracy").details["candidates"]

    proba = rng.uniform(0, 1, n)
    labels = (rng.random(n) < proba).astype(int)
    calib = timed(lambda: calibration_report(labels, proba, n_boot=2000), args.runs)
    base = timed(lambda: baseline_report(y, pred, metric="accuracy", n_boot=2000), args.runs)

    print(f"bench_fairness: medians of {args.runs} runs")
    for label, value, target in (
        ("assert_fairness, 1M rows x 4 groups, 2,000 resamples", fair, 2.0),
        (f"find_weak_slices, 100k x 20 features, depth 2 ({candidates} slices)", slices, 10.0),
        ("assert_calibrated, 1M rows, 2,000 resamples", calib, None),
        ("assert_beats_baseline (accuracy), 100k rows, 2,000 resamples", base, None),
    ):
        verdict = (
            ""
            if target is None
            else (
                f"  target <= {target:g} s, ratio {value / target:.2f}  "
                + ("OK" if value <= target else "OVER")
            )
        )
        print(f"  {label}: {value:.3f} s{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
