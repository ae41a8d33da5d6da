"""Quality gates: metric bars, no regression against the champion, slices, budgets.

Every gate returns a :class:`GateResult` and, inside a pytest test, records it; the
plugin carries the test's results to the xdist controller, and ``--mltk-gate-report
PATH`` writes them (:mod:`mlops_testkit.gate_report`): the file the deploy stage trusts.
The modules: :mod:`~mlops_testkit.gates.result` (the result and how a gate finishes),
:mod:`~mlops_testkit.gates.metrics` (metric bars, no regression),
:mod:`~mlops_testkit.gates.slices` and :mod:`~mlops_testkit.gates.budgets` (latency,
size, memory, endpoint), :mod:`~mlops_testkit.gates.fairness`,
:mod:`~mlops_testkit.gates.calibration`, :mod:`~mlops_testkit.gates.baseline` (a simpler
model is not better), :mod:`~mlops_testkit.gates.weak_slices` (slice discovery) and
:mod:`~mlops_testkit.gates.staleness` (model age, decay over time).
"""

from __future__ import annotations

from mlops_testkit.gates.baseline import assert_beats_baseline, baseline_report
from mlops_testkit.gates.budgets import (
    assert_endpoint,
    assert_latency,
    assert_model_size,
    assert_peak_memory,
    endpoint_report,
    latency_report,
    model_size_report,
    peak_memory_report,
)
from mlops_testkit.gates.calibration import assert_calibrated, calibration_report
from mlops_testkit.gates.fairness import assert_fairness, fairness_report
from mlops_testkit.gates.metrics import (
    assert_metric,
    assert_no_regression,
    metric_report,
    regression_report,
)
from mlops_testkit.gates.result import GateResult
from mlops_testkit.gates.slices import assert_slices, slices_report
from mlops_testkit.gates.staleness import (
    assert_model_fresh,
    assert_staleness_impact,
    freshness_report,
    staleness_report,
)
from mlops_testkit.gates.weak_slices import assert_no_weak_slices, find_weak_slices

__all__ = [
    "GateResult",
    "assert_beats_baseline",
    "assert_calibrated",
    "assert_endpoint",
    "assert_fairness",
    "assert_latency",
    "assert_metric",
    "assert_model_fresh",
    "assert_model_size",
    "assert_no_regression",
    "assert_no_weak_slices",
    "assert_peak_memory",
    "assert_slices",
    "assert_staleness_impact",
    "baseline_report",
    "calibration_report",
    "endpoint_report",
    "fairness_report",
    "find_weak_slices",
    "freshness_report",
    "latency_report",
    "metric_report",
    "model_size_report",
    "peak_memory_report",
    "regression_report",
    "slices_report",
    "staleness_report",
]
