"""What ``schema_report`` on a Spark DataFrame adds to pandera's own pyspark validation.

Both sides validate the same 2M-row Parquet folder (read by Spark ``local[2]``) against
the same pandera.pyspark schema, alternately, in one process: pandera called directly
(``schema.validate(df)`` and reading ``df.pandera.errors``), and the kit's
``schema_report(df, schema)`` (the same call, plus the row count its headline reports and
the failure rows). Medians and the ratio kit / pandera are printed, for a clean frame and
a violating one. The bar: the kit adds at most 10%.

Needs pandas < 3 and ``pyspark[connect]`` (pandera.pyspark imports pyspark.pandas): run it
in the Spark schema virtualenv, ``.venv-spark-schema/bin/python
benchmarks/bench_spark_schema.py [ROWS] [REPEATS]`` (``make test-spark-schema`` builds it).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from typing import Any


def main(rows: int = 2_000_000, repeats: int = 5) -> None:
    import pandera.pyspark as pa
    import pyspark.sql.types as T
    from pyspark.sql import SparkSession

    from mlops_testkit import schema_report

    schema = pa.DataFrameSchema(
        {
            "age": pa.Column(T.LongType(), [pa.Check.ge(18), pa.Check.le(89)]),
            "region": pa.Column(T.StringType(), pa.Check.isin(["north", "south", "east"])),
            "income": pa.Column(T.DoubleType(), pa.Check.gt(0)),
        },
        name="applicants",
    )
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as tmp:
        for name, age in (
            ("clean", "18 + id % 72"),
            ("violating", "CASE WHEN id % 1000 = 0 THEN 7 ELSE 18 + id % 72 END"),
        ):
            spark.range(rows).selectExpr(
                f"CAST({age} AS BIGINT) AS age",
                "element_at(array('north', 'south', 'east'), CAST(id % 3 AS INT) + 1) AS region",
                "exp(10 + 0.5 * randn(0)) AS income",
            ).write.parquet(f"{tmp}/{name}")
        print(f"pandera.pyspark schema validation, {rows:,} rows from Parquet, Spark local[2]")
        print(
            f"{'frame':<10} {'pandera direct':>15} {'kit schema_report':>18} {'kit / pandera':>14}"
        )
        for name in ("clean", "violating"):
            df = spark.read.parquet(f"{tmp}/{name}")

            def direct(df: Any = df) -> int:
                validated = schema.validate(df)
                errors = validated.pandera.errors or {}
                return sum(len(items) for level in errors.values() for items in level.values())

            def kit(df: Any = df) -> int:
                return len(schema_report(df, schema).rows)

            assert (direct() == 0) == (name == "clean") and (kit() == 0) == (name == "clean")
            times: dict[str, list[float]] = {"direct": [], "kit": []}
            for _ in range(repeats):
                for label, fn in (("direct", direct), ("kit", kit)):
                    start = time.perf_counter()
                    fn()
                    times[label].append(time.perf_counter() - start)
            d, k = statistics.median(times["direct"]), statistics.median(times["kit"])
            print(f"{name:<10} {d:>14.2f}s {k:>17.2f}s {k / d:>13.2f}x")
    spark.stop()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
