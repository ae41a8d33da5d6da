"""Fairness: a metric per group of a sensitive attribute, with bootstrap intervals on each
group, on the largest gap between groups and on the smallest ratio (the four-fifths rule).

Built on numpy alone (not fairlearn's ``MetricFrame``): the built-in metrics are rates
within each group, so a bootstrap that keeps the group sizes draws each group's count of
successes from a binomial, which is exact for resampling rows within the groups and costs
nothing per row: 2,000 resamples of 1M rows take the time of counting the rows once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates.result import GateResult, _bars, _finish, gate_renderer
from mlops_testkit.reporting.results import Results, Section
from mlops_testkit.reporting.score import evidences

METRICS = ("selection_rate", "tpr", "fpr", "accuracy")
WHERE = "assert_fairness"


def _groups(sensitive: Any, n: int, where: str) -> tuple[Any, list[str], list[str]]:
    """Group codes (intersections of several columns), their labels, the column names."""
    import numpy as np

    cols = s.columns(sensitive, "sensitive", where, n)
    coded = [s.codes(col) for col in cols.values()]
    names = list(cols)
    if len(coded) == 1:
        return coded[0][0], coded[0][1], names
    combined = np.zeros(n, dtype=np.int64)
    for c, labels in coded:
        combined = combined * len(labels) + c
    used, inverse = np.unique(combined, return_inverse=True)
    labels = []
    for code in used.tolist():
        parts = []
        for (_, col_labels), col in zip(reversed(coded), reversed(names), strict=True):
            code, k = divmod(code, len(col_labels))
            parts.append(f"{col}={col_labels[k]}")
        labels.append(", ".join(reversed(parts)))
    return inverse.astype(np.int64), labels, names


def _rates(metric: str, t: Any, p: Any, g: Any, k: int) -> tuple[Any, Any]:
    """Successes and the denominator of ``metric`` in each group."""
    import numpy as np

    if metric == "selection_rate":
        keep = slice(None)
        hits = p
    elif metric == "accuracy":
        keep, hits = slice(None), (p == t)
    else:
        keep = t == (1 if metric == "tpr" else 0)
        hits = p
    gk = g[keep]
    den = np.bincount(gk, minlength=k)
    num = np.bincount(gk, weights=np.asarray(hits[keep], dtype=float), minlength=k)
    return num, den


def _spread(values: Any) -> tuple[Any, Any]:
    """The largest gap (max - min) and the smallest ratio (min / max) of each row."""
    import numpy as np

    hi, lo = values.max(axis=-1), values.min(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), np.nan)
    return hi - lo, ratio


def _simultaneous(
    rate: Any, boot: Any, conf: float
) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Bounds on the largest gap and the smallest ratio, from bounds on every ordered
    pair of groups, Bonferroni-corrected so that they hold together at ``conf``.

    The gap is the largest pairwise difference and the ratio the smallest pairwise
    ratio, so if every pair's bounds hold, the bounds on the gap and the ratio hold.
    Bounding the extremes directly (max - min of the resampled rates) would not: the
    maximum of noisy rates is biased upward, and a fair model whose groups tie at the
    top would fail far more often than ``1 - conf``. Each pair's spread comes from the
    bootstrap covariance of the groups' metrics (normal bounds; the ratio's by the
    delta method).
    """
    import numpy as np

    k = len(rate)
    pairs = k * (k - 1)
    z = NormalDist().inv_cdf(1 - (1 - conf) / pairs)
    cov = np.atleast_2d(np.cov(boot, rowvar=False))
    var = np.diag(cov)
    off = ~np.eye(k, dtype=bool)
    mi, mj = rate[:, None], rate[None, :]
    diff = mi - mj
    sd = np.sqrt(np.maximum(var[:, None] + var[None, :] - 2 * cov, 0.0))
    gap = (
        max(float((diff - z * sd)[off].max()), 0.0),
        max(float((diff + z * sd)[off].max()), 0.0),
    )
    valid = off & (mj > 0)
    if not valid.any():
        return gap, (math.nan, math.nan), pairs
    with np.errstate(divide="ignore", invalid="ignore"):
        r = mi / mj
        r_var = var[:, None] / mj**2 + mi**2 * var[None, :] / mj**4 - 2 * mi * cov / mj**3
        r_sd = np.sqrt(np.maximum(r_var, 0.0))
    lo = float(np.min((r - z * r_sd)[valid]))
    hi = float(np.min((r + z * r_sd)[valid]))
    return gap, (min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)), pairs


def fairness_report(
    y_true: Sequence[Any] | None,
    y_pred: Sequence[Any],
    sensitive: Any,
    *,
    metric: str | Callable[[Any, Any], float] = "selection_rate",
    max_gap: float | None = None,
    min_ratio: float | None = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    n_boot: int = 2000,
    seed: int = 0,
    name: str | None = None,
) -> GateResult:
    """The fairness verdict of :func:`assert_fairness`, returned instead of asserted.

    Example::

        result = fairness_report(None, approved, applicants["sex"], min_ratio=0.8)
        print(result.details["ratio"], result.details["ratio_ci"])
    """
    import numpy as np

    where = WHERE
    p = s.vector(y_pred, "y_pred", where)
    n = p.shape[0]
    builtin = isinstance(metric, str)
    if builtin and metric not in METRICS:
        raise MltkUsageError(
            f"{where}: unknown metric {metric!r}; expected one of {', '.join(METRICS)} or a "
            "callable (y_true, y_pred) -> float"
        )
    if not builtin and not callable(metric):
        raise MltkUsageError(f"{where}: metric must be a name or a callable, got {metric!r}")
    if y_true is None:
        if metric != "selection_rate":
            raise MltkUsageError(f"{where}: y_true is required for metric {metric!r}")
        t = np.zeros(n, dtype=np.int8)
    else:
        t = s.vector(y_true, "y_true", where, n)
    if builtin:
        p = s.binary(p, "y_pred", where)
        if metric != "selection_rate":
            t = s.binary(t, "y_true", where)
    if max_gap is None and min_ratio is None:
        raise MltkUsageError(f"{where}: give max_gap= and/or min_ratio=")
    gap_bar = (
        None
        if max_gap is None
        else _args.number(
            max_gap,
            "max_gap",
            where,
            low=0,
            high=1 if builtin else None,
            high_open=True,
            why=f"{metric} is a rate: a gap of 1 or more could never be exceeded",
        )
    )
    ratio_bar = (
        None
        if min_ratio is None
        else _args.number(
            min_ratio,
            "min_ratio",
            where,
            low=0,
            high=1,
            low_open=True,
            why="a ratio min / max is never below 0: a bar of 0 or less could never fail",
        )
    )
    conf = s.confidence(confidence, where)
    min_size = s.count(
        min_group_size,
        "min_group_size",
        where,
        s.MIN_EXAMPLES,
        "a smaller group gives a bootstrap interval that proves nothing",
    )
    n_boot = s.count(n_boot, "n_boot", where, 100)
    seed = _args.seed(seed, where)
    g, labels, names = _groups(sensitive, n, where)
    k = len(labels)
    if k < 2:
        raise MltkUsageError(
            f"{where}: sensitive has one group ({labels[0]!r}): nothing to compare"
        )
    metric_name = metric if builtin else getattr(metric, "__name__", "metric")
    rng = np.random.default_rng(seed)
    if builtin:
        num, den = _rates(metric, t, p, g, k)
    else:
        den = np.bincount(g, minlength=k)
    base = {"tpr": "positives", "fpr": "negatives"}.get(metric_name, "rows") if builtin else "rows"
    small = [(labels[i], int(den[i])) for i in range(k) if den[i] < min_size]
    if small:
        shown = ", ".join(f"{lab!r} ({m} {base})" for lab, m in small[:5])
        nan_note = (
            "; missing values (NaN) in sensitive are a group of their own, never dropped: fill "
            "them or collect more"
            if any(lab == "NaN" or lab.endswith("=NaN") or "=NaN," in lab for lab, _ in small)
            else ""
        )
        raise MltkUsageError(
            f"{where}: sensitive has {len(small)} group(s) smaller than "
            f"min_group_size={min_size} {base}: {shown}{nan_note}; merge small groups, "
            f"collect more data{' or lower min_group_size' if min_size > s.MIN_EXAMPLES else ''}"
        )
    if builtin:
        rate = num / den
        boot = np.empty((n_boot, k))
        for start in range(0, n_boot, 512):
            stop = min(n_boot, start + 512)
            boot[start:stop] = rng.binomial(den, rate, size=(stop - start, k)) / den
    else:
        rate = np.empty(k)
        boot = np.empty((n_boot, k))
        order = np.argsort(g, kind="stable")
        starts = np.concatenate([[0], np.cumsum(den)])
        for i in range(k):
            idx = order[starts[i] : starts[i + 1]]
            ti, pi = t[idx], p[idx]
            rate[i] = float(metric(ti, pi))
            for b in range(n_boot):
                pick = rng.integers(0, len(idx), len(idx))
                boot[b, i] = float(metric(ti[pick], pi[pick]))
        if not np.isfinite(rate).all():
            bad = [labels[i] for i in range(k) if not math.isfinite(rate[i])]
            raise MltkUsageError(f"{where}: metric returned NaN or inf for group(s) {bad[:5]}")
    gap, ratio = (float(v) for v in _spread(rate))
    failed: list[str] = []
    problem = s.undefined(boot, f"{metric_name} of a group")
    if problem:  # NaN resamples are never dropped: no bound can be trusted
        failed.append(problem)
        pairs = k * (k - 1)
        gap_lo = gap_hi = ratio_lo = ratio_hi = math.nan
    else:
        (gap_lo, gap_hi), (ratio_lo, ratio_hi), pairs = _simultaneous(rate, boot, conf)
        if gap_bar is not None and not gap_lo <= gap_bar:
            failed.append(f"the gap is above {gap_bar:g} with {conf:.0%} confidence")
        if ratio_bar is not None and not ratio_hi >= ratio_bar:
            failed.append(
                "the ratio is undefined (the metric is 0 in every group)"
                if math.isnan(ratio)
                else f"the ratio is below {ratio_bar:g} with {conf:.0%} confidence"
            )
    rows = []
    for i in range(k):
        lo, hi = s.percentile(boot[:, i], conf)
        rows.append(
            {
                "group": labels[i],
                base: int(den[i]),
                metric_name: float(rate[i]),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    rows.sort(key=lambda r: -r[metric_name])
    # why it passes or fails, with the bound the verdict rests on: "gap <= 0.05: not
    # significantly above (95% bound 0.02-0.09)", never a bare "0.0632, required <= 0.05"
    gap_high = not (gap_lo <= gap_bar) if gap_bar is not None else False
    ratio_low = not (ratio_hi >= ratio_bar) if ratio_bar is not None else False
    bars = _bars(
        gap_bar is not None
        and f"gap <= {gap_bar:g}: {'' if gap_high else 'not '}significantly above "
        f"(gap {s.fmt(gap)}, interval {s.interval(gap_lo, gap_hi)})",
        ratio_bar is not None
        and f"ratio >= {ratio_bar:g}: {'' if ratio_low else 'not '}significantly below "
        f"(ratio {s.fmt(ratio)}, interval {s.interval(ratio_lo, ratio_hi)})",
        sep="; ",
    )
    details = {
        "metric": metric_name,
        "sensitive": names,
        "groups": rows,
        "gap": gap,
        "gap_ci": [gap_lo, gap_hi],
        "ratio": ratio,
        "ratio_ci": [ratio_lo, ratio_hi],
        "highest": rows[0]["group"],
        "lowest": rows[-1]["group"],
        "max_gap": gap_bar,
        "min_ratio": ratio_bar,
        "confidence": conf,
        "pairs": pairs,
        "n_boot": n_boot,
        "seed": seed,
        "min_group_size": min_size,
        "failed": failed,
    }
    # groups given as an array have no name: the gate is named by its metric alone
    by = "" if names == ["sensitive"] else f" by {'x'.join(names)}"
    return GateResult(
        name or f"fairness:{metric_name}{by}",
        "fairness",
        gap if gap_bar is not None else ratio,
        f"{bars} ({conf:.0%} one-sided bounds)" + (f" ({problem})" if problem else ""),
        not failed,
        details,
        rows=rows,
    )


def _body(result: GateResult) -> str:
    d = result.details
    metric = d["metric"]
    head = (
        f"{metric} by {' x '.join(d['sensitive']).replace('sensitive', 'group')}: highest "
        f"{d['highest']!r}, lowest "
        f"{d['lowest']!r}; gap {s.fmt(d['gap'])} {s.interval(*d['gap_ci'])}, ratio "
        f"{s.fmt(d['ratio'])} {s.interval(*d['ratio_ci'])} ({d['confidence']:.0%} bounds)"
    )
    if d["failed"]:
        head += "\nfailed because " + "; ".join(d["failed"])
    base = next(k for k in d["groups"][0] if k not in ("group", metric, "ci_low", "ci_high"))
    return head + "\n\n" + table(d["groups"], ["group", base, metric, "ci_low", "ci_high"])


@evidences("model-7")
def assert_fairness(
    y_true: Sequence[Any] | None,
    y_pred: Sequence[Any],
    sensitive: Any,
    *,
    metric: str | Callable[[Any, Any], float] = "selection_rate",
    max_gap: float | None = None,
    min_ratio: float | None = None,
    confidence: float = 0.95,
    min_group_size: int = 30,
    n_boot: int = 2000,
    seed: int = 0,
    name: str | None = None,
) -> GateResult:
    """Assert that a metric does not differ too much between groups of a sensitive attribute.

    ``metric`` is ``"selection_rate"`` (demographic parity; ``y_true`` may be None),
    ``"tpr"`` or ``"fpr"`` (equalised odds, one side each), ``"accuracy"``, or a callable
    ``(y_true, y_pred) -> float``; the built-in metrics take 0/1 decisions in ``y_pred``.
    ``sensitive`` is one column, or several (a DataFrame, a mapping of name -> column)
    whose combinations are the groups (intersectional groups). Missing values (NaN,
    None) are a group of their own, never dropped.

    Each group's metric gets a seeded bootstrap interval (groups keep their sizes), and
    so do the largest gap between groups (max - min) and the smallest ratio (min / max,
    the four-fifths rule is ``min_ratio=0.8``): bounds on every pair of groups,
    Bonferroni-corrected, so they hold together. The gate fails only when the evidence is
    clear: the gap is above ``max_gap`` even at its lower ``confidence`` bound, or the
    ratio below ``min_ratio`` even at its upper bound. A group smaller than
    ``min_group_size`` (in rows; in positives for tpr, negatives for fpr; 30 at the least)
    is a usage error: too small a group makes the gate blind. Bars that could never fail
    (``max_gap >= 1`` for a rate, ``min_ratio <= 0``) and two sensitive columns whose
    names read the same (``0`` and ``"0"``) are usage errors too; a resample on which a
    callable metric is undefined fails the gate. Evidences ML Test Score item model-7.

    Example::

        @pytest.mark.gate
        def test_approvals_are_fair(applicants, approved):
            assert_fairness(None, approved, applicants["sex"], min_ratio=0.8)
    """
    __tracebackhide__ = True
    result = fairness_report(
        y_true,
        y_pred,
        sensitive,
        metric=metric,
        max_gap=max_gap,
        min_ratio=min_ratio,
        confidence=confidence,
        min_group_size=min_group_size,
        n_boot=n_boot,
        seed=seed,
        name=name,
    )
    return _finish(
        result,
        _body(result),
        "The model treats the groups differently: look for features that stand in for the "
        "sensitive attribute, reweight the training data or set decision thresholds per "
        "group, and review the result with whoever owns fairness for this model.",
    )


def _sections(results: Results) -> list[Section]:
    out = []
    plt = s.pyplot()
    for r in results:
        d = r.get("details") or {}
        groups, metric = d.get("groups") or [], d.get("metric", "metric")
        if not groups:
            continue
        base = next(k for k in groups[0] if k not in ("group", metric, "ci_low", "ci_high"))
        rows = [
            [g["group"], g[base], s.fmt(g[metric]), s.interval(g["ci_low"], g["ci_high"])]
            for g in groups
        ]
        note = (
            f"{'pass' if r.get('passed') else 'FAIL'}: gap {s.fmt(d.get('gap'))} "
            f"{s.interval(*(d.get('gap_ci') or [None, None]))}, ratio {s.fmt(d.get('ratio'))} "
            f"{s.interval(*(d.get('ratio_ci') or [None, None]))}; required {r.get('threshold')}"
        )
        values = [g[metric] if g[metric] is not None else math.nan for g in groups]
        top = max([v for v in values if math.isfinite(v)] + [1e-12])
        text = "\n".join(
            f"{str(g['group'])[:24]:>24}  {s.bar(v, top)} {s.fmt(v)}"
            for g, v in zip(groups, values, strict=True)
        )
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(5, 0.4 * len(groups) + 1.2))
            labels = [str(g["group"]) for g in groups]
            lo = [
                v - (g["ci_low"] if g["ci_low"] is not None else v)
                for g, v in zip(groups, values, strict=True)
            ]
            hi = [
                (g["ci_high"] if g["ci_high"] is not None else v) - v
                for g, v in zip(groups, values, strict=True)
            ]
            ax.barh(labels, values, xerr=[lo, hi], capsize=3, color="#4c72b0")
            ax.invert_yaxis()
            ax.set_xlabel(metric)
            ax.set_title(str(r.get("name")))
            image = s.png(plt, fig)
        out.append(
            Section(
                f"Fairness: {r.get('name')}",
                text=text,
                header=("group", base, metric, f"{d.get('confidence', 0.95):.0%} bounds"),
                table=rows,
                image=image,
                note=note,
            )
        )
    return out


gate_renderer("fairness", sections=_sections)
