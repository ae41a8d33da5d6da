"""Data tests: schemas, drift, leakage and schema-driven property tests.

The public names of the data capability, gathered in one module (each lives in its own:
:mod:`~mlops_testkit.data.schema`, :mod:`~mlops_testkit.data.drift`, :mod:`~mlops_testkit.data.leakage`,
:mod:`~mlops_testkit.data.strategies`). They need ``pip install 'mlops-testkit[data]'``.
"""

from __future__ import annotations

from mlops_testkit.data.drift import (
    DriftReport,
    DriftRow,
    adjust_p_values,
    assert_no_drift,
    drift_report,
)
from mlops_testkit.data.leakage import LeakageReport, assert_no_leakage, leakage_report
from mlops_testkit.data.schema import SchemaReport, assert_schema, schema_report
from mlops_testkit.data.strategies import frames

__all__ = [
    "DriftReport",
    "DriftRow",
    "LeakageReport",
    "SchemaReport",
    "adjust_p_values",
    "assert_no_drift",
    "assert_no_leakage",
    "assert_schema",
    "drift_report",
    "frames",
    "leakage_report",
    "schema_report",
]
