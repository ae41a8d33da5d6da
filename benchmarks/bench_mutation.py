"""Cost of the ML mutation score on examples/credit_scoring.

Runs the example's model tests once as a clean pytest run (the same selection the
mutation run uses), then `pytest --mltk-mutate` over every operator, and prints the
ratio of the two. Target (issue 25): total <= (mutants + 2) x the clean selection's time,
less through parallelism (--mltk-mutate-workers, default the CPUs).

    python benchmarks/bench_mutation.py [--repeats 3] [--workers N] [--operators LIST]
        [-- PYTEST_ARGS]   (default: -m model)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "credit_scoring"
DEFAULT_ARGS = ["-m", "model", "-p", "no:cacheprovider", "-p", "no:randomly", "-q"]


def timed(command: list[str]) -> float:
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    start = time.perf_counter()
    subprocess.run(command, cwd=EXAMPLE, env=env, check=False, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--operators", default=None, help="A subset, for a quick check")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    extra = args.pytest_args[args.pytest_args[:1] == ["--"] :] or DEFAULT_ARGS
    clean, total, data = [], [], {}
    for _ in range(args.repeats):
        clean.append(timed([sys.executable, "-m", "pytest", *extra]))
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "m.json"
            command = [sys.executable, "-m", "pytest", *extra, "--mltk-mutate"]
            command += [f"--mltk-json={out}"]
            if args.workers:
                command.append(f"--mltk-mutate-workers={args.workers}")
            if args.operators:
                command.append(f"--mltk-mutate-operators={args.operators}")
            total.append(timed(command))
            data = json.loads(out.read_text())["mutation"] if out.exists() else {}
    mutants = len(data.get("mutants", ()))
    c, t = statistics.median(clean), statistics.median(total)
    print(f"clean selection run (median of {args.repeats}): {c:.1f} s")
    print(f"mutation run, {mutants} mutants: {t:.1f} s = {t / c:.1f} x clean")
    print(f"target: <= (mutants + 2) x clean = {mutants + 2} x; met: {t / c <= mutants + 2}")
    if data:
        print(f"score: {data['score']}; workers: {args.workers or os.cpu_count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
