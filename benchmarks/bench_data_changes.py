"""Cost of data-change selection: ``decide`` with and without ``mltk_data_paths``.

A repository with N DVC-tracked datasets (a ``.dvc`` pointer each, in DVC 3's format)
and a ``dvc.lock`` of N stages; a branch changes the hash of one in ten pointers and of
every stage's output. Prints the median time of the model-code decision alone, of the
decision with data paths (every changed pointer read at the merge base through
``git show`` and from the working tree), and their ratio.

    python benchmarks/bench_data_changes.py [--datasets 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from mlops_testkit.ci.changes import decide

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "b",
    "GIT_AUTHOR_EMAIL": "b@e",
    "GIT_COMMITTER_NAME": "b",
    "GIT_COMMITTER_EMAIL": "b@e",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=ENV, check=True, capture_output=True)


def pointer(name: str, md5: str) -> str:
    return f"outs:\n- md5: {md5}\n  size: 100\n  hash: md5\n  path: {name}\n"


def lock(n: int, salt: str) -> str:
    lines = ["schema: '2.0'", "stages:"]
    for i in range(n):
        lines += [
            f"  s{i}:",
            f"    cmd: python make.py {i}",
            "    outs:",
            f"    - path: data/derived/{i}.csv",
            "      hash: md5",
            f"      md5: {salt}{i:031x}",
            "      size: 10",
        ]
    return "\n".join(lines) + "\n"


def build(repo: Path, n: int) -> None:
    git(repo, "init", "-q", "-b", "main")
    (repo / "pytest.ini").write_text("[pytest]\nmltk_model_paths = src/**\n")
    (repo / "src").mkdir()
    (repo / "src" / "model.py").write_text("W = 1\n")
    (repo / "data").mkdir()
    for i in range(n):
        (repo / "data" / f"set{i}.csv.dvc").write_text(pointer(f"set{i}.csv", f"a{i:031x}"))
    (repo / "dvc.lock").write_text(lock(n, "b"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-q", "-b", "change")
    for i in range(0, n, 10):
        (repo / "data" / f"set{i}.csv.dvc").write_text(pointer(f"set{i}.csv", f"c{i:031x}"))
    (repo / "dvc.lock").write_text(lock(n, "d"))
    git(repo, "commit", "-qam", "new data")


def median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        build(repo, args.datasets)
        globs = ("src/**",)
        plain = median_s(lambda: decide("main", globs, repo), args.repeats)
        decision = decide("main", globs, repo, data_globs=("data/**",))
        with_data = median_s(
            lambda: decide("main", globs, repo, data_globs=("data/**",)), args.repeats
        )
    n_changed = len(decision.data_changed)
    print(f"{args.datasets} DVC datasets + a {args.datasets}-stage dvc.lock; {n_changed} changed")
    print(f"decide, model paths only:     median {plain * 1000:8.1f} ms")
    print(f"decide, with mltk_data_paths: median {with_data * 1000:8.1f} ms")
    print(f"ratio: {with_data / plain:.1f}x")


if __name__ == "__main__":
    main()
