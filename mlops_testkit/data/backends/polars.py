"""The polars backend: polars DataFrames and LazyFrames, and Parquet datasets read lazily.

Numeric columns stream in batches: each batch is binned with numpy and dropped, and at
most ``IN_FLIGHT`` batches exist at a time, so memory stays flat however many rows there
are. A Parquet dataset is read in row ranges cut on its row-group boundaries (a row group
is read once, at most ``PARQUET_BATCH_ROWS`` rows at a time), a polars DataFrame in
zero-copy slices, a query through polars' streaming engine (``collect_batches``).
Category counts and leakage joins run as polars streaming queries.
"""

from __future__ import annotations

import glob
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit.data.backends import (
    EXACT_UP_TO,
    MAX_CATEGORIES,
    Backend,
    TooMany,
    engine_guard,
)
from mlops_testkit.data.drift_stats import MISSING
from mlops_testkit.extras import require

BATCH_ROWS = 1_000_000
PARQUET_BATCH_ROWS = 524_288  # ~80 MiB for 20 float columns, whatever a row group holds
IN_FLIGHT = 2  # batches being binned while the next one is read
SAMPLE_ROW_GROUPS = 8


def parquet_files(path: Any, name: str, where: str) -> list[str]:
    """The Parquet files a path, glob or directory names (Spark's _SUCCESS and .crc files
    are not data); a usage error when none matches or their schemas differ."""
    text = os.fspath(path)
    if os.path.isdir(text):
        files = sorted(glob.glob(os.path.join(text, "**", "*.parquet"), recursive=True))
    elif glob.has_magic(text):
        files = sorted(f for f in glob.glob(text, recursive=True) if os.path.isfile(f))
    else:
        files = [text] if os.path.isfile(text) else []
    if not files:
        raise MltkUsageError(
            f"{where}: {name} must be a pandas DataFrame, got str {text!r}, which matches no "
            "Parquet file; a path, a glob (data/*.parquet) or a directory of .parquet files "
            "is read lazily"
        )
    pq = require("pyarrow.parquet", where)
    first = None
    for file in files:
        try:
            schema = pq.read_schema(file)
        except Exception as exc:  # not Parquet at all
            raise MltkUsageError(
                f"{where}: {name}: {file} is not a Parquet file ({exc})"
            ) from None
        fields = [(f.name, str(f.type)) for f in schema if not f.name.startswith("__index")]
        if first is None:
            first = (file, fields)
        elif fields != first[1]:
            diff = sorted(set(fields) ^ set(first[1]))[:4]
            raise MltkUsageError(
                f"{where}: {name}: Parquet files with different schemas: {first[0]} and {file} "
                f"differ in {diff}; rewrite them with one schema, or pass one of them"
            )
    return files


def from_path(path: Any, name: str, where: str) -> PolarsBackend:
    """A Parquet path, glob or directory, scanned lazily by polars."""
    pl = require("polars", where)
    files = parquet_files(path, name, where)
    with engine_guard(where, name, "polars"):
        scan = pl.scan_parquet(files)
    backend = PolarsBackend(scan, name, where, files=files)
    backend.noun = "Parquet dataset"
    return backend


class PolarsBackend(Backend):
    """A polars DataFrame or LazyFrame, or a Parquet dataset scanned lazily."""

    engine = "polars"
    rank = 1

    def __init__(self, obj: Any, name: str, where: str, files: list[str] | None = None) -> None:
        super().__init__(obj, name, where)
        self.pl = pl = require("polars", where)
        self.files = files  # the Parquet files read, when it is a path
        self.noun = "polars DataFrame" if isinstance(obj, pl.DataFrame) else "LazyFrame"
        with engine_guard(where, name, "polars"):
            self.lf = obj.lazy() if isinstance(obj, pl.DataFrame) else obj
            self.schema = self.lf.collect_schema()
        self.columns = list(self.schema.names())
        self._n: int | None = None

    def n_rows(self) -> int:
        if self._n is None:
            self._n = int(self.lf.select(self.pl.len()).collect().item())
        return self._n

    def kind(self, column: Any) -> tuple[str, str]:
        dtype = self.schema[column]
        numeric = dtype.is_numeric() or (dtype.is_temporal() and dtype != self.pl.Time)
        return ("numeric" if numeric else "categorical"), str(dtype)

    def all_missing(self, column: Any) -> bool:
        pl = self.pl
        expr = pl.col(column).is_null()
        if self.schema[column].is_float():
            expr = expr | pl.col(column).is_nan()
        return bool(self.lf.select(expr.all()).collect().item())

    def _as_float(self, column: Any) -> Any:
        """The column as float64; temporal values as int nanoseconds like pandas."""
        pl = self.pl
        dtype, col = self.schema[column], pl.col(column)
        if dtype == pl.Date:
            col = col.cast(pl.Datetime("ns"))
        if dtype.is_temporal():
            col = col.dt.cast_time_unit("ns").cast(pl.Int64)
        return col.cast(pl.Float64)

    def _frame(self, columns: list[Any]) -> Any:
        return self.lf.select([self._as_float(c).alias(f"v{i}") for i, c in enumerate(columns)])

    def values(self, columns: list[Any]) -> dict[Any, Any]:
        import numpy as np

        if self.n_rows() > EXACT_UP_TO:
            return {}
        frame = self._frame(columns).collect()
        out = {}
        for i, col in enumerate(columns):
            x = frame[f"v{i}"].to_numpy().astype(np.float64)
            x = x[np.isfinite(x)]
            x.sort()
            out[col] = x
        return out

    def sample(self, columns: list[Any], size: int) -> dict[Any, Any]:
        import numpy as np

        step = max(1, self.n_rows() // size)
        if self.files:  # a few whole row groups spread over the files: no full pass
            frame = self._row_group_sample(columns, size)
        else:
            frame = self._frame(columns).gather_every(step).collect(engine="streaming")
        out = {}
        for i, col in enumerate(columns):
            x = frame[f"v{i}"].to_numpy().astype(np.float64)
            x = x[np.isfinite(x)]
            x.sort()
            out[col] = x
        return out

    def _row_group_sample(self, columns: list[Any], size: int) -> Any:
        pl = self.pl
        ranges = self._row_ranges()
        picks = sorted({round(i) for i in _spread(len(ranges), SAMPLE_ROW_GROUPS)})
        parts = []
        for k in picks:
            file, start, rows = ranges[k]
            keep = max(1, rows // max(1, size // len(picks)))
            parts.append(self._file_frame(file, columns).slice(start, rows).gather_every(keep))
        if not parts:
            return self._frame(columns).head(0).collect()
        return pl.concat([part.collect() for part in parts])  # one range at a time

    def _file_frame(self, file: str, columns: list[Any]) -> Any:
        """One Parquet file's columns as floats (the files share one schema)."""
        exprs = [self._as_float(c).alias(f"v{i}") for i, c in enumerate(columns)]
        return self.pl.scan_parquet(file).select(exprs)

    def _row_ranges(self) -> list[tuple[str, int, int]]:
        """(file, first row, rows) of each Parquet row group, a group of more than
        ``PARQUET_BATCH_ROWS`` rows cut in equal parts: a range that ends where a row group
        ends never decodes a row group twice, and none is held whole."""
        pq = require("pyarrow.parquet", self.where)
        out = []
        for file in self.files or []:
            meta, first = pq.read_metadata(file), 0
            for group in range(meta.num_row_groups):
                rows = meta.row_group(group).num_rows
                if not rows:
                    continue
                last = out[-1] if out else None
                if (
                    last
                    and last[0] == file
                    and last[1] + last[2] == first
                    and (last[2] + rows <= PARQUET_BATCH_ROWS)
                ):  # small row groups side by side: one range
                    out[-1] = (file, last[1], last[2] + rows)
                else:
                    step = -(-rows // -(-rows // PARQUET_BATCH_ROWS))
                    out += [
                        (file, first + lo, min(step, rows - lo)) for lo in range(0, rows, step)
                    ]
                first += rows
        return out

    def binned(self, grids: dict[Any, Any]) -> dict[Any, Any]:
        from mlops_testkit.data.sketch import Binned

        columns = list(grids)
        acc = {c: _Accumulator(grids[c]) for c in columns}

        def work(batch: Any) -> list[Any]:
            return [acc[c].partial(batch[f"v{i}"].to_numpy()) for i, c in enumerate(columns)]

        frame = self._frame(columns)
        if self.files:  # row ranges read on demand, file by file, cut on row-group boundaries
            batches = (
                self._file_frame(file, columns).slice(lo, rows).collect()
                for file, lo, rows in self._row_ranges()
            )
        elif isinstance(self.obj, self.pl.DataFrame):  # zero-copy slices, read on demand
            n = self.n_rows()
            batches = (
                frame.slice(start, BATCH_ROWS).collect() for start in range(0, n, BATCH_ROWS)
            )
        else:  # a query: polars streams its result
            batches = frame.collect_batches(
                chunk_size=BATCH_ROWS, maintain_order=False, engine="streaming"
            )
        with ThreadPoolExecutor(max_workers=2) as pool:
            pending: list[Any] = []
            for batch in batches:
                pending.append(pool.submit(work, batch))
                del batch  # held by its task only: freed once binned
                if len(pending) >= IN_FLIGHT:  # a few batches in flight: memory stays flat
                    for c, part in zip(columns, pending.pop(0).result(), strict=True):
                        acc[c].add(part)
            for future in pending:
                for c, part in zip(columns, future.result(), strict=True):
                    acc[c].add(part)
        out: dict[Any, Binned] = {}
        for c in columns:
            out[c] = acc[c].result()
        return out

    def categories(self, columns: list[Any]) -> dict[Any, Any]:
        pl = self.pl
        queries = [
            self.lf.group_by(pl.col(c).alias("k")).agg(pl.len().alias("n")) for c in columns
        ]
        firsts = pl.collect_all([q.head(MAX_CATEGORIES + 1) for q in queries], engine="streaming")
        out: dict[Any, Any] = {}
        for col, query, frame in zip(columns, queries, firsts, strict=True):
            if frame.height > MAX_CATEGORIES:
                out[col] = TooMany(int(query.select(pl.len()).collect().item()))
                continue
            counts: dict[Any, int] = {}
            for key, n in zip(frame["k"].to_list(), frame["n"].to_list(), strict=True):
                label = _label(key)
                counts[label] = counts.get(label, 0) + int(n)
            out[col] = counts
        return out

    # --- leakage: an exact hash join in polars ---------------------------------------------

    def adopt(self, other: Backend) -> Any:
        if other.engine == "polars":
            return other.lf
        if other.engine == "pandas":
            try:
                return self.pl.from_pandas(other.obj).lazy()
            except Exception as exc:
                raise MltkUsageError(
                    f"{self.where}: {other.name} cannot be compared with the polars "
                    f"{self.name}: {exc}"
                ) from None
        raise MltkUsageError(
            f"{self.where}: a polars {self.name} cannot take a {other.engine} {other.name}"
        )

    def compute(self, frame: Any, columns: list[Any]) -> None:
        lf = self.lf if frame is None else frame
        for _ in lf.collect_batches(chunk_size=BATCH_ROWS, engine="streaming"):
            pass  # the whole query, streamed: a part pruned from a narrower query may fail

    def leaks(self, test: Any, on: list[Any], decimals: Any, max_examples: int) -> Any:
        pl = self.pl
        keys = [f"__mltk_key_{i}__" for i in range(len(on))]
        test_schema = test.collect_schema()
        for side, schema in (("train", self.schema), ("test", test_schema)):
            objects = [str(c) for c in on if schema[c] == pl.Object]
            if objects:  # polars panics when it hashes Python objects for a join
                raise MltkUsageError(
                    f"{self.where}: {side} column(s) {objects[:6]} hold Python objects "
                    "(polars Object), which polars cannot join; convert them to a "
                    "string or numeric type, or leave them out with on="
                )

        def key(frame_schema: Any, other_schema: Any, col: Any, i: int) -> Any:
            expr, dtype, other = pl.col(col), frame_schema[col], other_schema[col]
            if dtype != other:
                both_numeric = dtype.is_numeric() and other.is_numeric()
                expr = expr.cast(pl.Float64 if both_numeric else pl.String)
            places = decimals.get(col) if isinstance(decimals, dict) else decimals
            if places is not None and (dtype.is_float() or dtype != other):
                expr = expr.round(places) if dtype.is_numeric() else expr
            return expr.alias(keys[i])

        train_keys = (
            self.lf.with_row_index("__mltk_train_row__")
            .select(
                [key(self.schema, test_schema, c, i) for i, c in enumerate(on)]
                + [pl.col("__mltk_train_row__")]
            )
            .group_by(keys)
            .agg(pl.col("__mltk_train_row__").min())
        )
        test_rows = test.with_row_index("__mltk_test_row__").select(
            [pl.col("__mltk_test_row__")]
            + [key(test_schema, self.schema, c, i) for i, c in enumerate(on)]
        )
        joined = test_rows.join(train_keys, on=keys, how="inner", nulls_equal=True)
        leaked, total = pl.collect_all(
            [joined.select(pl.len()), test.select(pl.len())], engine="streaming"
        )
        examples = (
            joined.sort("__mltk_test_row__").head(max_examples).collect().to_dicts()
            if max_examples
            else []
        )
        return (
            int(leaked.item()),
            int(total.item()),
            [
                {
                    "test row": e["__mltk_test_row__"],
                    "train row": e["__mltk_train_row__"],
                    **{str(c): e[k] for c, k in zip(on[:6], keys, strict=False)},
                }
                for e in examples
            ],
        )


def _spread(n: int, k: int) -> list[float]:
    if n <= k:
        return [float(i) for i in range(n)]
    return [i * (n - 1) / (k - 1) for i in range(k)]


def _label(key: Any) -> Any:
    try:
        if key is None or key != key:
            return MISSING
        hash(key)
    except TypeError:
        return repr(key)
    except ValueError:
        return MISSING
    return key


class _Accumulator:
    """Bin counts and moments of one column, merged batch by batch (Chan et al.)."""

    def __init__(self, grid: Any) -> None:
        from mlops_testkit.data.sketch import Binned

        self.grid = grid
        self.binned = Binned()
        self.low = 0  # bin index of dense[0]
        self.dense: Any = None
        self.mean = 0.0
        self.m2 = 0.0

    def partial(self, x: Any) -> tuple[Any, ...]:
        import numpy as np

        x = np.asarray(x, dtype=np.float64)
        finite = np.isfinite(x)
        if not finite.all():
            x = x[finite]
        missing = len(finite) - len(x)
        if not len(x):
            return (None, 0, missing, 0.0, 0.0, 0.0, 0.0, 0)
        grid = self.grid
        lo, hi = float(x.min()), float(x.max())
        if lo > grid.a and hi <= grid.a + grid.bins * grid.width:  # no tail: one fused pass
            z = x - grid.a
            z *= 1.0 / grid.width
            np.ceil(z, out=z)
            idx = z.astype(np.int64)
        else:
            idx = grid.index(x)
        low = int(idx.min())
        counts = np.bincount(idx - low if low else idx)
        mean = float(x.mean())
        d = x - mean
        m2 = float(np.dot(d, d))
        non_integer = int(np.count_nonzero(x != np.round(x))) if grid.integer else 0
        return ((low, counts), len(x), missing, mean, m2, lo, hi, non_integer)

    def add(self, part: tuple[Any, ...]) -> None:
        import numpy as np

        hist, n, missing, mean, m2, lo, hi, non_integer = part
        b = self.binned
        b.missing += missing
        if not n:
            return
        low, counts = hist
        if self.dense is None:
            self.low, self.dense = low, counts.astype(np.int64)
        else:
            start = min(self.low, low)
            end = max(self.low + len(self.dense), low + len(counts))
            merged = np.zeros(end - start, dtype=np.int64)
            merged[self.low - start : self.low - start + len(self.dense)] += self.dense
            merged[low - start : low - start + len(counts)] += counts
            self.low, self.dense = start, merged
        total = b.finite + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * b.finite * n / total
        self.mean += delta * n / total
        b.finite = total
        b.minimum, b.maximum = min(b.minimum, lo), max(b.maximum, hi)
        b.non_integer += non_integer

    def result(self) -> Any:
        import math

        import numpy as np

        b = self.binned
        if self.dense is not None:
            nonzero = np.flatnonzero(self.dense)
            b.counts = dict(
                zip((nonzero + self.low).tolist(), self.dense[nonzero].tolist(), strict=True)
            )
        b.std = math.sqrt(self.m2 / b.finite) if b.finite else math.nan
        return b
