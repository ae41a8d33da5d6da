"""Drift on data that does not fit in memory: Parquet through polars, and Spark.

Writes once, to a cache folder ($MLTK_BENCH_CACHE, default bench-results/scale, ignored
by git), a Parquet dataset per side: ROWS rows x 25 columns (20 numeric, 5 categorical)
in files of 2,000,000 rows (row groups of 500,000), written chunk by chunk with pyarrow so
writing stays within memory. The current side has drifted in num0 (shifted by 0.2 sd)
and cat0 (other proportions). Each measurement runs in a fresh subprocess, so its peak
RSS (getrusage) is its own.

1. assert_no_drift(reference_dir, current_dir) through polars: wall time (target <= 30 s
   on 2 cores), peak RSS (target <= 1.5 GiB), rows per second; the same at 2M rows (the
   first file of each side): peak RSS at 20M within 1.3x of 2M.
2. The same paths as Spark DataFrames in local[2]: wall time, and the same columns flagged.
3. The pandas path, 1M x 25 in memory (bench_drift's figure, target <= 2 s).

    python benchmarks/bench_scale.py [--rows 20000000] [--repeats 3] [--no-spark]
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
from pathlib import Path

FILE_ROWS = 2_000_000
CHUNK = 500_000
CATEGORIES = ["north", "south", "east", "west", "other"]


def cache_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("MLTK_BENCH_CACHE") or root / "bench-results" / "scale")


def write_side(folder: Path, rows: int, seed: int, drifted: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = folder / "_COMPLETE"
    if done.exists() and int(done.read_text()) == rows:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    dictionary = pa.array(CATEGORIES)
    for k in range(rows // FILE_ROWS):
        with pq.ParquetWriter(folder / f"part-{k:04d}.parquet", schema=_schema()) as out:
            for _ in range(FILE_ROWS // CHUNK):
                cols = {}
                for i in range(20):
                    x = rng.normal(size=CHUNK) if i % 2 else rng.lognormal(size=CHUNK)
                    if drifted and i == 0:
                        x = x + 0.2 * 2.16  # 0.2 standard deviations of lognormal(0, 1)
                    cols[f"num{i}"] = x
                for i in range(5):
                    p = [0.3, 0.25, 0.2, 0.15, 0.1]
                    if drifted and i == 0:
                        p = [0.2, 0.25, 0.2, 0.15, 0.2]
                    codes = pa.array(rng.choice(5, size=CHUNK, p=p).astype(np.int32))
                    cols[f"cat{i}"] = pa.DictionaryArray.from_arrays(codes, dictionary)
                out.write_table(pa.table(cols, schema=_schema()), row_group_size=CHUNK)
    done.write_text(str(rows))


def _schema():
    import pyarrow as pa

    fields = [pa.field(f"num{i}", pa.float64()) for i in range(20)]
    fields += [pa.field(f"cat{i}", pa.dictionary(pa.int32(), pa.string())) for i in range(5)]
    return pa.schema(fields)


# --- children: one measurement each, in its own process ------------------------------------


def child(kind: str, ref: str, cur: str) -> None:
    from mlops_testkit import drift_report

    if kind == "spark":
        from pyspark.sql import SparkSession

        spark = (
            SparkSession.builder.master("local[2]")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", "2g")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        start = time.perf_counter()
        report = drift_report(spark.read.parquet(ref), spark.read.parquet(cur))
        wall = time.perf_counter() - start
        spark.stop()
    elif kind == "pandas":
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_drift import make_frame

        reference, current = make_frame(int(ref), 1), make_frame(int(ref), 2)
        drift_report(reference, current)  # warm imports
        start = time.perf_counter()
        report = drift_report(reference, current)
        wall = time.perf_counter() - start
    else:
        import polars  # noqa: F401  (imports are not what we measure)
        import pyarrow.parquet  # noqa: F401

        import mlops_testkit.data.drift  # noqa: F401

        start = time.perf_counter()
        report = drift_report(ref, cur)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime  # the whole child, imports included
    out = {"wall": wall, "rss": usage.ru_maxrss * 1024, "cpu": cpu}
    print(json.dumps({**out, "drifted": sorted(report.drifted)}))


def measure(kind: str, ref: str, cur: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, ref, cur],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "wall": statistics.median(r["wall"] for r in runs),
        "rss": statistics.median(r["rss"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "drifted": runs[0]["drifted"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument("--spark-rows", type=int, default=None, help="default: --rows")
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    root = cache_dir()
    start = time.perf_counter()
    write_side(root / "reference", args.rows, 1, drifted=False)
    write_side(root / "current", args.rows, 2, drifted=True)
    print(f"dataset: {args.rows:,} rows x 25 columns per side in {root}")
    print(f"  (written or found in {time.perf_counter() - start:.1f} s)")
    small = (
        str(root / "reference" / "part-0000.parquet"),
        str(root / "current" / "part-0000.parquet"),
    )
    big = (str(root / "reference"), str(root / "current"))
    gib = 2**30
    at_small = measure("polars", *small, args.repeats)
    at_big = measure("polars", *big, args.repeats)
    print(f"assert_no_drift from Parquet paths (polars streaming), median of {args.repeats}")
    for rows, m in ((FILE_ROWS, at_small), (args.rows, at_big)):
        print(
            f"  {rows:>11,} rows: {m['wall']:7.2f} s  peak RSS {m['rss'] / gib:5.2f} GiB  "
            f"{2 * rows / m['wall'] / 1e6:6.1f} M rows/s (both sides)  CPU {m['cpu']:.1f} s  "
            f"drifted {m['drifted']}"
        )
    print(
        f"  target <= 30 s: {'OK' if at_big['wall'] <= 30 else 'OVER'};  peak RSS <= 1.5 GiB: "
        f"{'OK' if at_big['rss'] <= 1.5 * gib else 'OVER'};  RSS ratio "
        f"{args.rows // FILE_ROWS}x rows: {at_big['rss'] / at_small['rss']:.2f}x (target <= 1.3x)"
    )
    if not args.no_spark:
        rows = args.spark_rows or args.rows
        paths = big if rows == args.rows else small
        spark = measure("spark", *paths, 1)
        polars_flags = (at_big if paths == big else at_small)["drifted"]
        print(f"Spark local[2] on the same {rows:,} rows per side (one run)")
        print(
            f"  {spark['wall']:7.2f} s  driver RSS {spark['rss'] / gib:5.2f} GiB  "
            f"drifted {spark['drifted']}  same columns as polars: "
            f"{spark['drifted'] == polars_flags}"
        )
    pandas = measure("pandas", "1000000", "-", args.repeats)
    print(
        f"pandas in memory, 1,000,000 rows x 25: drift_report {pandas['wall']:.2f} s "
        f"(median of {args.repeats}; target <= 2 s)  drifted {pandas['drifted']}"
    )


if __name__ == "__main__":
    main()
