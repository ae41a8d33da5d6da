"""The Spark backend: a ``pyspark.sql.DataFrame`` in the user's own SparkSession (local,
spark-submit, Databricks Connect / Spark Connect). Everything runs as Spark jobs; only
aggregates come back. A side of a drift check costs a row count, a Bernoulli sample of
about ``SAMPLE_ROWS`` rows to place the grid (a filter in one scan), one pass that counts
every numeric column's grid bins and moments with numpy over Arrow batches in the
executors' Python workers (or, where they lack numpy or pyarrow, two Spark SQL
aggregations, with a warning), and one ``groupBy`` per categorical column (at most
``MAX_CATEGORIES`` counts back): see :mod:`.spark_counts`. No (column, value) pair is sent
unaggregated. A leakage check is a join and sends a few
example rows; a row read from files is named ``file.parquet:row`` (Spark's hidden
``_metadata``), other rows by their key columns."""

from __future__ import annotations

import warnings
import weakref
from typing import Any

from mlops_testkit import MltkUsageError, MltkWarning
from mlops_testkit.data.backends import EXACT_UP_TO, Backend, engine_guard
from mlops_testkit.extras import require

SAMPLE_ROWS = 8192  # rows per side sampled to place the grid (a filter in one scan)
SAMPLE_SEED = 20_240_607
MIN_SAMPLE = 64  # fewer sampled values than this: place the grid with approxQuantile
SKETCH_ERROR = 1e-3  # relative rank error of that approxQuantile
SKETCH_POINTS = 1025
NUMERIC = (
    "ByteType",
    "ShortType",
    "IntegerType",
    "LongType",
    "FloatType",
    "DoubleType",
    "DecimalType",
    "DateType",
    "TimestampType",
    "TimestampNTZType",
)


def check_session(df: Any, name: str, where: str) -> None:
    """A usage error when the DataFrame's SparkSession has been stopped."""
    try:
        session = df.sparkSession
        context = getattr(session, "_sc", None)
        stopped = context is not None and getattr(context, "_jsc", None) is None
    except Exception:
        stopped = True
    if stopped:
        raise MltkUsageError(
            f"{where}: {name} is a Spark DataFrame whose SparkSession is stopped; build it "
            "from a running session (SparkSession.builder.getOrCreate())"
        )


class SparkBackend(Backend):
    """A pyspark.sql.DataFrame; every statistic is a Spark job that sends back aggregates
    only (the drift bins by numpy over Arrow batches on the executors, the rest in Spark
    SQL)."""

    engine = "spark"
    rank = 2

    def __init__(self, obj: Any, name: str, where: str) -> None:
        super().__init__(obj, name, where)
        check_session(obj, name, where)
        self.F = require("pyspark.sql.functions", where)
        self.noun = "Spark DataFrame"
        with engine_guard(where, name, "spark"):
            self.types = {f.name: f.dataType for f in obj.schema.fields}
            self.columns = list(obj.columns)
        self._n: int | None = None

    def n_rows(self) -> int:
        if self._n is None:
            self._n = int(self.obj.count())
        return self._n

    def kind(self, column: Any) -> tuple[str, str]:
        dtype = self.types[column]
        numeric = type(dtype).__name__ in NUMERIC
        return ("numeric" if numeric else "categorical"), dtype.simpleString()

    def all_missing(self, column: Any) -> bool:
        return self.obj.select(self.F.col(column)).na.drop().limit(1).count() == 0

    def _as_float(self, column: Any, finite: bool = True) -> Any:
        """The column as a double, temporal values as nanoseconds; NaN and +-inf as null
        (``finite=False``: left as they are, for the bins of :mod:`.spark_counts`)."""
        F = self.F
        name = type(self.types[column]).__name__
        col = F.col(f"`{column}`")
        if name == "DateType":
            col = col.cast("timestamp")
        if name in ("DateType", "TimestampType", "TimestampNTZType"):
            col = F.unix_micros(col.cast("timestamp")) * 1000
        col = col.cast("double")
        if not finite:
            return col
        bad = F.isnan(col) | (col == float("inf")) | (col == float("-inf"))
        return F.when(bad, None).otherwise(col)

    def _frame(self, columns: list[Any], finite: bool = True) -> Any:
        return self.obj.select(
            [self._as_float(c, finite).alias(f"v{i}") for i, c in enumerate(columns)]
        )

    def values(self, columns: list[Any]) -> dict[Any, Any]:
        import numpy as np

        if self.n_rows() > EXACT_UP_TO:
            return {}
        rows = self._frame(columns).collect()  # at most EXACT_UP_TO rows
        out = {}
        for i, col in enumerate(columns):
            x = np.array([r[i] for r in rows if r[i] is not None], dtype=np.float64)
            x.sort()
            out[col] = x
        return out

    def sample(self, columns: list[Any], size: int) -> dict[Any, Any]:
        """A Bernoulli sample of about ``SAMPLE_ROWS`` rows (a filter in the scan, no
        aggregation); a column with too few values in it (mostly missing) gets
        ``approxQuantile`` points instead. Only places the grid."""
        import numpy as np

        fraction = min(1.0, SAMPLE_ROWS / max(self.n_rows(), 1))
        frame = self._frame(columns)
        if fraction < 1.0:
            frame = frame.sample(withReplacement=False, fraction=fraction, seed=SAMPLE_SEED)
        rows = frame.collect()  # about SAMPLE_ROWS rows
        out = {}
        for i, col in enumerate(columns):
            x = np.array([r[i] for r in rows if r[i] is not None], dtype=np.float64)
            x.sort()
            out[col] = x
        sparse = [c for c in columns if len(out[c]) < MIN_SAMPLE] if fraction < 1.0 else []
        if sparse:
            probs = [i / (SKETCH_POINTS - 1) for i in range(SKETCH_POINTS)]
            names = [f"v{i}" for i in range(len(sparse))]
            quantiles = self._frame(sparse).approxQuantile(names, probs, SKETCH_ERROR)
            for col, q in zip(sparse, quantiles, strict=True):
                if len(q) > len(out[col]):
                    out[col] = np.array(q, dtype=np.float64)
        return out

    def binned(self, grids: dict[Any, Any]) -> dict[Any, Any]:
        """Bins and moments of all columns in one pass of numpy over Arrow batches on the
        executors (:func:`.spark_counts.arrow_bin_counts`); where this Python or the
        executors' cannot run it (pandas or pyarrow missing or too old, no numpy or
        pyarrow in the workers, a worker that does not start), in two Spark SQL
        aggregations (:func:`.spark_counts.bin_counts`), with a warning that says why.
        Any other failure of the Arrow job is raised, not retried."""
        from mlops_testkit.data.backends.spark_counts import (
            ArrowUnavailable,
            arrow_bin_counts,
            bin_counts,
        )

        columns, key = list(grids), _session_key(self.obj.sparkSession)
        raw = self._frame(columns, finite=False)
        unavailable = None
        if key not in _SQL_ONLY:
            try:
                counted = arrow_bin_counts(self.F, raw, list(grids.values()), self.n_rows())
                return dict(zip(columns, counted, strict=True))
            except ArrowUnavailable as exc:
                unavailable = exc
        counted = bin_counts(
            self.F, self._frame(columns), list(grids.values()), self.n_rows(), raw=raw
        )
        if unavailable is not None:
            fix = (
                "Give the executors a Python with numpy and pyarrow (PYSPARK_PYTHON when "
                "the session starts; spark.pyspark.python under spark-submit)"
                if unavailable.side == "executors"
                else "Install the pandas and pyarrow that pyspark's Arrow functions need "
                "(pip install 'pyspark[sql]') where pytest runs"
            )
            who = "Spark's Python workers" if unavailable.side == "executors" else "this Python"
            warnings.warn(
                MltkWarning(
                    f"{self.where}: {who} could not count {self.name}'s bins with numpy over "
                    f"Arrow ({unavailable.reason}); counted them with Spark SQL instead, about "
                    f"twice as slow, for the rest of this Spark application. {fix}"
                ),
                stacklevel=3,
            )
            _SQL_ONLY.add(key)  # after the warning: a warning raised as an error retries
        return dict(zip(columns, counted, strict=True))

    def categories(self, columns: list[Any]) -> dict[Any, Any]:
        from mlops_testkit.data.backends.spark_counts import category_counts

        return {c: category_counts(self.F, self.obj, c) for c in columns}

    # --- leakage: an exact join in Spark -----------------------------------------------------

    def adopt(self, other: Backend) -> Any:
        session = self.obj.sparkSession
        if other.engine == "spark":
            return other.obj
        if other.engine == "polars" and getattr(other, "files", None):
            return session.read.parquet(*other.files)
        frame = other.obj if other.engine == "pandas" else other.lf.collect().to_pandas()
        try:
            return session.createDataFrame(frame)
        except Exception as exc:
            raise MltkUsageError(
                f"{self.where}: {other.name} cannot be compared with the Spark {self.name}: "
                f"{str(exc).splitlines()[0][:200]}"
            ) from None

    def compute(self, frame: Any, columns: list[Any]) -> None:
        F, df = self.F, self.obj if frame is None else frame
        df.agg(*[F.count(F.col(f"`{c}`")) for c in df.columns]).collect()

    def leaks(self, test: Any, on: list[Any], decimals: Any, max_examples: int) -> Any:
        F = self.F
        test_types = {f.name: f.dataType for f in test.schema.fields}

        def key(col: Any, i: int, types: dict[str, Any], prefix: str) -> Any:
            expr = F.col(f"`{col}`")
            if types[col] != (self.types if types is test_types else test_types)[col]:
                both = all(type(t[col]).__name__ in NUMERIC[:7] for t in (self.types, test_types))
                expr = expr.cast("double" if both else "string")
            places = decimals.get(col) if isinstance(decimals, dict) else decimals
            if places is not None and type(types[col]).__name__ in ("FloatType", "DoubleType"):
                expr = F.round(expr, places)
            return expr.alias(f"{prefix}{i}")

        train_cols = [key(c, i, self.types, "t") for i, c in enumerate(on)]
        train_keys = self.obj.select(train_cols).dropDuplicates()
        test_id, train_id = _row_id(F, test), _row_id(F, self.obj)
        test_keys = test.select(
            [key(c, i, test_types, "k") for i, c in enumerate(on)]
            + ([test_id.alias(TEST_ROW)] if test_id is not None else [])
        )
        condition = [F.col(f"k{i}").eqNullSafe(F.col(f"t{i}")) for i in range(len(on))]
        joined = test_keys.join(train_keys, on=condition, how="left_semi")
        leaked, total = joined.count(), test.count()
        examples = joined.limit(max_examples).collect() if max_examples else []
        train_rows: dict[tuple[Any, ...], Any] = {}
        if examples and train_id is not None:
            # one train row per example key: a join of the few examples with train
            wanted = self.obj.sparkSession.createDataFrame(
                [tuple(r[f"k{i}"] for i in range(len(on))) for r in examples],
                test_keys.select([f"k{i}" for i in range(len(on))]).schema,
            )
            found = (
                self.obj.select([*train_cols, train_id.alias(TRAIN_ROW)])
                .join(F.broadcast(wanted), on=condition, how="inner")
                .groupBy([f"k{i}" for i in range(len(on))])
                .agg(F.min(TRAIN_ROW).alias(TRAIN_ROW))
                .collect()
            )
            train_rows = {tuple(r[f"k{i}"] for i in range(len(on))): r[TRAIN_ROW] for r in found}
        return (
            int(leaked),
            int(total),
            [
                {
                    "test row": row[TEST_ROW] if test_id is not None else None,
                    "train row": train_rows.get(tuple(row[f"k{i}"] for i in range(len(on)))),
                    **{str(c): row[f"k{i}"] for i, c in enumerate(on[:6])},
                }
                for row in examples
            ],
        )


_SQL_ONLY: Any = weakref.WeakSet()  # Spark contexts that could not run the Arrow count


def _session_key(session: Any) -> Any:
    """What the Arrow count's success depends on: the SparkContext (its executors and
    their Python), or the session itself under Spark Connect (no context on the client)."""
    return getattr(session, "_sc", None) or session


TEST_ROW, TRAIN_ROW = "__mltk_test_row__", "__mltk_train_row__"


def _row_id(F: Any, df: Any) -> Any:
    """Where a row of ``df`` comes from, ``file.parquet:row``, from Spark's hidden
    ``_metadata`` of file sources; None for a DataFrame not read from files (it has no row
    identity: its leakage examples show their key columns only)."""
    ident = F.concat_ws(
        ":", F.col("_metadata.file_name"), F.col("_metadata.row_index").cast("string")
    )
    try:
        df.select(ident).schema  # noqa: B018 - analysis only: does the source have it?
    except Exception:
        return None
    return ident
