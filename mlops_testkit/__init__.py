"""mlops-testkit: a pytest plugin for testing data, models and model behaviour.

The pytest plugin itself lives in :mod:`mlops_testkit.plugin` and is loaded through
the ``pytest11`` entry point; importing this package is cheap and pulls in no ML
framework.
"""

from __future__ import annotations

__version__ = "0.1.0"


class MltkWarning(UserWarning):
    """Base class of every warning mlops-testkit emits (filter them with this class)."""


class MltkConfigWarning(MltkWarning):
    """A setting that is valid but looks wrong, e.g. model globs that match no file."""


class MltkUsageError(ValueError, TypeError):
    """A helper was called with arguments it cannot use; the message names the argument
    and what was expected. It is both a ValueError and a TypeError."""


class MissingExtraError(ImportError):
    """An optional framework a helper needs is not installed.

    The message carries the exact install line, e.g.
    ``pip install 'mlops-testkit[torch]'``.
    """


# Public helpers, imported on first use so that `import mlops_testkit` stays cheap.
_DATA = (
    "assert_schema",
    "schema_report",
    "assert_no_drift",
    "drift_report",
    "adjust_p_values",
    "assert_no_leakage",
    "leakage_report",
    "frames",
)
_BEHAVIORAL = (
    "assert_mft",
    "assert_invariant",
    "assert_directional",
    "mft_report",
    "invariant_report",
    "directional_report",
    "run_checklist",
    "checklist_report",
)
_GATES = (
    "assert_metric",
    "assert_no_regression",
    "assert_slices",
    "assert_latency",
    "assert_model_size",
    "assert_peak_memory",
    "assert_endpoint",
    "metric_report",
    "regression_report",
    "slices_report",
    "latency_report",
    "model_size_report",
    "peak_memory_report",
    "endpoint_report",
    "assert_fairness",
    "fairness_report",
    "assert_calibrated",
    "calibration_report",
    "assert_beats_baseline",
    "baseline_report",
    "assert_no_weak_slices",
    "find_weak_slices",
    "assert_model_fresh",
    "freshness_report",
    "assert_staleness_impact",
    "staleness_report",
    "GateResult",
)
_LAZY = {name: "mlops_testkit.data" for name in _DATA}
_LAZY |= {name: "mlops_testkit.gates" for name in _GATES}
_LAZY |= {name: "mlops_testkit.behavioral" for name in _BEHAVIORAL}
# Feature and pipeline checks (issue 15): skew, target leakage, feature value, PII, deps.
_FEATURES = (
    "assert_no_skew",
    "skew_report",
    "assert_no_target_leakage",
    "target_leakage_report",
    "assert_features_beneficial",
    "feature_importance_report",
    "assert_no_pii",
    "pii_report",
    "PiiPattern",
)
_LAZY |= {name: "mlops_testkit.data" for name in _FEATURES}
_LAZY |= {
    name: "mlops_testkit.registry.deps"
    for name in ("assert_dependencies_unchanged", "dependency_diff")
}
_LAZY |= {
    name: "mlops_testkit.training"
    for name in (
        "assert_overfits_batch",
        "assert_loss_decreases",
        "assert_params_update",
        "assert_finite",
        "assert_output_shape",
        "assert_deterministic",
        "assert_checkpoint_roundtrip",
        "assert_devices_agree",
        "assert_batch_invariant",
        "overfit_batch",
        "loss_curve",
        "params_update_report",
        "nonfinite_report",
        "determinism_report",
        "checkpoint_report",
        "output_shape_report",
        "devices_agree_report",
        "batch_invariance_report",
    )
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_testkit' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "MissingExtraError",
    "MltkConfigWarning",
    "MltkUsageError",
    "MltkWarning",
    "__version__",
    *_LAZY,
]
