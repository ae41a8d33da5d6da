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
from mlops_testkit.data.importance import (
    FeatureImportanceResult,
    assert_features_beneficial,
    feature_importance_report,
)
from mlops_testkit.data.leakage import LeakageReport, assert_no_leakage, leakage_report
from mlops_testkit.data.pii import PiiPattern, PiiResult, assert_no_pii, pii_report
from mlops_testkit.data.schema import SchemaReport, assert_schema, schema_report
from mlops_testkit.data.skew import SkewResult, assert_no_skew, skew_report
from mlops_testkit.data.strategies import frames
from mlops_testkit.data.target_leakage import (
    TargetLeakageResult,
    assert_no_target_leakage,
    target_leakage_report,
)

__all__ = [
    "DriftReport",
    "DriftRow",
    "FeatureImportanceResult",
    "LeakageReport",
    "PiiPattern",
    "PiiResult",
    "SchemaReport",
    "SkewResult",
    "TargetLeakageResult",
    "adjust_p_values",
    "assert_features_beneficial",
    "assert_no_drift",
    "assert_no_leakage",
    "assert_no_pii",
    "assert_no_skew",
    "assert_no_target_leakage",
    "assert_schema",
    "drift_report",
    "feature_importance_report",
    "frames",
    "leakage_report",
    "pii_report",
    "schema_report",
    "skew_report",
    "target_leakage_report",
]
