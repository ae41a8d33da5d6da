"""Model and training tests for PyTorch models.

Each check takes your own model, a batch and a loss function, works on a deep copy (your
model is never mutated by a check), and explains a failure in model terms. Each has a
report twin returning a result (``overfit_batch``, ``loss_curve``,
``params_update_report``, ``nonfinite_report``, ``output_shape_report``,
``determinism_report``, ``checkpoint_report``, ``devices_agree_report``,
``batch_invariance_report``) and an
``assert_*`` wrapper that turns a failing result into a test failure.

The modules, by concern: :mod:`~mlops_testkit.training.batches` (batches, models and
optimizers), :mod:`~mlops_testkit.training.fit` (overfit a batch, loss decreases),
:mod:`~mlops_testkit.training.params` (parameters update),
:mod:`~mlops_testkit.training.outputs` (finite values, output shapes) and
:mod:`~mlops_testkit.training.reproducibility` (determinism, checkpoints, devices agree)
and :mod:`~mlops_testkit.training.batch_invariance` (predictions that depend on the batch).
torch is imported by the functions that need it, never by importing these modules.
"""

from __future__ import annotations

from mlops_testkit.training.batch_invariance import (
    BatchInvarianceReport,
    assert_batch_invariant,
    batch_invariance_report,
)
from mlops_testkit.training.fit import (
    TrainingCurve,
    assert_loss_decreases,
    assert_overfits_batch,
    loss_curve,
    overfit_batch,
)
from mlops_testkit.training.outputs import (
    NonfiniteReport,
    OutputShapeReport,
    assert_finite,
    assert_output_shape,
    nonfinite_report,
    output_shape_report,
)
from mlops_testkit.training.params import (
    ParamsUpdateReport,
    assert_params_update,
    params_update_report,
)
from mlops_testkit.training.reproducibility import (
    CheckpointReport,
    DeterminismReport,
    DevicesAgreeReport,
    assert_checkpoint_roundtrip,
    assert_deterministic,
    assert_devices_agree,
    checkpoint_report,
    determinism_report,
    devices_agree_report,
)

__all__ = [
    "BatchInvarianceReport",
    "CheckpointReport",
    "DeterminismReport",
    "DevicesAgreeReport",
    "NonfiniteReport",
    "OutputShapeReport",
    "ParamsUpdateReport",
    "TrainingCurve",
    "assert_batch_invariant",
    "assert_checkpoint_roundtrip",
    "assert_deterministic",
    "assert_devices_agree",
    "assert_finite",
    "assert_loss_decreases",
    "assert_output_shape",
    "assert_overfits_batch",
    "assert_params_update",
    "batch_invariance_report",
    "checkpoint_report",
    "determinism_report",
    "devices_agree_report",
    "loss_curve",
    "nonfinite_report",
    "output_shape_report",
    "overfit_batch",
    "params_update_report",
]
