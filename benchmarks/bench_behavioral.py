"""Overhead of the behavioral harness and speed of the perturbations, in one run.

1. 10,000 INV cases with a vectorised model costing ~1 us per row: harness overhead
   (everything except predict) <= 0.05 s; predict called ceil(n / batch_size) times.
2. Typos + name swaps for 10,000 sentences <= 0.5 s.

    python benchmarks/bench_behavioral.py [--cases 10000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

import numpy as np

from mlops_testkit import assert_invariant, perturb

NAMES = ("Anna", "James", "Priya", "Wei", "Fatima", "Carlos")
WORDS = ("the", "room", "was", "clean", "and", "staff", "friendly", "food", "great", "slow")


def sentences(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        f"{rng.choice(NAMES)} said "
        + " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
        for _ in range(n)
    ]


class Model:
    """Vectorised: ~1 us per row, like a small linear model over cached features."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    def __call__(self, texts: list[str]):
        start = time.perf_counter()
        self.calls += 1
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        deadline = start + 1e-6 * len(texts)
        while time.perf_counter() < deadline:  # the model's own cost: 1 us per row
            pass
        out = np.stack([1 / (1 + lengths), 1 - 1 / (1 + lengths)], axis=1)
        self.seconds += time.perf_counter() - start
        return out


def cheap_variant(text: str) -> str:
    return text + " "


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()
    inputs = sentences(args.cases)
    overheads, calls = [], 0
    for _ in range(args.repeats):
        model = Model()
        start = time.perf_counter()
        assert_invariant(
            model, inputs, cheap_variant, batch_size=args.batch_size, max_fail_rate=1 - 1e-9
        )
        overheads.append(time.perf_counter() - start - model.seconds)
        calls = model.calls
    expected_calls = math.ceil(2 * args.cases / args.batch_size)
    overhead = statistics.median(overheads)
    print(
        f"bench_behavioral: {args.cases:,} INV cases (1 variant each), batch {args.batch_size}, {args.repeats} runs"
    )
    print(
        f"  harness overhead (all but predict) median {overhead * 1000:.1f} ms (target <= 50 ms)  "
        f"{'OK' if overhead <= 0.05 else 'OVER'}"
    )
    print(
        f"  predict calls {calls} = ceil({2 * args.cases} rows / {args.batch_size}) = {expected_calls}  "
        f"{'OK' if calls == expected_calls else 'WRONG'}"
    )
    checklist_overhead = bench_checklist(inputs, args.repeats)
    if checklist_overhead is not None:
        print(
            f"  CheckList's own INV runner on the same cases: overhead median "
            f"{checklist_overhead * 1000:.1f} ms; ours is {checklist_overhead / overhead:.1f}x leaner "
            f"(target >= 3x)"
        )
    else:
        print("  (CheckList not importable here: run with .venv-checklist/bin/python to compare)")
    p = perturb.typos() | perturb.change_names()
    rng = random.Random(0)
    took = statistics.median(
        timed(lambda: [p(t, rng) for t in inputs]) for _ in range(args.repeats)
    )
    print(
        f"  typos + name swaps for {args.cases:,} sentences: median {took * 1000:.0f} ms (target <= 500 ms)  "
        f"{'OK' if took <= 0.5 else 'OVER'}"
    )
    return 0


def bench_checklist(inputs: list[str], repeats: int) -> float | None:
    """CheckList's INV.run on the same cases and model (when checklist is installed)."""
    try:
        from checklist.test_types import INV
    except ImportError:
        return None
    overheads = []
    for _ in range(repeats):
        model = Model()

        def wrapped(texts, model=model):
            probs = model(texts)
            return probs.argmax(axis=1), probs

        test = INV([[t, cheap_variant(t)] for t in inputs])
        start = time.perf_counter()
        test.run(wrapped, overwrite=True, verbose=False, n=None)
        test.get_stats()
        overheads.append(time.perf_counter() - start - model.seconds)
    return statistics.median(overheads)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
