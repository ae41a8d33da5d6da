"""Where the data checks get their numbers: one backend module per engine.

A backend wraps one argument of a data check (``reference``, ``current``, ``train``,
``test``) and answers a few small questions about it; only the answers (counts,
histograms, a sample of a few thousand values) reach the Python process. The checks
themselves (:mod:`~mlops_testkit.data.drift`, :mod:`~mlops_testkit.data.leakage`) never
touch an engine. A new engine is a new module with a :class:`Backend` subclass and a
line in :func:`backend_for`.

=========  ==============================================  =============================
module     takes                                           computes in
=========  ==============================================  =============================
pandas     ``pandas.DataFrame``                            memory (exact values)
polars     polars ``DataFrame``/``LazyFrame``, a Parquet   polars' streaming engine
           path, glob or directory
arrow      PyArrow ``Table``/``Dataset``                   polars (zero-copy)
spark      ``pyspark.sql.DataFrame`` (classic or Connect)  the user's Spark session
=========  ==============================================  =============================
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mlops_testkit import MltkUsageError, MltkWarning

SUPPORTED = (
    "a pandas DataFrame, a polars DataFrame or LazyFrame, a PyArrow Table or Dataset, "
    "a Parquet path, glob or directory, or a pyspark.sql.DataFrame"
)
EXACT_UP_TO = 8192  # a side with at most this many rows sends its values: exact statistics
MAX_CATEGORIES = 100_000  # an engine sends at most this many category counts per column


@dataclass
class TooMany:
    """A categorical column with more distinct values than an engine sends back."""

    distinct: int


# The methods of a backend that run the engine: each is wrapped (see Backend.__init_subclass__)
# so an engine's error, or a Rust panic, becomes a usage error naming the argument.
ENGINE_CALLS = (
    "n_rows",
    "kind",
    "all_missing",
    "values",
    "sample",
    "binned",
    "categories",
    "adopt",
    "leaks",
)


def is_panic(exc: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (``pyo3_runtime.PanicException``): it derives from
    BaseException, so ``except Exception`` does not see it."""
    return type(exc).__name__ == "PanicException"


def engine_message(exc: BaseException) -> str:
    """An engine's error in one line: its type and the first line of its message (polars and
    Spark append plans and stack traces after it)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def engine_error(where: str, name: str, engine: str, exc: BaseException) -> MltkUsageError:
    """The usage error for data an engine could not compute: the argument, the engine and its
    message (a plan that fails when collected, a file deleted since it was scanned, a column
    type the engine cannot hash or join)."""
    return MltkUsageError(
        f"{where}: {name} cannot be computed by {engine} ({engine_message(exc)}); fix the "
        f"query or the data it reads, e.g. collect it yourself to see the full error"
    )


@contextlib.contextmanager
def engine_guard(where: str, name: str, engine: str) -> Iterator[None]:
    """Run engine calls; whatever the engine raises (an error, an OS error reading a file, a
    Rust panic) leaves as :func:`engine_error`. KeyboardInterrupt and the like pass."""
    try:
        yield
    except MltkUsageError:
        raise
    except Exception as exc:
        raise engine_error(where, name, engine, exc) from None
    except BaseException as exc:
        if not is_panic(exc):
            raise
        raise engine_error(where, name, engine, exc) from None


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Backend, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (MltkUsageError, MltkWarning):  # a kit warning the user's filter made an error
            raise
        except BaseException as exc:
            if not isinstance(exc, Exception) and not is_panic(exc):
                raise  # KeyboardInterrupt, SystemExit
            who = self._who(method.__name__, args)
            raise engine_error(self.where, who, self.engine, exc) from None

    call.__mltk_guarded__ = True  # type: ignore[attr-defined]
    return call


class Backend:
    """What a data check needs from one side. Subclasses implement every method.

    ``engine`` names the engine, ``name`` the argument (for error messages), ``where``
    the check; ``columns`` lists the column names; ``noun`` says what the argument is
    ("DataFrame", "LazyFrame", "Parquet dataset") in messages. Every method that runs the
    engine is wrapped: whatever the engine raises (a polars or Spark error, an OS error, a
    Rust panic) becomes a :class:`~mlops_testkit.MltkUsageError` naming the argument.
    """

    engine = "?"
    noun = "DataFrame"
    rank = 0  # leakage joins run in the engine of higher rank (memory < polars < spark)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in ENGINE_CALLS:
            method = cls.__dict__.get(attr)
            if method is not None and not getattr(method, "__mltk_guarded__", False):
                setattr(cls, attr, _guarded(method))

    def __init__(self, obj: Any, name: str, where: str) -> None:
        self.obj, self.name, self.where = obj, name, where
        self.columns: list[Any] = []

    def _who(self, method: str, args: tuple[Any, ...]) -> str:
        """Whom an engine error of ``method`` names: ``adopt`` converts the other side, a
        join reads both."""
        if method == "adopt" and args and isinstance(args[0], Backend):
            return f"{args[0].name} (converted to {self.engine})"
        if method == "leaks" and len(args) >= 2:
            # the join failed: name the split whose key columns the engine cannot compute
            for frame, name in ((None, self.name), (args[0], "test")):
                try:
                    self.compute(frame, args[1])
                except NotImplementedError:
                    break
                except BaseException as exc:
                    if not isinstance(exc, Exception) and not is_panic(exc):
                        raise
                    return name
            return "train joined with test"
        return self.name

    def compute(self, frame: Any, columns: list[Any]) -> None:
        """Compute ``frame`` (this engine's object; None: this side) in full, keeping
        nothing: after a join failed, finds the side whose query fails on its own."""
        raise NotImplementedError

    def has(self, column: Any) -> bool:
        """Whether the data has a column of this name."""
        try:
            return column in self.columns
        except TypeError:
            return False

    def n_rows(self) -> int:
        """Number of rows (a count in the engine)."""
        raise NotImplementedError

    def kind(self, column: Any) -> tuple[str, str]:
        """``("numeric" | "categorical", dtype text)`` of a column, from its type."""
        raise NotImplementedError

    def all_missing(self, column: Any) -> bool:
        """Whether a column holds no value at all."""
        raise NotImplementedError

    def values(self, columns: list[Any]) -> dict[Any, Any]:
        """Sorted finite values (float64 numpy arrays) of numeric columns; an engine
        answers only when the side has at most :data:`EXACT_UP_TO` rows, else ``{}``."""
        raise NotImplementedError

    def sample(self, columns: list[Any], size: int) -> dict[Any, Any]:
        """About ``size`` finite values per numeric column, spread over the data: only
        used to place the grid of :mod:`~mlops_testkit.data.sketch`."""
        raise NotImplementedError

    def binned(self, grids: dict[Any, Any]) -> dict[Any, Any]:
        """Exact :class:`~mlops_testkit.data.sketch.Binned` histograms of numeric columns in
        the given grids, with counts of missing values, min, max and std; one pass."""
        raise NotImplementedError

    def categories(self, columns: list[Any]) -> dict[Any, dict[Any, int] | TooMany]:
        """Exact counts per category (missing values under ``MISSING``) of each column,
        or :class:`TooMany` when a column has more than :data:`MAX_CATEGORIES` values."""
        raise NotImplementedError

    def adopt(self, other: Backend) -> Any:
        """``other``'s data as an object of this engine (for joins across engines)."""
        raise NotImplementedError

    def leaks(self, test: Any, on: list[Any], decimals: Any, max_examples: int) -> Any:
        """Exact hash join of ``test`` (same engine, from :meth:`adopt`) against this side
        (train) on ``on``: ``(leaked test rows, test rows, examples)``."""
        raise NotImplementedError


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".")[0]


def backend_for(obj: Any, name: str, where: str) -> Backend:
    """The backend for one argument, or a usage error naming the argument and the kinds
    the data checks accept. Engines are recognised without importing them."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(obj, pandas.DataFrame):
        from mlops_testkit.data.backends.pandas import PandasBackend

        return PandasBackend(obj, name, where)
    module = _module(obj)
    if module == "polars" and type(obj).__name__ in ("DataFrame", "LazyFrame"):
        from mlops_testkit.data.backends.polars import PolarsBackend

        return PolarsBackend(obj, name, where)
    if isinstance(obj, str | os.PathLike):
        from mlops_testkit.data.backends.polars import from_path

        return from_path(obj, name, where)
    if module == "pyarrow" and type(obj).__name__ in ("Table", "FileSystemDataset", "Dataset"):
        from mlops_testkit.data.backends.arrow import arrow_backend

        return arrow_backend(obj, name, where)
    if module == "pyspark" and type(obj).__name__ == "DataFrame":
        from mlops_testkit.data.backends.spark import SparkBackend

        return SparkBackend(obj, name, where)
    raise MltkUsageError(
        f"{where}: {name} must be a pandas DataFrame, got {type(obj).__name__}; the data "
        f"checks take {SUPPORTED}"
    )


def check_columns(backend: Backend) -> None:
    """Refuse repeated column names (a column must mean one thing)."""
    from collections import Counter

    repeated = [c for c, n in Counter(backend.columns).items() if n > 1]
    if repeated:
        raise MltkUsageError(
            f"{backend.where}: {backend.name} has duplicate column names "
            f"{[str(c) for c in repeated][:10]}; rename them so each column has one name"
        )


def has_rows(backend: Backend) -> bool:
    """Whether the argument has at least one row: the one 0-row rule of every engine. Data
    with 0 rows (an empty frame, a LazyFrame filtered to nothing, an empty Parquet file)
    is no evidence: drift and leakage refuse it (a usage error), the schema check fails."""
    return backend.n_rows() > 0


@dataclass
class NumericSide:
    """One side of a numeric column: exact sorted values, or a histogram in a grid."""

    n: int
    missing: int
    values: Any = None
    binned: Any = None
    backend: Any = None
    column: Any = None

    def all_missing(self) -> bool:
        """No value at all (not even an infinite one): asked only for error messages."""
        return bool(self.backend.all_missing(self.column))

    @property
    def valid(self) -> int:
        return self.n - self.missing


def numeric_sides(
    ref: Backend, cur: Backend, columns: list[Any]
) -> dict[Any, tuple[NumericSide, NumericSide, Any]]:
    """Both sides of each numeric column, and the grid they share (None: exact values)."""
    from mlops_testkit.data.sketch import SAMPLE_SIZE, bin_values, choose_grid

    if not columns:
        return {}
    n_ref, n_cur = ref.n_rows(), cur.n_rows()
    ref_values, cur_values = ref.values(columns), cur.values(columns)
    out: dict[Any, tuple[NumericSide, NumericSide, Any]] = {}
    gridded = [c for c in columns if c not in ref_values or c not in cur_values]
    for col in columns:
        if col not in gridded:
            rv, cv = ref_values[col], cur_values[col]
            out[col] = (
                NumericSide(n_ref, n_ref - len(rv), values=rv, backend=ref, column=col),
                NumericSide(n_cur, n_cur - len(cv), values=cv, backend=cur, column=col),
                None,
            )
    if not gridded:
        return out
    ref_sample = {c: ref_values[c] for c in gridded if c in ref_values}
    cur_sample = {c: cur_values[c] for c in gridded if c in cur_values}
    missing_ref = [c for c in gridded if c not in ref_sample]
    missing_cur = [c for c in gridded if c not in cur_sample]
    if missing_ref:
        ref_sample.update(ref.sample(missing_ref, SAMPLE_SIZE))
    if missing_cur:
        cur_sample.update(cur.sample(missing_cur, SAMPLE_SIZE))
    grids = {c: choose_grid([_thin(ref_sample[c]), _thin(cur_sample[c])]) for c in gridded}

    def side(backend: Backend, values: dict[Any, Any], n: int) -> dict[Any, Any]:
        exact = {c: bin_values(grids[c], values[c]) for c in gridded if c in values}
        for b in exact.values():
            b.missing = n - b.finite
        rest = {c: grids[c] for c in gridded if c not in values}
        return {**exact, **(backend.binned(rest) if rest else {})}

    ref_binned = side(ref, ref_values, n_ref)
    cur_binned = side(cur, cur_values, n_cur)
    for col in gridded:
        rb, cb = ref_binned[col], cur_binned[col]
        out[col] = (
            NumericSide(n_ref, rb.missing, binned=rb, backend=ref, column=col),
            NumericSide(n_cur, cb.missing, binned=cb, backend=cur, column=col),
            grids[col],
        )
    return out


def _thin(values: Any) -> Any:
    """At most SAMPLE_SIZE evenly spaced values of a sorted array (its quantiles)."""
    import numpy as np

    from mlops_testkit.data.sketch import SAMPLE_SIZE

    if len(values) <= SAMPLE_SIZE:
        return values
    return values[np.linspace(0, len(values) - 1, SAMPLE_SIZE).round().astype(np.int64)]


def kinds(
    ref: Backend, cur: Backend, columns: list[Any], categorical: Any, where: str
) -> dict[Any, str]:
    """The kind of each column compared; the two sides must agree."""
    forced = set(categorical or ())
    unknown = forced - set(columns)
    if unknown:
        raise MltkUsageError(
            f"{where}: categorical names {sorted(unknown)} that are not among the "
            "columns compared"
        )
    out = {}
    for col in columns:
        (ref_kind, ref_dtype), (cur_kind, cur_dtype) = ref.kind(col), cur.kind(col)
        if col in forced:
            out[col] = "categorical"
        elif ref_kind != cur_kind and not (ref.all_missing(col) or cur.all_missing(col)):
            raise MltkUsageError(
                f"{where}: column {col!r} is {ref_dtype} in reference but "
                f"{cur_dtype} in current; convert one of them, or pass "
                f"categorical=[{col!r}] to compare it as categories"
            )
        else:
            out[col] = ref_kind
    return out
