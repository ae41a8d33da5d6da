"""Calibration: the expected calibration error (ECE) with a bootstrap interval, and a
reliability diagram in the report.

No ML Test Score item asks for calibration: the gate evidences none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates import calibration_segments as cs
from mlops_testkit.gates.result import GateResult, _finish, gate_renderer
from mlops_testkit.reporting.results import Results, Section

WHERE = "assert_calibrated"


def _confidences(y_true: Any, proba: Any, where: str) -> tuple[Any, Any, str]:
    """(confidence, outcome) per example and the kind: binary (P(y=1) against y) or
    top-label (the top probability against whether the top class is right)."""
    import numpy as np

    try:
        p = np.asarray(proba, dtype=float)
    except (TypeError, ValueError):
        raise MltkUsageError(
            f"{where}: proba must be numbers, got {type(proba).__name__}"
        ) from None
    if p.ndim not in (1, 2) or p.shape[0] == 0 or (p.ndim == 2 and p.shape[1] < 2):
        raise MltkUsageError(
            f"{where}: proba must be P(y=1) per example (1-D) or one row of class "
            f"probabilities per example (2-D, >= 2 columns), got shape {p.shape}"
        )
    if not np.isfinite(p).all():
        raise MltkUsageError(f"{where}: proba contains {int((~np.isfinite(p)).sum())} NaN/inf")
    if (p < 0).any() or (p > 1).any():
        raise MltkUsageError(
            f"{where}: proba must be probabilities in [0, 1], found values from "
            f"{p.min():.4g} to {p.max():.4g}; apply a sigmoid or softmax to scores first"
        )
    t = s.vector(y_true, "y_true", where, p.shape[0])
    if p.ndim == 2 and p.shape[1] == 2:
        p = p[:, 1]
    if p.ndim == 1:
        return p, s.binary(t, "y_true", where).astype(float), "binary"
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise MltkUsageError(f"{where}: each row of proba must sum to 1 (class probabilities)")
    k = p.shape[1]
    if not np.isin(t, np.arange(k)).all():
        raise MltkUsageError(f"{where}: y_true must hold class indices 0..{k - 1} for {k} columns")
    return p.max(axis=1), (p.argmax(axis=1) == t).astype(float), "top-label"


def _ece(conf_: Any, outcome: Any, k: int, n_boot: int, rng: Any) -> tuple[float, Any, list]:
    """The ECE over ``k`` equal-width bins, its ``n_boot`` bootstrap resamples (None
    without ``rng``) and the rows of the bins."""
    import numpy as np

    n = len(conf_)
    b = np.minimum((conf_ * k).astype(np.int64), k - 1)
    # cells: (bin, outcome); the bootstrap redraws the cells' counts (multinomial) and
    # each cell's sum of confidences (normal, from the cell's mean and spread)
    cell = b * 2 + outcome.astype(np.int64)
    count = np.bincount(cell, minlength=2 * k).astype(float)
    total = np.bincount(cell, weights=conf_, minlength=2 * k)
    square = np.bincount(cell, weights=conf_**2, minlength=2 * k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        var = np.where(count > 1, np.maximum(square / np.maximum(count, 1) - mean**2, 0.0), 0.0)
    per_bin = count.reshape(k, 2).sum(axis=1)
    hits = count.reshape(k, 2)[:, 1]
    sums = total.reshape(k, 2).sum(axis=1)
    ece = float(np.abs(hits - sums).sum() / n)
    boot = None
    if rng is not None:
        boot = np.empty(n_boot)
        for start in range(0, n_boot, 1024):
            stop = min(n_boot, start + 1024)
            c = rng.multinomial(n, count / n, size=stop - start).astype(float)
            sm = c * mean + np.sqrt(c * var) * rng.standard_normal(c.shape)
            h = c.reshape(-1, k, 2)[:, :, 1]
            boot[start:stop] = np.abs(h - sm.reshape(-1, k, 2).sum(axis=2)).sum(axis=1) / n
    rows = []
    for i in range(k):
        m = int(per_bin[i])
        rows.append(
            {
                "bin": f"[{i / k:.2f}, {(i + 1) / k:.2f}{']' if i == k - 1 else ')'}",
                "n": m,
                "confidence": float(sums[i] / m) if m else math.nan,
                "observed": float(hits[i] / m) if m else math.nan,
                "gap": float((hits[i] - sums[i]) / m) if m else math.nan,
            }
        )
    return ece, boot, rows


def calibration_report(
    y_true: Sequence[Any],
    proba: Any,
    *,
    max_ece: float = 0.05,
    bins: int = 10,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    segments: Any = None,
    min_size: int | None = None,
    name: str | None = None,
) -> GateResult:
    """The verdict of :func:`assert_calibrated`, returned instead of asserted.

    Example::

        result = calibration_report(y, proba, max_ece=0.05, segments=holdout["region"])
        print(result.value, result.details["ece_ci"], result.details.get("segments"))
    """
    import numpy as np

    where = WHERE
    conf_, outcome, mode = _confidences(y_true, proba, where)
    bar = _args.number(
        max_ece,
        "max_ece",
        where,
        low=0,
        high=1,
        high_open=True,
        why="an ECE is at most 1: a bar of 1 or more could never fail",
    )
    k = s.count(bins, "bins", where)
    conf = s.confidence(confidence, where)
    n_boot = s.count(n_boot, "n_boot", where, 100)
    seed = _args.seed(seed, where)
    n = len(conf_)
    s.enough(n, "proba", where, "calibrate on more held-out data")
    if segments is None and min_size is not None:
        raise MltkUsageError(
            f"{where}: min_size={min_size!r} applies to segments, and no segments= was "
            "given: pass segments (a label per example, or a DataFrame of columns)"
        )
    seg = None
    if segments is not None:
        codes, labels, columns = cs.segment_codes(segments, n, where)
        least = cs.min_size_of(min_size, where)
        sizes = np.bincount(codes, minlength=len(labels))
        n_boot = cs.draws(n_boot, 1 + int((sizes >= least).sum()), conf)
    ece, boot, rows = _ece(conf_, outcome, k, n_boot, np.random.default_rng(seed))
    if segments is None:
        lo, hi = s.bounds(ece, boot, conf)
        # bias-corrected bounds may both fall below the (upward-biased) estimate; the
        # upper bound is shown no lower than the estimate, the lower one decides
        lo, hi = max(lo, 0.0), max(hi, ece)
        problem = s.undefined(boot, "the ECE")
        passed = problem is None and lo <= bar
    else:
        overall = {"ece": ece, "boot": boot}
        seg = cs.judge(
            conf_,
            outcome,
            codes,
            labels,
            overall,
            ece_fn=lambda c, o, rng: _ece(c, o, k, n_boot, rng),
            bar=bar,
            confidence=conf,
            n_boot=n_boot,
            seed=seed,
            min_size=least,
        )
        lo, hi = overall["ece_ci"]
        problem = seg.pop("problem")
        passed = problem is None and not overall["failed"] and not seg["failing"]
    details = {
        "ece": ece,
        "ece_ci": [lo, hi],
        "max_ece": bar,
        "bins": rows,
        "mode": mode,
        "n": n,
        "confidence": conf,
        "n_boot": n_boot,
        "seed": seed,
    }
    threshold = f"ECE <= {bar:g} (not significantly above, {conf:.0%} one-sided)"
    if seg is not None:
        details.update(
            seg,
            min_size=least,
            segment_columns=columns,
            overall_failed=overall["failed"],
            ece_level=overall["level"],
        )
        threshold = (
            f"ECE <= {bar:g} overall and in each segment of >= {least} examples (not "
            f"significantly above, {conf:.0%} one-sided, Holm over {seg['tests']} tests)"
        )
    if problem:
        details["problem"] = problem
    return GateResult(
        name or f"calibration ({mode})",
        "calibration",
        ece,
        threshold + (f" ({problem})" if problem else ""),
        passed,
        details,
        rows=rows,
    )


def _body(result: GateResult) -> str:
    d = result.details
    shown = [r for r in d["bins"] if r["n"]]
    worst = sorted(shown, key=lambda r: -abs(r["gap"]))
    overall = (
        f"{d['mode']} ECE {d['ece']:.4g} {s.interval(*d['ece_ci'])} over {d['n']} examples "
        f"({cs.percent(d.get('ece_level', d['confidence']))} bounds), {len(d['bins'])} "
        "equal-width bins"
    )
    if "segments" not in d:
        return (
            overall
            + "; worst bins:\n\n"
            + table(worst, ["bin", "n", "confidence", "observed", "gap"], max_rows=5)
        )
    verdict = "above the bar" if d["overall_failed"] else "within the bar"
    return (
        f"overall: {overall}, {verdict}\n"
        + (f"{d['problem']}\n" if d.get("problem") else "")
        + "\n"
        + cs.body(d)
    )


def assert_calibrated(
    y_true: Sequence[Any],
    proba: Any,
    *,
    max_ece: float = 0.05,
    bins: int = 10,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    segments: Any = None,
    min_size: int | None = None,
    name: str | None = None,
) -> GateResult:
    """Assert that predicted probabilities mean what they say, overall and per segment.

    ``proba`` is P(y=1) per example (binary, against 0/1 ``y_true``) or one row of class
    probabilities per example (multiclass: top-label calibration, the top probability
    against whether the top class is right). The expected calibration error is the
    example-weighted mean over ``bins`` equal-width bins of \\|observed rate - mean
    confidence\\|. A seeded bootstrap gives its interval; the gate fails when the ECE is
    above ``max_ece`` even at its lower ``confidence`` bound. Probabilities outside
    [0, 1], fewer than 30 examples (too few for an interval) and ``max_ece >= 1`` (it
    could never fail) are usage errors. The report shows a reliability diagram. No ML
    Test Score item asks for calibration.

    ``segments`` (a label per example, or a DataFrame whose columns' value combinations
    are the segments) judges each segment of at least ``min_size`` examples (default
    100, at least 30) the same way, Holm-corrected over the segments and the overall
    ECE, so a model calibrated overall but off in one region fails, naming it. Smaller
    segments are reported as not judged; when no segment is judged the gate fails (no
    evidence). Missing segment labels are a usage error. The diagram draws the failing
    segments beside the overall curve.

    Example::

        @pytest.mark.gate
        def test_probabilities_are_calibrated(holdout, proba):
            assert_calibrated(holdout["defaulted"], proba, max_ece=0.05)

        def test_calibrated_in_every_region(holdout, proba):
            assert_calibrated(holdout["defaulted"], proba, segments=holdout["region"])
    """
    __tracebackhide__ = True
    result = calibration_report(
        y_true,
        proba,
        max_ece=max_ece,
        bins=bins,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        segments=segments,
        min_size=min_size,
        name=name,
    )
    segmented = "segments" in result.details
    return _finish(
        result,
        _body(result),
        "The probabilities are off"
        + (" where the table says FAIL" if segmented else "")
        + ": recalibrate on held-out data (temperature or Platt scaling, isotonic "
        "regression"
        + (", per segment or with the segment as a feature" if segmented else "")
        + ") before anyone thresholds or averages them.",
    )


def _sections(results: Results) -> list[Section]:
    from mlops_testkit.reporting import plots

    out = []
    for r in results:
        d = r.get("details") or {}
        bins = [b for b in d.get("bins") or [] if b.get("n")]
        if not bins:
            continue
        failing = cs.curves(d)
        text = "\n".join(
            f"{b['bin']:>13} n={b['n']:<7} conf {s.bar(b['confidence'] or 0, 1.0, 16)} "
            f"{s.fmt(b['confidence'], 3)}  observed {s.bar(b['observed'] or 0, 1.0, 16)} "
            f"{s.fmt(b['observed'], 3)}"
            for b in bins
        )
        for label, seg_bins in failing:
            text += f"\n\nsegment {label} (FAIL):\n" + "\n".join(
                f"{b['bin']:>13} n={b['n']:<7} conf {s.fmt(b['confidence'], 3):<6} observed "
                f"{s.fmt(b['observed'], 3)}"
                for b in seg_bins
            )
        image = plots.reliability(
            [("overall", bins), *failing], title=f"reliability: {r.get('name')}"
        )
        note = (
            f"{'pass' if r.get('passed') else 'FAIL'}: ECE {s.fmt(d.get('ece'))} "
            f"{s.interval(*(d.get('ece_ci') or [None, None]))}; required "
            f"{r.get('threshold')}"
        )
        if "segments" in d:
            note += (
                f"; {d.get('failing')} of {d.get('judged')} judged segment(s) failing, "
                f"{d.get('not_judged')} not judged"
            )
        out.append(
            Section(
                f"Calibration: {r.get('name')}",
                text=text,
                header=("bin", "n", "mean confidence", "observed", "gap"),
                table=[
                    [
                        b["bin"],
                        b["n"],
                        s.fmt(b["confidence"]),
                        s.fmt(b["observed"]),
                        s.fmt(b["gap"]),
                    ]
                    for b in bins
                ],
                image=image,
                note=note,
            )
        )
        if "segments" in d:
            out.append(
                Section(
                    f"Calibration per segment: {r.get('name')}",
                    header=("segment", "n", "ECE", "interval", "verdict"),
                    table=[
                        [
                            g["segment"],
                            g["n"],
                            s.fmt(g["ece"]),
                            s.interval(*g["ece_ci"]) if g.get("ece_ci") else "-",
                            g["verdict"],
                        ]
                        for g in (d.get("segments") or [])[:50]
                    ],
                    note=(
                        f"Holm over {d.get('tests')} tests (the overall ECE and each segment "
                        f"of >= {d.get('min_size')} examples); the diagram above draws the "
                        "failing segments"
                    ),
                )
            )
    return out


gate_renderer("calibration", sections=_sections)
