"""Startup cost of the plugin on a suite that uses no ML.

Generates a 500-test suite, then times ``pytest --collect-only -q`` with the plugin and
with ``-p no:mlops_testkit``, interleaved, in one invocation, and prints the medians and
their ratio. Target: ratio <= 1.05.

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.05


def make_suite(root: Path, files: int = 50, tests_per_file: int = 10) -> int:
    count = 0
    for f in range(files):
        lines = ["import pytest", ""]
        for t in range(tests_per_file - 1):
            lines += [f"def test_{t}():", f"    assert {t} + {f} == {t + f}", ""]
            count += 1
        lines += ['@pytest.mark.parametrize("x", [1])', "def test_param(x):", "    assert x", ""]
        count += 1
        (root / f"test_mod_{f:03}.py").write_text("\n".join(lines))
    (root / "pytest.ini").write_text("[pytest]\n")
    return count


def time_run(root: Path, extra: list[str], env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    start = time.perf_counter()
    proc = subprocess.run(cmd + extra, cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"pytest failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per variant (default: 15)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLTK_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="mltk-bench-startup-") as tmp:
        root = Path(tmp)
        n = make_suite(root)
        for extra in ([], ["-p", "no:mlops_testkit"]):  # warm bytecode caches
            time_run(root, extra, env)
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(time_run(root, [], env))
            without.append(time_run(root, ["-p", "no:mlops_testkit"], env))
    med_with, med_without = statistics.median(with_plugin), statistics.median(without)
    ratio = med_with / med_without
    print(f"bench_startup: pytest --collect-only -q over {n} tests, {args.runs} runs each")
    print(f"  with plugin        median {med_with * 1000:8.1f} ms")
    print(f"  -p no:mlops_testkit median {med_without * 1000:8.1f} ms")
    print(
        f"  ratio {ratio:.3f} (target <= {TARGET_RATIO})  {'OK' if ratio <= TARGET_RATIO else 'OVER'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
