"""Metric bars and no regression against the champion (paired bootstrap)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates.result import GateResult, _bars, _finish, _number, report_twin
from mlops_testkit.reporting.score import evidences

# --- metric bars ---------------------------------------------------------------------------


@evidences("infra-4")
def assert_metric(
    name: str, value: float, *, min: float | None = None, max: float | None = None
) -> GateResult:
    """Assert that a metric is within its bars (``min <= value <= max``).

    Example::

        @pytest.mark.gate
        def test_auc_bar(metrics):
            assert_metric("auc", metrics["auc"], min=0.75)
    """
    __tracebackhide__ = True
    where = "assert_metric"
    value = _number(value, "value", where)
    if min is None and max is None:
        raise MltkUsageError(f"{where}: give min= and/or max= for {name!r}")
    lo = None if min is None else _number(min, "min", where)
    hi = None if max is None else _number(max, "max", where)
    bars = _bars(lo is not None and f">= {lo:g}", hi is not None and f"<= {hi:g}")
    passed = (lo is None or value >= lo) and (hi is None or value <= hi)
    return _finish(
        GateResult(name, "metric", value, bars, passed),
        None,
        "The model does not meet the bar: improve it or, if the bar is wrong, change it in review.",
    )


# --- no regression -------------------------------------------------------------------------


def check_confidence(confidence: Any, where: str) -> float:
    """A confidence level in [0.5, 1), or the kit's usage error."""
    return s.confidence(confidence, where)


def _paired_bootstrap(diff: Any, n_boot: int, confidence: float, seed: int) -> tuple[float, float]:
    import numpy as np

    rng = np.random.default_rng(seed)
    n = len(diff)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 256):  # chunks keep memory at 256 x n
        stop = min(n_boot, start + 256)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = diff[idx].mean(axis=1)
    alpha = 1 - confidence
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


@evidences("mon-7")
def assert_no_regression(
    name: str,
    candidate: float,
    baseline: float | None,
    *,
    tolerance: float = 0.0,
    relative: bool = False,
    higher_is_better: bool = True,
    candidate_scores: Sequence[float] | None = None,
    baseline_scores: Sequence[float] | None = None,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> GateResult:
    """Assert that the candidate is not worse than the baseline (the champion).

    The allowed loss is ``tolerance`` (a share of the baseline when ``relative``).
    Without per-example scores the rule is plain: the candidate may not be worse than
    baseline - tolerance. With paired per-example scores (the same examples scored by
    both models) the verdict does not flip on noise: a seeded paired bootstrap of the
    mean difference decides, and the gate fails only when the candidate is worse by
    more than the tolerance with ``confidence`` (the upper confidence bound of
    candidate - baseline is below -tolerance); it needs 30 paired scores. ``relative``
    and ``higher_is_better`` take True or False only, and a relative ``tolerance`` of 1
    or more (the candidate could lose the whole baseline) is a usage error.
    ``baseline=None`` (no champion yet, a first deployment) skips the test with that
    reason.

    Example::

        @pytest.mark.gate
        def test_not_worse_than_champion(candidate_auc, champion_auc):
            assert_no_regression("auc", candidate_auc, champion_auc, tolerance=0.005)
    """
    __tracebackhide__ = True
    import pytest

    where = "assert_no_regression"
    if baseline is None:
        from mlops_testkit.gates.result import _REPORT_ONLY

        if _REPORT_ONLY.get():  # the report twin: a result that judged nothing
            return GateResult(name, "regression", None, "no baseline (first deployment)", False)
        pytest.skip(f"{name}: no baseline (first deployment): nothing to regress from")
    cand, base = _number(candidate, "candidate", where), _number(baseline, "baseline", where)
    relative = _args.flag(relative, "relative", where)
    higher_is_better = _args.flag(higher_is_better, "higher_is_better", where)
    tol = _args.number(
        tolerance,
        "tolerance",
        where,
        low=0,
        high=1 if relative else None,
        high_open=True,
        why="a relative tolerance of 1 or more lets the candidate lose the whole baseline",
    )
    confidence = check_confidence(confidence, where)
    n_boot = s.count(n_boot, "n_boot", where, 100)
    seed = _args.seed(seed, where)
    allowed = tol * abs(base) if relative else tol
    sign = 1.0 if higher_is_better else -1.0
    details: dict[str, Any] = {"baseline": base, "allowed_loss": allowed}
    if (candidate_scores is None) != (baseline_scores is None):
        raise MltkUsageError(
            f"{where}: pass both candidate_scores and baseline_scores, or neither"
        )
    if candidate_scores is not None:
        import numpy as np

        try:
            c = np.asarray(candidate_scores, dtype=float)
            b = np.asarray(baseline_scores, dtype=float)
        except (TypeError, ValueError) as exc:
            raise MltkUsageError(f"{where}: per-example scores must be numbers: {exc}") from None
        if c.shape != b.shape or c.ndim != 1 or len(c) < 1:
            raise MltkUsageError(
                f"{where}: per-example scores must be two 1-D sequences of the same length, "
                f"got {c.shape} and {b.shape}"
            )
        if not (np.isfinite(c).all() and np.isfinite(b).all()):
            raise MltkUsageError(f"{where}: per-example scores contain NaN or inf")
        s.enough(len(c), "candidate_scores", where, "score both models on more examples")
        lo, hi = _paired_bootstrap(sign * (c - b), n_boot, confidence, seed)
        passed = hi >= -allowed
        details.update(
            {
                "mean_difference": float(sign * (c - b).mean()),
                "ci_low": lo,
                "ci_high": hi,
                "confidence": confidence,
                "n": len(c),
                "rule": "paired bootstrap",
            }
        )
        body = table(
            [
                {
                    "candidate": cand,
                    "baseline": base,
                    "mean diff": details["mean_difference"],
                    f"{confidence:.0%} CI": f"[{lo:.4g}, {hi:.4g}]",
                    "allowed loss": allowed,
                }
            ],
            ["candidate", "baseline", "mean diff", f"{confidence:.0%} CI", "allowed loss"],
        )
    else:
        passed = sign * (cand - base) >= -allowed
        body = table(
            [
                {
                    "candidate": cand,
                    "baseline": base,
                    "difference": cand - base,
                    "allowed loss": allowed,
                }
            ],
            ["candidate", "baseline", "difference", "allowed loss"],
        )
    direction = "higher" if higher_is_better else "lower"
    threshold = f"no worse than {base:.6g} by more than {allowed:.6g} ({direction} is better)"
    return _finish(
        GateResult(name, "regression", cand, threshold, passed, details),
        body,
        "The candidate is worse than the model in production: keep the champion.",
    )


metric_report = report_twin(assert_metric, "metric_report")
regression_report = report_twin(assert_no_regression, "regression_report")
