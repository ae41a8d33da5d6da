"""Behavioral tests of any model with a predict function: MFT, INV and DIR (CheckList).

The modules: :mod:`~mlops_testkit.behavioral.harness` (inputs, batched predictions,
verdicts), :mod:`~mlops_testkit.behavioral.mft` (minimum functionality),
:mod:`~mlops_testkit.behavioral.perturbation` (invariance and directional tests),
:mod:`~mlops_testkit.behavioral.search` (hypothesis counterexample search),
:mod:`~mlops_testkit.behavioral.checklist` (CheckList interop) and
:mod:`~mlops_testkit.behavioral.perturb` (the perturbation library, also importable as
``mlops_testkit.perturb``).
"""

from __future__ import annotations

from mlops_testkit.behavioral.checklist import ChecklistResult, checklist_report, run_checklist
from mlops_testkit.behavioral.harness import BehavioralReport, lower_bound
from mlops_testkit.behavioral.mft import assert_mft, mft_report
from mlops_testkit.behavioral.perturbation import (
    assert_directional,
    assert_invariant,
    directional_report,
    invariant_report,
)

__all__ = [
    "BehavioralReport",
    "ChecklistResult",
    "assert_directional",
    "assert_invariant",
    "assert_mft",
    "checklist_report",
    "directional_report",
    "invariant_report",
    "lower_bound",
    "mft_report",
    "run_checklist",
]
