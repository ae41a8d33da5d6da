"""Schema validation with pandera, always lazy, with failures people can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult, record
from mlops_testkit.reporting.score import evidences


def _as_schema(schema: Any, where: str) -> Any:
    """Accept a pandera DataFrameSchema (pandas or polars) or a DataFrameModel class."""
    require("pandera", where)
    to_schema = getattr(schema, "to_schema", None)
    if isinstance(schema, type) and callable(to_schema):
        schema = to_schema()
    module = type(schema).__module__
    if not (module.startswith("pandera") and callable(getattr(schema, "validate", None))):
        raise MltkUsageError(
            f"{where}: schema must be a pandera DataFrameSchema or a DataFrameModel class, "
            f"got {type(schema).__name__}"
        )
    return schema


def _check_frame(df: Any, where: str) -> Any:
    """The frame pandera validates: pandas and polars frames as they are, a Parquet path or
    a PyArrow object as a polars LazyFrame, a Spark DataFrame (pandera.pyspark)."""
    import os

    from mlops_testkit.data.backends import SUPPORTED, backend_for

    kind = type(df).__module__.split(".")[0]
    if kind == "pandas" and hasattr(df, "columns"):
        return df
    if kind == "polars" and type(df).__name__ in ("DataFrame", "LazyFrame"):
        return df  # not hasattr(df, "columns"): on a LazyFrame that runs the engine
    if kind == "pyspark" and type(df).__name__ == "DataFrame":
        from mlops_testkit.data.backends.spark import check_session

        check_session(df, "df", where)
        _check_spark_schema_backend(where)
        return df
    if isinstance(df, str | os.PathLike) or kind == "pyarrow":
        return backend_for(df, "df", where).lf
    raise MltkUsageError(
        f"{where}: df must be a pandas (or polars) DataFrame, got {type(df).__name__}; "
        f"the data checks take {SUPPORTED}"
    )


def _check_spark_schema_backend(where: str) -> None:
    """pandera's pyspark backend imports ``pyspark.pandas``, which does not import under
    pandas 3 (pyspark 4.3: ``DateOffset`` moved) nor without grpc (it exits); refuse
    before pandera is asked, with what to install."""
    from importlib import metadata, util

    try:
        pandas_version = metadata.version("pandas")
    except metadata.PackageNotFoundError:
        pandas_version = None
    major = pandas_version.split(".")[0] if pandas_version else ""
    if not major.isdigit() or int(major) >= 3:
        found = (
            f"pyspark.pandas does not import under pandas 3 (pandas {pandas_version} is "
            "installed)"
            if pandas_version
            else "pyspark.pandas needs pandas, which is not installed"
        )
        raise MltkUsageError(
            f"{where}: df is a Spark DataFrame, validated by pandera's pyspark backend "
            f"(pandera.pyspark), which imports pyspark.pandas; {found}. Run Spark schema "
            "checks in an environment with pandas < 3 (Databricks runtimes ship pandas 2): "
            "pip install 'pandas<3' 'pyspark[connect]' pandera"
        )
    if util.find_spec("grpc") is None:
        raise MltkUsageError(
            f"{where}: df is a Spark DataFrame, validated by pandera's pyspark backend "
            f"(pandera.pyspark), which imports pyspark.pandas; pyspark.pandas does not import "
            f"without grpc: pip install 'pyspark[connect]'"
        )


@dataclass
class SchemaReport(CheckResult):
    """The validated frame, or every failure case pandera found."""

    kind = "schema"
    frame: Any
    rows: list[dict[str, Any]] = field(default_factory=list)  # check, column, failure case, row
    schema_name: str | None = None
    rows_checked: int = 0

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.schema_name or ""

    @property
    def passed(self) -> bool:
        return not self.rows

    @property
    def headline(self) -> str:
        if self.passed:
            name = f" {self.schema_name!r}" if self.schema_name else ""
            return f"{self.rows_checked} row(s) meet the schema{name}"
        checks = {(r["column"], r["check"]) for r in self.rows}
        rows = {r["row index"] for r in self.rows if r["row index"] is not None}
        name = f" of schema {self.schema_name!r}" if self.schema_name else ""
        if not rows:  # schema-level failures, or pandera.pyspark: per check, no row index
            return (
                f"{len(checks)} check(s){name} failed ({len(self.rows)} failure case(s); "
                f"{self.rows_checked} row(s) checked, failing rows not identified)"
            )
        return (
            f"{len(checks)} check(s){name} failed on {len(rows)} row(s) "
            f"({len(self.rows)} failure case(s))"
        )


def _rows(failure_cases: Any) -> list[dict[str, Any]]:
    if hasattr(failure_cases, "to_dicts"):  # polars
        records = failure_cases.to_dicts()
    else:
        records = failure_cases.to_dict("records")
    out = []
    for rec in records:
        index = rec.get("index")
        if index is not None and index != index:  # NaN: a schema-level failure
            index = None
        out.append(
            {
                "check": str(rec.get("check")),
                "column": "-" if rec.get("column") is None else str(rec.get("column")),
                "failure case": rec.get("failure_case"),
                "row index": index,
            }
        )
    out.sort(key=lambda r: (r["row index"] is not None, r["column"], r["check"]))
    return out


def _height(df: Any) -> int:
    kind = type(df).__module__.split(".")[0]
    if kind == "pyspark":
        return int(df.count())
    if type(df).__name__ == "LazyFrame":
        import polars as pl

        return int(df.select(pl.len()).collect().item())
    return int(df.shape[0])  # pandas and polars DataFrames


def schema_report(df: Any, schema: Any) -> SchemaReport:
    """Validate ``df`` lazily; return the validated frame or all failure cases as rows.

    Example::

        report = schema_report(raw_df, RawSchema)
        if not report.passed:
            print(report.headline, report.rows[:5])
    """
    where = "schema_report"
    schema = _as_schema(schema, where)
    df = _check_frame(df, where)
    _check_engine(schema, df, where)
    errors = require("pandera.errors", where)
    from mlops_testkit.data.backends import engine_guard

    name = getattr(schema, "name", None)
    # whatever the engine raises while validating or counting (a plan that fails when
    # collected, a deleted file, a Rust panic) is a usage error naming df
    with engine_guard(where, "df", type(df).__module__.split(".")[0]):
        if type(df).__module__.startswith("pyspark"):
            return _spark_report(df, schema)
        try:
            validated = _validate(schema, df)
        except errors.SchemaErrors as exc:
            return SchemaReport(None, _rows(exc.failure_cases), name, _height(df))
        except errors.SchemaError as exc:  # raised eagerly by some backends (a wrong type)
            row = {
                "check": str(getattr(exc, "check", None) or "schema"),
                "column": "-",
                "failure case": str(exc).splitlines()[0][:200],
                "row index": None,
            }
            return SchemaReport(None, [row], name, _height(df))
        height = _height(df)
    if height == 0:  # the same 0-row rule on every engine: nothing validated never passes
        return SchemaReport(None, [dict(_NO_ROWS)], name, 0)
    return SchemaReport(validated, [], name, height)


_NO_ROWS = {
    "check": "has rows",
    "column": "-",
    "failure case": "the frame has 0 rows: nothing was validated",
    "row index": None,
}


def _check_engine(schema: Any, df: Any, where: str) -> None:
    """A pandera schema validates frames of its own engine only."""
    engine = type(df).__module__.split(".")[0]
    module = type(schema).__module__
    own = "pandas" if ".pandas" in module or module == "pandera.api.dataframe.container" else None
    own = "polars" if ".polars" in module else "pyspark" if ".pyspark" in module else own
    if own is not None and own != engine:
        package = {"pandas": "pandera.pandas", "polars": "pandera.polars"}.get(
            engine, "pandera.pyspark"
        )
        raise MltkUsageError(
            f"{where}: schema is a pandera {own} schema but df is a {engine} frame; "
            f"write the schema with {package} for this engine"
        )


def _validate(schema: Any, df: Any) -> Any:
    if type(df).__name__ != "LazyFrame":
        return schema.validate(df, lazy=True)
    # a LazyFrame is checked only for its schema by default: check the data too, in polars
    from pandera.config import ValidationDepth, config_context

    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        return schema.validate(df, lazy=True)


def _spark_report(df: Any, schema: Any) -> SchemaReport:
    """pandera.pyspark collects its errors on the returned frame instead of raising; Spark
    rows have no index, so failures are per check (with the engine's message).

    The row count the headline reports is a Spark job of its own: it runs in a second
    thread while pandera runs its many small jobs, in the gaps they leave on the cores."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(_height, df)
        validated = schema.validate(df)
        height = counting.result()
    rows = []
    for level in (validated.pandera.errors or {}).values():
        for reason, items in level.items():
            for item in items:
                rows.append(
                    {
                        "check": str(item.get("check") or reason),
                        "column": str(item.get("column") or "-"),
                        "failure case": str(item.get("error", ""))[:200],
                        "row index": None,
                    }
                )
    if not rows and height == 0:
        rows = [dict(_NO_ROWS)]
    return SchemaReport(None if rows else validated, rows, getattr(schema, "name", None), height)


@evidences("data-1", "mon-2")
def assert_schema(df: Any, schema: Any, *, max_examples: int = 10) -> Any:
    """Assert that ``df`` satisfies a pandera schema; return the validated frame.

    Validation is always lazy, so every violation is reported at once: a headline, a
    table of check / column / failure case / row index (capped at ``max_examples``),
    and the next step. The returned frame carries pandera's coercions.

    Example::

        @pytest.mark.data
        def test_raw_data(raw_df):
            raw_df = assert_schema(raw_df, RawSchema)   # a DataFrameModel or DataFrameSchema
    """
    __tracebackhide__ = True
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise MltkUsageError(f"assert_schema: max_examples must be >= 1, got {max_examples!r}")
    report = record(schema_report(df, schema))
    if report.passed:
        return report.frame
    rows = [
        {**r, "row index": "-" if r["row index"] is None else r["row index"]} for r in report.rows
    ]
    raise AssertionError(
        message(
            report.headline,
            table(rows, ["check", "column", "failure case", "row index"], max_rows=max_examples),
            "Fix the data upstream, or the schema if the rule is wrong. "
            "schema_report(df, schema).rows lists every failure case.",
        )
    )
