"""Weak-slice discovery: search single features and pairs of them for slices of the data
where the model is significantly worse than overall, correcting for the many slices
tested at once.

A slice is a feature's value (categorical features; the most frequent values, the rest
pooled), a quantile bin of a numeric feature, or the intersection of two of them. The
metric must be an average of per-example scores, so that every slice's mean and spread
are a few ``bincount`` calls over codes: the whole search is vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates.result import GateResult, _finish, gate_renderer
from mlops_testkit.reporting.results import Results, Section
from mlops_testkit.reporting.score import evidences

# name -> (higher is better, per-example score)
METRICS = ("accuracy", "mae", "mse", "brier", "log_loss")
WHERE = "find_weak_slices"


def _scores(metric: Any, t: Any, p: Any, where: str) -> tuple[Any, str, bool]:
    import numpy as np

    if callable(metric):
        label = getattr(metric, "__name__", "metric")
        try:
            values = np.asarray(metric(t, p), dtype=float)
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: metric {label!r} raised {type(exc).__name__}: {exc}"
            ) from None
        if values.shape != t.shape:
            raise MltkUsageError(
                f"{where}: a callable metric must return one score per example (higher is "
                f"better, e.g. lambda y, p: -abs(y - p)), got shape {values.shape}"
            )
        if not np.isfinite(values).all():
            raise MltkUsageError(f"{where}: metric {label!r} returned NaN or inf scores")
        return values, label, True
    if metric not in METRICS:
        raise MltkUsageError(
            f"{where}: unknown metric {metric!r}; expected one of {', '.join(METRICS)} or a "
            "callable (y_true, y_pred) -> one score per example (higher is better)"
        )
    if metric == "accuracy":
        s.labels(metric, t, p, where)
        return (t == p).astype(float), metric, True
    if metric == "mae":
        return np.abs(t - p), metric, False
    if metric == "mse":
        return (t - p) ** 2, metric, False
    if (p < 0).any() or (p > 1).any():
        raise MltkUsageError(
            f"{where}: {metric} needs probabilities in [0, 1] in y_pred, found values from "
            f"{p.min():.4g} to {p.max():.4g}; apply a sigmoid to scores first"
        )
    s.binary(t, "y_true", where)  # brier and log_loss score P(y=1) against 0/1 outcomes
    if metric == "brier":
        return (t - p) ** 2, metric, False
    q = np.clip(p, 1e-15, 1 - 1e-15)
    return -(t * np.log(q) + (1 - t) * np.log(1 - q)), metric, False


def _encode(
    X: Any, n: int, bins: int, max_categories: int, where: str
) -> list[tuple[str, Any, list[str]]]:
    """(feature, codes, labels of the codes) per feature; NaN is a value of its own."""
    import numpy as np

    out = []
    for name, col in s.columns(X, "X", where, n).items():
        arr = np.asarray(col)
        if arr.dtype.kind in "iuf" and len(np.unique(arr[np.isfinite(arr)])) > bins:
            x = arr.astype(float)
            finite = np.isfinite(x)
            edges = np.unique(np.quantile(x[finite], np.linspace(0, 1, bins + 1)))
            code = np.searchsorted(edges[1:-1], x, side="right")
            labels = [
                f"{name} in [{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == len(edges) - 2 else ')'}"
                for i in range(len(edges) - 1)
            ]
            if not finite.all():
                code = np.where(finite, code, len(labels))
                labels.append(f"{name} = NaN")
        else:
            code, values = s.codes(col)
            labels = [f"{name} = {v}" for v in values]
            if len(labels) > max_categories:
                counts = np.bincount(code, minlength=len(labels))
                keep = np.argsort(-counts, kind="stable")[: max_categories - 1]
                remap = np.full(len(labels), max_categories - 1)
                remap[keep] = np.arange(len(keep))
                code = remap[code]
                labels = [labels[i] for i in keep] + [f"{name} = (other values)"]
        out.append((name, np.asarray(code, dtype=np.int64), labels))
    return out


def _normal_sf(z: Any) -> Any:
    import numpy as np

    erfc = np.frompyfunc(math.erfc, 1, 1)
    return (0.5 * erfc(np.asarray(z, dtype=float) / math.sqrt(2))).astype(float)


def find_weak_slices(
    X: Any,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    metric: str | Callable[[Any, Any], Any],
    max_depth: int = 2,
    min_size: int = 50,
    max_gap: float = 0.0,
    alpha: float = 0.05,
    correction: str = "holm",
    bins: int = 4,
    max_categories: int = 20,
    top: int = 10,
    name: str | None = None,
) -> GateResult:
    """Find the slices where the model is significantly worse than overall.

    ``X`` holds the features to slice by (a DataFrame, a mapping or a 2-D array; they
    need not be the model's inputs). Numeric features with more than ``bins`` values
    are cut at their quantiles; other features slice by value (the ``max_categories``
    most frequent, the rest pooled); NaN is a value of its own. ``max_depth=2`` adds
    every pair of features. ``metric`` is accuracy (``y_pred`` are labels: scores are
    a usage error), mae, mse, brier or log_loss (``y_pred`` are probabilities in [0, 1],
    ``y_true`` 0/1 outcomes), or a callable returning one score per example, higher is
    better (``lambda y, p: -abs(y - p)``). Slices whose outcomes are harder to predict
    (nearer a coin flip) score worse on accuracy or Brier without the model being at
    fault; a signed residual such as ``lambda y, p: p - y`` asks instead where the model
    underestimates the outcome.

    Each slice of at least ``min_size`` examples (30 at the least), leaving at least as
    many out, is compared with the rest of the data (a one-sided Welch z-test that the
    slice trails the overall metric by more than ``max_gap``); the p-values are
    corrected for the number of slices (``correction``: holm, bh, bonferroni). The
    result lists the ``top`` slices, weak ones first, and fails when any slice is weak
    at ``alpha``. Use :func:`assert_no_weak_slices` in a test. Evidences ML Test Score
    item model-6 (when asserted).

    Example::

        result = find_weak_slices(holdout[["region", "age"]], y, proba, metric="brier")
        for row in result.rows[:3]:
            print(row["slice"], row["gap"], row["p_adjusted"])
    """
    import numpy as np

    from mlops_testkit.data.drift_stats import CORRECTIONS, adjusted_p_values

    where = WHERE
    t = s.vector(y_true, "y_true", where)
    p = s.vector(y_pred, "y_pred", where, len(t))
    n = len(t)
    score, metric_name, higher = _scores(metric, t, p, where)
    depth = s.count(max_depth, "max_depth", where)
    if depth > 2:
        raise MltkUsageError(f"{where}: max_depth must be 1 or 2, got {max_depth}")
    min_n = s.count(
        min_size,
        "min_size",
        where,
        s.MIN_EXAMPLES,
        "the z-test of a slice against the rest needs that many examples on each side",
    )
    bounded = metric_name in ("accuracy", "brier") and isinstance(metric, str)
    gap_bar = _args.number(
        max_gap,
        "max_gap",
        where,
        low=0,
        high=1 if bounded else None,
        high_open=True,
        why=f"{metric_name} scores lie in [0, 1]: a gap of 1 or more could never be exceeded",
    )
    level = _args.number(alpha, "alpha", where)
    if not 0 < level < 1:
        raise MltkUsageError(f"{where}: alpha must be in (0, 1), got {alpha}")
    if correction not in CORRECTIONS or correction == "none":
        raise MltkUsageError(
            f"{where}: correction must be holm, bh or bonferroni, got {correction!r}"
        )
    features = _encode(
        X,
        n,
        s.count(bins, "bins", where, 2),
        s.count(max_categories, "max_categories", where, 2),
        where,
    )
    sign = 1.0 if higher else -1.0
    good = sign * score  # higher is better from here on
    total, total_sq = float(good.sum()), float((good**2).sum())
    labels: list[str] = []
    parts: list[tuple[Any, Any, Any]] = []

    def add(code: Any, size: int, names: list[str]) -> None:
        cnt = np.bincount(code, minlength=size).astype(float)
        sm = np.bincount(code, weights=good, minlength=size)
        sq = np.bincount(code, weights=good**2, minlength=size)
        keep = np.flatnonzero((cnt >= min_n) & (cnt <= n - min_n))
        parts.append((cnt[keep], sm[keep], sq[keep]))
        labels.extend(names[i] for i in keep)

    for _, code, names in features:
        add(code, len(names), names)
    if depth == 2:
        for i in range(len(features)):
            _, ci, ni = features[i]
            for j in range(i + 1, len(features)):
                _, cj, nj = features[j]
                add(
                    ci * len(nj) + cj,
                    len(ni) * len(nj),
                    [f"{a} & {b}" for a in ni for b in nj],
                )
    cnt = np.concatenate([c for c, _, _ in parts])
    if not len(cnt):
        raise MltkUsageError(
            f"{where}: no slice has at least min_size={min_n} examples and leaves as many "
            f"out (its rest) among {n} examples; "
            + ("lower min_size or pass more data" if min_n > s.MIN_EXAMPLES else "pass more data")
        )
    sm = np.concatenate([x for _, x, _ in parts])
    sq = np.concatenate([x for _, _, x in parts])
    rest_n = n - cnt
    mean_s, mean_r = sm / cnt, (total - sm) / rest_n
    var_s = np.maximum(sq - cnt * mean_s**2, 0.0) / np.maximum(cnt - 1, 1)
    var_r = np.maximum((total_sq - sq) - rest_n * mean_r**2, 0.0) / np.maximum(rest_n - 1, 1)
    overall = total / n
    gap = overall - mean_s  # how far the slice trails the overall metric (good direction)
    # gap > max_gap  <=>  mean_rest - mean_slice > max_gap * n / rest_n
    excess = (mean_r - mean_s) - gap_bar * n / rest_n
    se = np.sqrt(var_s / cnt + var_r / rest_n)
    with np.errstate(divide="ignore", invalid="ignore"):
        # no spread on either side: a slice that trails is certain, one that does not is not
        z = np.where(
            se > 0, excess / np.where(se > 0, se, 1.0), np.where(excess > 0, np.inf, -np.inf)
        )
    p_raw = _normal_sf(z)
    p_adj = np.asarray(adjusted_p_values(p_raw.tolist(), correction))
    weak = p_adj < level
    order = np.lexsort((-gap, p_adj))
    rows = []
    for i in order[: max(top, int(weak.sum()))]:
        rows.append(
            {
                "slice": labels[i],
                "size": int(cnt[i]),
                metric_name: float(sign * mean_s[i]),
                "gap": float(gap[i]),
                "p_adjusted": float(p_adj[i]),
                "verdict": "WEAK" if weak[i] else "ok",
            }
        )
    n_weak = int(weak.sum())
    details = {
        "metric": metric_name,
        "overall": float(sign * overall),
        "candidates": len(cnt),
        "weak": n_weak,
        "max_gap": gap_bar,
        "alpha": level,
        "correction": correction,
        "min_size": min_n,
        "max_depth": depth,
        "features": [f for f, _, _ in features],
        "slices": rows,
    }
    return GateResult(
        name or f"weak slices: {metric_name}",
        "weak_slices",
        float(gap[weak].max()) if n_weak else float(gap.max()),
        f"no slice worse than overall by more than {gap_bar:g} (alpha {level:g}, "
        f"{correction} over {len(cnt)} slices)",
        n_weak == 0,
        details,
        rows=rows,
    )


@evidences("model-6")
def assert_no_weak_slices(
    X: Any,
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    metric: str | Callable[[Any, Any], Any],
    max_gap: float = 0.0,
    max_depth: int = 2,
    min_size: int = 50,
    alpha: float = 0.05,
    correction: str = "holm",
    bins: int = 4,
    max_categories: int = 20,
    top: int = 10,
    name: str | None = None,
) -> GateResult:
    """Assert that no slice of the data is significantly worse than overall by more than
    ``max_gap`` (see :func:`find_weak_slices`). Evidences ML Test Score item model-6.

    Example::

        @pytest.mark.gate
        def test_no_weak_slice(holdout, proba):
            assert_no_weak_slices(
                holdout[["region", "age", "income"]], holdout["defaulted"], proba,
                metric="brier", max_gap=0.02,
            )
    """
    __tracebackhide__ = True
    result = find_weak_slices(
        X,
        y_true,
        y_pred,
        metric=metric,
        max_depth=max_depth,
        min_size=min_size,
        max_gap=max_gap,
        alpha=alpha,
        correction=correction,
        bins=bins,
        max_categories=max_categories,
        top=top,
        name=name,
    )
    d = result.details
    body = (
        f"{d['weak']} of {d['candidates']} slices are weak (overall {d['metric']} "
        f"{d['overall']:.4g}; alpha {d['alpha']:g}, {d['correction']})\n\n"
        + table(result.rows, ["slice", "size", d["metric"], "gap", "p_adjusted", "verdict"])
    )
    return _finish(
        result,
        body,
        "The model is worse on these slices: check their labels and features for bugs, "
        "collect or reweight data for them, or add a feature that tells them apart.",
    )


def _sections(results: Results) -> list[Section]:
    out = []
    plt = s.pyplot()
    for r in results:
        d = r.get("details") or {}
        rows = [x for x in d.get("slices") or [] if x.get("gap") is not None][:10]
        if not rows:
            continue
        gaps = [float(x["gap"]) for x in rows]
        top = max([*gaps, 1e-12])
        text = "\n".join(
            f"{str(x['slice'])[:40]:>40}  {s.bar(g, top)} {g:.4g} {x['verdict']}"
            for x, g in zip(rows, gaps, strict=True)
        )
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(6, 0.35 * len(rows) + 1.2))
            colors = ["#c44e52" if x["verdict"] == "WEAK" else "#8c8c8c" for x in rows]
            ax.barh([str(x["slice"])[:40] for x in rows], gaps, color=colors)
            ax.invert_yaxis()
            if d.get("max_gap"):
                ax.axvline(d["max_gap"], color="red", linestyle="--", label="max gap")
                ax.legend()
            ax.set_xlabel(f"gap to overall {d.get('metric')} (worse ->)")
            ax.set_title(str(r.get("name")))
            image = s.png(plt, fig)
        out.append(
            Section(
                f"Weak slices: {r.get('name')}",
                text=text,
                header=("slice", "size", str(d.get("metric")), "gap", "p (adjusted)", "verdict"),
                table=[
                    [
                        x["slice"],
                        x["size"],
                        s.fmt(x.get(d.get("metric"))),
                        s.fmt(x["gap"]),
                        s.fmt(x["p_adjusted"]),
                        x["verdict"],
                    ]
                    for x in rows
                ],
                image=image,
                note=(
                    f"{d.get('weak')} weak of {d.get('candidates')} slices; overall "
                    f"{d.get('metric')} {s.fmt(d.get('overall'))}; {r.get('threshold')}"
                ),
            )
        )
    return out


gate_renderer("weak_slices", sections=_sections)
