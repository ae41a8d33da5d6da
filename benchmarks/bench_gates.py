"""Stability of assert_latency: the same fixed workload measured 10 times with the
defaults (5 warm-up calls, 8 rounds of 25 timed calls, median of the rounds' p95s). Target: p95 varies <= 15% across runs
(spread = (max - min) / median of the ten p95 values).

    python benchmarks/bench_gates.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from mlops_testkit import assert_latency

TARGET_SPREAD = 0.15


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(64, 256)), rng.normal(size=(256, 256)), rng.normal(size=(256, 1))]
    batch = rng.normal(size=(256, 64))

    def predict(x):  # a fixed workload: a 3-layer MLP forward pass on 256 rows
        for w in weights:
            x = np.maximum(x @ w, 0)
        return x

    p95s, p50s = [], []
    for _ in range(args.runs):
        result = assert_latency(predict, batch, p95_ms=1e6)
        p95s.append(result.details["p95_ms"])
        p50s.append(result.details["p50_ms"])
    med = statistics.median(p95s)
    spread = (max(p95s) - min(p95s)) / med
    print(
        f"bench_gates: assert_latency on a fixed MLP workload, {args.runs} runs (warmup 5, repeats 50)"
    )
    print(
        f"  p50 median {statistics.median(p50s):.3f} ms; p95 median {med:.3f} ms, min {min(p95s):.3f}, max {max(p95s):.3f}"
    )
    print(
        f"  p95 spread {spread:.1%} (target <= {TARGET_SPREAD:.0%})  {'OK' if spread <= TARGET_SPREAD else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
