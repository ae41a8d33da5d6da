"""Drift on data that does not fit in memory: the kit's Spark path beside a hand-written
Spark job, in one process, on the same Parquet folders.

Writes once, to a cache folder ($MLTK_BENCH_CACHE, default bench-results/scale, ignored by
git), a Parquet folder per side with a ``_SUCCESS`` file, as Spark leaves them: ROWS rows x
25 columns (20 numeric, 5 string), in files of at most 2,000,000 rows written chunk by chunk
with pyarrow. The current side has drifted in num0 (shifted by 0.2 sd) and cat0 (other
proportions). Then one SparkSession (``local[2]``, the UI off, otherwise Spark's defaults)
reads both folders and times, round after round (the order rotating, after a warm-up):

1. floor: one aggregation over every column of each side (what a single scan costs);
2. hand-written: what a Spark user would write for the same answer: the min and max of each
   numeric column (one aggregation per side) to place a shared grid of 8,192 equal bins,
   then per side one aggregation of one bucket expression per numeric column (a long key
   ``column * 2**32 + bucket``, exploded and counted by one ``groupBy``) and one
   ``groupBy().count()`` per string column;
3. kit: ``drift_report(reference, current)`` on the two DataFrames. Its bins are counted by
   numpy over Arrow batches in Spark's Python workers, which run this interpreter
   (``PYSPARK_PYTHON``, set to it unless already set);
4. kit, Spark SQL count: the same call where the executors' Python cannot run that count
   (no numpy or pyarrow there): two SQL aggregations a side, what the kit falls back to.

It prints the median wall time of each, the median CPU time of the Spark JVM (and its Python
workers, if any) over the same calls, and the ratios kit / hand-written, which the target
bounds at 1.3. On a machine shared with other work, the CPU ratio is the steadier figure.

    python benchmarks/bench_scale.py [ROWS] [--repeats 3]      # ROWS: 2000000 (default)
    python benchmarks/bench_scale.py 20000000 --repeats 1
    python benchmarks/bench_scale.py --polars [ROWS]            # the polars Parquet path:
                                                                # wall time and peak RSS
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

FILE_ROWS = 2_000_000
CHUNK = 500_000
CATEGORIES = ["north", "south", "east", "west", "other"]
NUMERIC = [f"num{i}" for i in range(20)]
STRINGS = [f"cat{i}" for i in range(5)]
BINS = 8192


def cache_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("MLTK_BENCH_CACHE") or root / "bench-results" / "scale")


def write_side(folder: Path, rows: int, seed: int, drifted: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = folder / "_SUCCESS"
    if done.exists() and done.read_text() == str(rows):
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    dictionary = pa.array(CATEGORIES)
    left, k = rows, 0
    while left > 0:
        in_file = min(left, FILE_ROWS)
        with pq.ParquetWriter(folder / f"part-{k:05d}.parquet", schema=_schema()) as out:
            written = 0
            while written < in_file:
                size = min(CHUNK, in_file - written)
                cols = {}
                for i in range(20):
                    x = rng.normal(size=size) if i % 2 else rng.lognormal(size=size)
                    if drifted and i == 0:
                        x = x + 0.2 * 2.16  # 0.2 standard deviations of lognormal(0, 1)
                    cols[f"num{i}"] = x
                for i in range(5):
                    p = [0.3, 0.25, 0.2, 0.15, 0.1]
                    if drifted and i == 0:
                        p = [0.2, 0.25, 0.2, 0.15, 0.2]
                    codes = pa.array(rng.choice(5, size=size, p=p).astype(np.int32))
                    cols[f"cat{i}"] = pa.DictionaryArray.from_arrays(codes, dictionary)
                out.write_table(pa.table(cols, schema=_schema()), row_group_size=CHUNK)
                written += size
        left -= in_file
        k += 1
    done.write_text(str(rows))  # Spark writes an empty one; ours also says how many rows


def _schema():
    import pyarrow as pa

    fields = [pa.field(f"num{i}", pa.float64()) for i in range(20)]
    fields += [pa.field(f"cat{i}", pa.dictionary(pa.int32(), pa.string())) for i in range(5)]
    return pa.schema(fields)


# --- Spark: floor, hand-written, kit in one session --------------------------------------------


def _cpu_of_tree(root: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        procs[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, (parent, _) in procs.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(procs[p][1] for p in tree if p in procs)


def floor(F, ref, cur) -> None:
    for df in (ref, cur):
        df.agg(*[F.sum(c) for c in NUMERIC], *[F.count(c) for c in STRINGS]).collect()


def hand_written(F, ref, cur) -> dict:
    """Bucket counts on a shared grid and category counts, written by hand."""
    stats = [
        df.agg(*[f(c) for c in NUMERIC for f in (F.min, F.max)]).collect()[0] for df in (ref, cur)
    ]
    grid = {}
    for i, c in enumerate(NUMERIC):
        lo = min(s[2 * i] for s in stats)
        hi = max(s[2 * i + 1] for s in stats)
        grid[c] = (lo, (hi - lo) / BINS or 1.0)
    out = {}
    for name, df in (("reference", ref), ("current", cur)):
        keys = [
            F.least(
                F.greatest(F.ceil((F.col(c) - grid[c][0]) / grid[c][1]), F.lit(0)), F.lit(BINS)
            )
            + F.lit(i * 2**32)
            for i, c in enumerate(NUMERIC)
        ]
        bins = df.select(F.explode(F.array(*keys)).alias("k")).groupBy("k").count().collect()
        cats = {c: df.groupBy(c).count().collect() for c in STRINGS}
        out[name] = (bins, cats)
    return out


def _must_not_run(*args, **kwargs):
    raise AssertionError("the SQL-count row ran the Arrow count")


def spark_bench(rows: int, repeats: int) -> None:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from mlops_testkit import MltkWarning, drift_report
    from mlops_testkit.data.backends import spark as spark_backend
    from mlops_testkit.data.backends import spark_counts

    root = cache_dir() / str(rows)
    start = time.perf_counter()
    write_side(root / "reference", rows, 1, drifted=False)
    write_side(root / "current", rows, 2, drifted=True)
    print(f"dataset: {rows:,} rows x 25 columns (20 numeric, 5 string) a side, Parquet in {root}")
    print(f"  (written or found in {time.perf_counter() - start:.1f} s)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers: numpy + pyarrow
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark._jvm.java.lang.ProcessHandle.current().pid()  # local mode: the executors too
    ref = spark.read.parquet(str(root / "reference"))
    cur = spark.read.parquet(str(root / "current"))
    drifted: list = []

    def kit(sql_only: bool = False) -> None:
        spark_backend._SQL_ONLY.clear()
        arrow = spark_counts.arrow_bin_counts
        if sql_only:  # as after a failed Arrow count; and the Arrow count must not run
            spark_backend._SQL_ONLY.add(spark_backend._session_key(spark))
            spark_counts.arrow_bin_counts = _must_not_run
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", MltkWarning)  # a fallback would not be the kit
                drifted.append(sorted(drift_report(ref, cur).drifted))
        finally:
            spark_counts.arrow_bin_counts = arrow

    runs = {
        "floor: one aggregation, every column": lambda: floor(F, ref, cur),
        "hand-written: shared grid + counts": lambda: hand_written(F, ref, cur),
        "kit: drift_report": kit,
        "kit, Spark SQL count (fallback)": lambda: kit(sql_only=True),
    }
    names = list(runs)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for r in range(repeats + 1):  # round 0 warms the JVM up and is not counted
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            c0, t0 = _cpu_of_tree(jvm), time.perf_counter()
            runs[name]()
            if r:
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(_cpu_of_tree(jvm) - c0)
        print(f"  round {r}{' (warm-up)' if not r else ''}: load {os.getloadavg()[0]:.1f}")
    spark.stop()
    med = {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in names}
    print(f"Spark local[2], {rows:,} rows a side, median of {repeats} (wall s, JVM CPU s):")
    for k in names:
        print(f"  {k:40s} {med[k][0]:7.2f} s wall  {med[k][1]:7.2f} s CPU")
    floor_, hand, kit_, sql = (med[k] for k in names)
    print(
        f"  kit / hand-written: {kit_[0] / hand[0]:.2f}x wall, {kit_[1] / hand[1]:.2f}x CPU "
        f"(target <= 1.3);  hand-written / floor: {hand[0] / floor_[0]:.2f}x wall"
    )
    print(
        f"  kit with the Spark SQL count / hand-written: {sql[0] / hand[0]:.2f}x wall, "
        f"{sql[1] / hand[1]:.2f}x CPU"
    )
    expected = ["cat0", "num0"]
    same = all(d == expected for d in drifted)
    print(f"  kit flagged {drifted[0]} in every call (expected {expected}): {same}")


# --- polars: wall time and peak RSS of the Parquet path, each in its own process ---------------


def polars_child(ref: str, cur: str) -> None:
    import polars  # noqa: F401  (imports are not what we measure)
    import pyarrow.parquet  # noqa: F401

    import mlops_testkit.data.drift  # noqa: F401
    from mlops_testkit import drift_report

    start = time.perf_counter()
    report = drift_report(ref, cur)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"wall": wall, "rss": usage.ru_maxrss * 1024, "drifted": sorted(report.drifted)}
    print(json.dumps(out))


def polars_bench(rows: int, repeats: int) -> None:
    root = cache_dir() / str(rows)
    write_side(root / "reference", rows, 1, drifted=False)
    write_side(root / "current", rows, 2, drifted=True)
    gib = 2**30
    print(f"drift_report from Parquet folders (polars streaming), {rows:,} rows a side")
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--polars-child",
                str(root / "reference"),
                str(root / "current"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    wall = statistics.median(r["wall"] for r in runs)
    rss = statistics.median(r["rss"] for r in runs)
    print(
        f"  {wall:7.2f} s  peak RSS {rss / gib:5.2f} GiB  (median of {repeats})  "
        f"drifted {runs[0]['drifted']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", nargs="?", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--polars", action="store_true", help="the polars Parquet path instead")
    parser.add_argument("--polars-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.polars_child:
        polars_child(*args.polars_child)
    elif args.polars:
        polars_bench(args.rows, args.repeats)
    else:
        spark_bench(args.rows, args.repeats)


if __name__ == "__main__":
    main()
