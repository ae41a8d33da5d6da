"""Slices: the model is good enough on every segment of the data."""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support
from mlops_testkit.gates.result import (
    GateResult,
    _bars,
    _finish,
    _number,
    gate_renderer,
    report_twin,
)
from mlops_testkit.reporting.score import evidences

# --- slices ----------------------------------------------------------------------------------

HIGHER_IS_BETTER = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "mae": False,
    "rmse": False,
}


def _metric_fn(
    metric: str | Callable[[Any, Any], float],
) -> tuple[Callable[[Any, Any], float], str, bool]:
    import numpy as np

    if callable(metric):
        return metric, getattr(metric, "__name__", "metric"), True
    if metric not in HIGHER_IS_BETTER:
        raise MltkUsageError(
            f"assert_slices: unknown metric {metric!r}; expected a callable (y_true, y_pred) -> "
            f"float or one of {', '.join(HIGHER_IS_BETTER)}"
        )

    def confusion(t: Any, p: Any) -> tuple[float, float, float]:
        tp = float(np.sum((t == 1) & (p == 1)))
        return tp, float(np.sum((t == 0) & (p == 1))), float(np.sum((t == 1) & (p == 0)))

    def precision(t: Any, p: Any) -> float:
        tp, fp, _ = confusion(t, p)
        return tp / (tp + fp) if tp + fp else 0.0

    def recall(t: Any, p: Any) -> float:
        tp, _, fn = confusion(t, p)
        return tp / (tp + fn) if tp + fn else 0.0

    def f1(t: Any, p: Any) -> float:
        pr, rc = precision(t, p), recall(t, p)
        return 2 * pr * rc / (pr + rc) if pr + rc else 0.0

    def roc_auc(t: Any, s: Any) -> float:
        t = t.astype(bool)
        order = np.argsort(s, kind="mergesort")
        ranks = np.empty(len(s))
        sorted_s = s[order]
        # average ranks for ties
        _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
        avg = first + (counts + 1) / 2.0
        ranks[order] = np.repeat(avg, counts)
        n_pos, n_neg = t.sum(), (~t).sum()
        if not n_pos or not n_neg:
            return math.nan
        return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))

    fns = {
        "accuracy": lambda t, p: float(np.mean(t == p)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc,
        "mae": lambda t, p: float(np.mean(np.abs(t - p))),
        "rmse": lambda t, p: float(np.sqrt(np.mean((t - p) ** 2))),
    }
    return fns[metric], metric, HIGHER_IS_BETTER[metric]


MISSING_SLICE = "(missing)"


def _labels_and_predictions(y_true: Any, y_pred: Any, where: str) -> tuple[Any, Any]:
    """1-D arrays of the same non-zero length; 2-D probabilities are refused clearly."""
    import numpy as np

    try:
        t, p = np.asarray(y_true), np.asarray(y_pred)
    except (TypeError, ValueError) as exc:
        raise MltkUsageError(f"{where}: y_true and y_pred must be arrays: {exc}") from None
    if p.ndim == 2:
        hint = " (for binary probabilities pass proba[:, 1])" if p.shape[1] == 2 else ""
        raise MltkUsageError(
            f"{where}: y_pred must be 1-D (one label or score per example), got shape "
            f"{p.shape}{hint}"
        )
    if t.ndim != 1 or p.ndim != 1:
        raise MltkUsageError(
            f"{where}: y_true and y_pred must be 1-D, got shapes {t.shape} and {p.shape}"
        )
    if t.shape[0] != p.shape[0] or t.shape[0] == 0:
        raise MltkUsageError(
            f"{where}: y_true and y_pred must have the same, non-zero length "
            f"({t.shape[0]} vs {p.shape[0]})"
        )
    if t.dtype.kind in "fc" and not np.isfinite(t).all():
        raise MltkUsageError(
            f"{where}: y_true holds {int((~np.isfinite(t)).sum())} NaN/inf label(s); drop or "
            "fix those rows"
        )
    return t, p


def _nonfinite(p: Any) -> Any:
    import numpy as np

    if p.dtype.kind in "fc":
        return ~np.isfinite(p)
    return np.zeros(p.shape[0], dtype=bool)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or str(value) in ("<NA>", "NaT")
    except (TypeError, ValueError):
        return False


def _slice_masks(segments: Any, n: int, where: str) -> dict[str, Any]:
    """One boolean mask per slice; missing segment values form a slice of their own."""
    import numpy as np

    from mlops_testkit.reporting.results import display

    if isinstance(segments, Mapping):
        masks = {}
        for k, v in segments.items():
            mask = np.asarray(v)
            if mask.dtype != bool or mask.ndim != 1:
                raise MltkUsageError(
                    f"{where}: the mask of slice {display(k)!r} must be a 1-D array of booleans, "
                    f"got {mask.dtype} of shape {mask.shape}"
                )
            masks[display(k)] = mask
    else:
        try:
            seg = np.asarray(segments, dtype=object)
        except (TypeError, ValueError) as exc:
            raise MltkUsageError(f"{where}: segments must be a sequence: {exc}") from None
        if seg.ndim != 1:
            raise MltkUsageError(f"{where}: segments must be 1-D, got shape {seg.shape}")
        labels = np.array(
            [MISSING_SLICE if _is_missing(v) else display(v) for v in seg.tolist()], dtype=object
        )
        masks = {key: labels == key for key in dict.fromkeys(labels.tolist())}
    if not masks:
        raise MltkUsageError(f"{where}: segments define no slice")
    for key, mask in masks.items():
        if mask.shape != (n,):
            raise MltkUsageError(
                f"{where}: the mask of slice {key!r} has {mask.shape[0]} entries for {n} examples"
            )
    return masks


def _safe_metric(fn: Any, t: Any, p: Any, name: str, where: str) -> float:
    try:
        value = fn(t, p)
    except Exception as exc:
        raise MltkUsageError(
            f"{where}: metric {name!r} raised {type(exc).__name__}: {exc}"
        ) from exc
    try:
        return float(value)
    except (TypeError, ValueError):
        raise MltkUsageError(
            f"{where}: metric {name!r} returned {value!r}, not a number"
        ) from None


@evidences("model-6")
def assert_slices(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    segments: Any,
    *,
    metric: str | Callable[[Any, Any], float],
    min: float | None = None,
    max: float | None = None,
    max_gap: float | None = None,
    min_size: int = 30,
    name: str | None = None,
) -> GateResult:
    """Assert that the model is good enough on every slice (segment) of the data.

    ``segments`` gives each example's slice (a sequence, or a mapping slice name ->
    boolean mask). ``metric`` is a callable ``(y_true, y_pred) -> float`` or one of
    accuracy, precision, recall, f1, roc_auc (``y_pred`` are scores), mae, rmse. A slice
    fails below ``min``, above ``max`` (the bar for error metrics such as mae), or
    when it trails the overall metric by more than ``max_gap`` (in the metric's good
    direction). Slices under ``min_size`` examples are listed, not
    judged.

    Example::

        @pytest.mark.gate
        def test_every_region(y, proba, regions):
            assert_slices(y, proba, regions, metric="roc_auc", min=0.7, max_gap=0.05)
    """
    __tracebackhide__ = True

    where = "assert_slices"
    fn, metric_name, higher = _metric_fn(metric)
    t, p = _labels_and_predictions(y_true, y_pred, where)
    if isinstance(metric, str):  # scores where labels are compared: every slice scores 0
        _support.labels(metric_name, t, p, where)
    if min is None and max is None and max_gap is None:
        raise MltkUsageError(f"{where}: give min=, max= and/or max_gap=")
    lo = None if min is None else _number(min, "min", where)
    hi = None if max is None else _number(max, "max", where)
    bounded = isinstance(metric, str) and metric_name in _support.BOUNDED
    gap_max = (
        None
        if max_gap is None
        else _args.number(
            max_gap,
            "max_gap",
            where,
            low=0,
            high=1 if bounded else None,
            high_open=True,
            why=f"{metric_name} lies in [0, 1]: a gap of 1 or more could never be exceeded",
        )
    )
    min, max, max_gap = lo, hi, gap_max
    if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 1:
        raise MltkUsageError(f"{where}: min_size must be a positive integer, got {min_size!r}")
    masks = _slice_masks(segments, t.shape[0], where)
    nonfinite = _nonfinite(p)
    overall = _safe_metric(fn, t, p, metric_name, where)
    rows, failing = [], 0
    for key, mask in masks.items():
        size = int(mask.sum())
        row: dict[str, Any] = {
            "slice": key,
            "size": size,
            metric_name: math.nan,
            "gap": math.nan,
            "verdict": "too small",
        }
        if size >= min_size:
            value = _safe_metric(fn, t[mask], p[mask], metric_name, where)
            gap = (overall - value) if higher else (value - overall)
            bad = (
                not math.isfinite(value)
                or bool(nonfinite[mask].any())
                or (min is not None and value < min)
                or (max is not None and value > max)
                or (max_gap is not None and gap > max_gap)
            )
            verdict = "FAIL" if bad else "ok"
            if nonfinite[mask].any():
                verdict = f"FAIL ({int(nonfinite[mask].sum())} NaN/inf predictions)"
            elif not math.isfinite(value):
                verdict = "FAIL (metric is NaN)"
            row.update({metric_name: value, "gap": gap, "verdict": verdict})
            failing += bool(bad)
        rows.append(row)
    rows.sort(
        key=lambda r: (
            not r["verdict"].startswith("FAIL"),
            r["verdict"] == "too small",
            r["slice"],
        )
    )
    bars = _bars(
        min is not None and f"each slice >= {min:g}",
        max is not None and f"each slice <= {max:g}",
        max_gap is not None and f"gap to overall <= {max_gap:g}",
        sep="; ",
    )
    judged = [r for r in rows if r["verdict"] != "too small"]
    finite = [r[metric_name] for r in judged if math.isfinite(r[metric_name])]
    worst = (builtins.min if higher else builtins.max)(finite, default=None)
    if len(finite) < len(judged):
        worst = math.nan  # a NaN slice is the worst slice: the gate fails
    result = GateResult(
        name or f"slices:{metric_name}",
        "slices",
        worst,
        bars,
        failing == 0,
        {
            "overall": overall,
            "slices": rows,
            "metric": metric_name,
            "min_size": min_size,
            "min": min,
            "max": max,
            "max_gap": max_gap,
        },
    )
    if not judged:
        result.passed = False
        result.threshold += f" (no slice has {min_size}+ examples: nothing was judged)"
    elif len(judged) < 2 and min is None and max is None:
        result.passed = False  # one slice's gap to the overall metric compares nothing
        result.threshold += " (only one slice judged: its gap to overall compares nothing)"
    body = (
        f"overall {metric_name} {overall:.4g}; {failing} of {len(judged)} judged slice(s) failed"
        + (f"; {int(nonfinite.sum())} prediction(s) are NaN/inf" if nonfinite.any() else "")
        + "\n\n"
        + table(rows, ["slice", "size", metric_name, "gap", "verdict"])
    )
    return _finish(
        result,
        body,
        "Collect more data for the failing slices or reweight them; check them for label or feature bugs.",
    )


def _sections(results: list[dict[str, Any]]) -> list[Any]:
    from mlops_testkit.reporting.plots import bars
    from mlops_testkit.reporting.results import Section, short_test

    out = []
    for gate in results:
        details = gate.get("details") or {}
        metric = details.get("metric")
        rows = [
            (str(r.get("slice")), float(r[metric]))
            for r in details.get("slices") or []
            if isinstance(r.get(metric), int | float) and r[metric] == r[metric]
        ]
        if not rows:
            continue
        bar_min = details.get("min")
        image, text = bars(
            [n for n, _ in rows],
            [v for _, v in rows],
            title=str(gate.get("name")),
            threshold=bar_min,
            threshold_label=f"min {bar_min:g}" if bar_min is not None else "threshold",
        )
        out.append(
            Section(
                f"Slices: {gate.get('name')}",
                text=text,
                image=image,
                note=f"test: {short_test(gate)}",
            )
        )
    return out


gate_renderer("slices", sections=_sections)


slices_report = report_twin(assert_slices, "slices_report")
