"""Quality gates: metric bars, no regression against the champion, slices, budgets.

Every gate returns a :class:`GateResult` and, inside a pytest test, records it; the
plugin attaches the test's results to its report (so they reach the xdist controller)
and ``--mltk-gate-report PATH`` writes all of them as JSON with a content hash: the
file the deploy stage trusts (``mlops-testkit gate PATH``).
"""

from __future__ import annotations

import builtins
import contextvars
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import message, table
from mlops_testkit.score import evidences


@dataclass
class GateResult:
    """One gate's verdict: what was measured against what."""

    name: str
    kind: str  # metric, regression, slices, latency, size, memory, endpoint
    value: float | None
    threshold: str
    passed: bool
    details: dict[str, Any] = field(default_factory=dict)
    test_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# The plugin sets this around each test call; outside pytest nothing is recorded.
_RECORDER: contextvars.ContextVar[tuple[str, list[GateResult]] | None] = contextvars.ContextVar(
    "mltk_gate_recorder", default=None
)


def _record(result: GateResult) -> GateResult:
    current = _RECORDER.get()
    if current is not None:
        result.test_id = current[0]
        current[1].append(result)
    return result


def _finish(result: GateResult, body: str | None, hint: str) -> GateResult:
    __tracebackhide__ = True
    _record(result)
    if not result.passed:
        shown = "-" if result.value is None else f"{result.value:.6g}"
        raise AssertionError(
            message(
                f"gate {result.name!r} failed: {shown}, required {result.threshold}", body, hint
            )
        )
    return result


def _bars(*parts: str | bool, sep: str = " and ") -> str:
    """The thresholds that were given, joined: ``_bars(lo is not None and f">= {lo}", ...)``."""
    return sep.join(p for p in parts if p)


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MltkUsageError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)


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
    candidate - baseline is below -tolerance). ``baseline=None`` (no champion yet, a
    first deployment) skips the test with that reason.

    Example::

        @pytest.mark.gate
        def test_not_worse_than_champion(candidate_auc, champion_auc):
            assert_no_regression("auc", candidate_auc, champion_auc, tolerance=0.005)
    """
    __tracebackhide__ = True
    import pytest

    where = "assert_no_regression"
    if baseline is None:
        pytest.skip(f"{name}: no baseline (first deployment): nothing to regress from")
    cand, base = _number(candidate, "candidate", where), _number(baseline, "baseline", where)
    tol = _number(tolerance, "tolerance", where)
    if tol < 0:
        raise MltkUsageError(f"{where}: tolerance must be >= 0, got {tolerance}")
    allowed = tol * abs(base) if relative else tol
    sign = 1.0 if higher_is_better else -1.0
    details: dict[str, Any] = {"baseline": base, "allowed_loss": allowed}
    if (candidate_scores is None) != (baseline_scores is None):
        raise MltkUsageError(
            f"{where}: pass both candidate_scores and baseline_scores, or neither"
        )
    if candidate_scores is not None:
        import numpy as np

        c = np.asarray(candidate_scores, dtype=float)
        b = np.asarray(baseline_scores, dtype=float)
        if c.shape != b.shape or c.ndim != 1 or len(c) < 2:
            raise MltkUsageError(
                f"{where}: per-example scores must be two 1-D sequences of the same length "
                f"(>= 2), got {c.shape} and {b.shape}"
            )
        if not (np.isfinite(c).all() and np.isfinite(b).all()):
            raise MltkUsageError(f"{where}: per-example scores contain NaN or inf")
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
    import numpy as np

    where = "assert_slices"
    fn, metric_name, higher = _metric_fn(metric)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape[0] != p.shape[0] or t.shape[0] == 0:
        raise MltkUsageError(
            f"{where}: y_true and y_pred must have the same, non-zero length ({t.shape[0]} vs {p.shape[0]})"
        )
    if min is None and max is None and max_gap is None:
        raise MltkUsageError(f"{where}: give min=, max= and/or max_gap=")
    if isinstance(segments, Mapping):
        masks = {str(k): np.asarray(v, dtype=bool) for k, v in segments.items()}
    else:
        seg = np.asarray(segments, dtype=object)
        if seg.shape[0] != t.shape[0]:
            raise MltkUsageError(
                f"{where}: segments has {seg.shape[0]} entries for {t.shape[0]} examples"
            )
        masks = {str(v): seg == v for v in dict.fromkeys(seg.tolist())}
    for key, mask in masks.items():
        if mask.shape[0] != t.shape[0]:
            raise MltkUsageError(
                f"{where}: the mask of slice {key!r} has {mask.shape[0]} entries for {t.shape[0]} examples"
            )
    overall = fn(t, p)
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
            value = fn(t[mask], p[mask])
            gap = (overall - value) if higher else (value - overall)
            bad = (
                (min is not None and value < min)
                or (max is not None and value > max)
                or (max_gap is not None and gap > max_gap)
            )
            row.update({metric_name: value, "gap": gap, "verdict": "FAIL" if bad else "ok"})
            failing += bool(bad)
        rows.append(row)
    rows.sort(key=lambda r: (r["verdict"] != "FAIL", r["verdict"] == "too small", r["slice"]))
    bars = _bars(
        min is not None and f"each slice >= {min:g}",
        max is not None and f"each slice <= {max:g}",
        max_gap is not None and f"gap to overall <= {max_gap:g}",
        sep="; ",
    )
    judged = [r for r in rows if r["verdict"] != "too small"]
    worst = (builtins.min if higher else builtins.max)(
        (r[metric_name] for r in judged), default=None
    )
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
    body = (
        f"overall {metric_name} {overall:.4g}; {failing} of {len(judged)} judged slice(s) failed\n\n"
        + table(rows, ["slice", "size", metric_name, "gap", "verdict"])
    )
    return _finish(
        result,
        body,
        "Collect more data for the failing slices or reweight them; check them for label or feature bugs.",
    )


# --- budgets ---------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


@evidences("mon-6")
def assert_latency(
    predict: Callable[[Any], Any],
    batch: Any,
    *,
    p50_ms: float | None = None,
    p95_ms: float | None = None,
    warmup: int = 5,
    repeats: int = 25,
    rounds: int = 8,
    name: str = "latency",
) -> GateResult:
    """Assert the latency of ``predict(batch)``: p50 and/or p95 in milliseconds.

    Runs ``warmup`` untimed calls (caches, lazy initialisation, JIT), then ``rounds``
    rounds of ``repeats`` timed calls. Each percentile is the median over the rounds of
    that round's percentile: a burst of noise from the machine spoils one round, not
    the verdict. Reports p50, p95, p99, the per-round p95s and throughput (rows per
    second at the median). Stability on this project's CI machines is measured by
    ``benchmarks/bench_gates.py``.

    Example::

        @pytest.mark.gate
        def test_latency_budget(model, batch_of_32):
            assert_latency(model.predict, batch_of_32, p95_ms=20)
    """
    __tracebackhide__ = True
    import statistics

    where = "assert_latency"
    if not callable(predict):
        raise MltkUsageError(f"{where}: predict must be callable")
    for label, v, least in (("warmup", warmup, 0), ("repeats", repeats, 5), ("rounds", rounds, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise MltkUsageError(f"{where}: {label} must be an integer >= {least}, got {v!r}")
    if p50_ms is None and p95_ms is None:
        raise MltkUsageError(f"{where}: give p50_ms= and/or p95_ms=")
    for _ in range(warmup):
        predict(batch)
    per_round: dict[int, list[float]] = {50: [], 95: [], 99: []}
    for _ in range(rounds):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict(batch)
            times.append((time.perf_counter() - start) * 1000)
        for q in per_round:
            per_round[q].append(_percentile(times, q))
    p50, p95, p99 = (statistics.median(per_round[q]) for q in (50, 95, 99))
    rows = len(batch) if hasattr(batch, "__len__") else 1
    details = {
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "rows_per_s": rows / (p50 / 1000) if p50 else math.inf,
        "round_p95_ms": per_round[95],
        "warmup": warmup,
        "repeats": repeats,
        "rounds": rounds,
        "batch_rows": rows,
    }
    passed = (p50_ms is None or p50 <= p50_ms) and (p95_ms is None or p95 <= p95_ms)
    bars = _bars(
        p50_ms is not None and f"p50 <= {p50_ms:g} ms",
        p95_ms is not None and f"p95 <= {p95_ms:g} ms",
    )
    shown = ["p50_ms", "p95_ms", "p99_ms", "rows_per_s"]
    body = table([{k: details[k] for k in shown}], shown)
    return _finish(
        GateResult(name, "latency", p95 if p95_ms is not None else p50, bars, passed, details),
        body,
        "Profile predict (batching, model size, preprocessing), or raise the budget in review.",
    )


@evidences("mon-6")
def assert_model_size(
    model_or_path: Any,
    *,
    max_mb: float | None = None,
    max_params: int | None = None,
    name: str = "model size",
) -> GateResult:
    """Assert a model's size: megabytes (parameters and buffers of a torch module, or the
    file/folder on disk) and/or parameter count.

    Example::

        @pytest.mark.gate
        def test_fits_on_the_edge_device(model):
            assert_model_size(model, max_mb=50, max_params=5_000_000)
    """
    __tracebackhide__ = True
    where = "assert_model_size"
    if max_mb is None and max_params is None:
        raise MltkUsageError(f"{where}: give max_mb= and/or max_params=")
    params = None
    if isinstance(model_or_path, str | Path):
        path = Path(model_or_path)
        if not path.exists():
            raise MltkUsageError(f"{where}: {path} does not exist")
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
    elif hasattr(model_or_path, "parameters") and hasattr(model_or_path, "buffers"):
        tensors = [*model_or_path.parameters(), *model_or_path.buffers()]
        size = sum(t.numel() * t.element_size() for t in tensors)
        params = sum(p.numel() for p in model_or_path.parameters())
    else:
        raise MltkUsageError(
            f"{where}: expected a torch.nn.Module or a path, got {type(model_or_path).__name__}"
        )
    if max_params is not None and params is None:
        raise MltkUsageError(f"{where}: max_params needs a torch.nn.Module, not a file")
    mb = size / 1e6
    passed = (max_mb is None or mb <= max_mb) and (max_params is None or params <= max_params)  # type: ignore[operator]
    bars = _bars(
        max_mb is not None and f"<= {max_mb:g} MB",
        max_params is not None and f"<= {max_params:,} parameters",
    )
    details = {"mb": mb, "parameters": params}
    return _finish(
        GateResult(name, "size", mb, bars, passed, details),
        table([details], ["mb", "parameters"]),
        "Prune, quantise or distil the model, or raise the budget in review.",
    )


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            import os

            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None


@evidences("mon-6")
def assert_peak_memory(
    fn: Callable[[], Any], *, max_mb: float, name: str = "peak memory"
) -> GateResult:
    """Assert the extra peak memory of ``fn()``: the larger of Python allocations
    (tracemalloc, numpy included) and resident-set growth sampled every millisecond
    (native allocations, e.g. torch on the CPU); on CUDA also torch's peak allocation.

    Example::

        @pytest.mark.gate
        def test_scoring_fits_in_memory(model, big_batch):
            assert_peak_memory(lambda: model.predict(big_batch), max_mb=500)
    """
    __tracebackhide__ = True
    import sys
    import threading
    import tracemalloc

    where = "assert_peak_memory"
    if not callable(fn):
        raise MltkUsageError(f"{where}: fn must be a callable taking no argument")
    limit = _number(max_mb, "max_mb", where)
    torch = sys.modules.get("torch")
    cuda = torch is not None and torch.cuda.is_available()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        cuda_before = torch.cuda.memory_allocated()
    base_rss = _rss_mb()
    peak_rss = [base_rss or 0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            now = _rss_mb()
            if now is not None and now > peak_rss[0]:
                peak_rss[0] = now
            stop.wait(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    sampler.start()
    try:
        fn()
    finally:
        stop.set()
        sampler.join()
        traced = (tracemalloc.get_traced_memory()[1] - before) / 1e6
        if not was_tracing:
            tracemalloc.stop()
    rss = (peak_rss[0] - base_rss) if base_rss is not None else 0.0
    details = {"traced_mb": traced, "rss_growth_mb": rss}
    if cuda:
        details["cuda_mb"] = (torch.cuda.max_memory_allocated() - cuda_before) / 1e6
    peak = builtins.max(details.values())
    return _finish(
        GateResult(name, "memory", peak, f"<= {limit:g} MB", peak <= limit, details),
        table([details], list(details)),
        "Process in smaller batches, free intermediates, or raise the budget in review.",
    )


@evidences("infra-6", "mon-6")
def assert_endpoint(
    url: str,
    payload: Any,
    *,
    p95_ms: float | None = None,
    min_qps: float | None = None,
    requests: int = 200,
    concurrency: int = 4,
    timeout_s: float = 10.0,
    max_seconds: float = 60.0,
    name: str = "endpoint",
) -> GateResult:
    """Load-test a served model over HTTP, as Apache Bench is used for prediction
    services: ``requests`` POSTs of the JSON ``payload`` with ``concurrency`` clients,
    each bounded by ``timeout_s``, the whole run by ``max_seconds``. Reports p50/p95/p99,
    QPS and errors; any error fails the gate.

    Example::

        @pytest.mark.gate
        def test_serving_budget(served_model_url, example_request):
            assert_endpoint(served_model_url + "/invocations", example_request, p95_ms=50, min_qps=100)
    """
    __tracebackhide__ = True
    import json
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    where = "assert_endpoint"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise MltkUsageError(f"{where}: url must start with http:// or https://, got {url!r}")
    if p95_ms is None and min_qps is None:
        raise MltkUsageError(f"{where}: give p95_ms= and/or min_qps=")
    for label, v in (("requests", requests), ("concurrency", concurrency)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise MltkUsageError(f"{where}: {label} must be a positive integer, got {v!r}")
    body = json.dumps(payload).encode()
    deadline = time.monotonic() + max_seconds

    def one(_: int) -> tuple[float | None, str | None]:
        if time.monotonic() > deadline:
            return None, "skipped: max_seconds reached"
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        return (time.perf_counter() - start) * 1000, None

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(requests)))
    elapsed = time.perf_counter() - started
    latencies = [ms for ms, err in outcomes if err is None]
    errors = [err for _, err in outcomes if err is not None]
    details: dict[str, Any] = {
        "requests": requests,
        "ok": len(latencies),
        "errors": len(errors),
        "qps": len(latencies) / elapsed if elapsed else 0.0,
    }
    if latencies:
        details.update({f"p{q}_ms": _percentile(latencies, q) for q in (50, 95, 99)})
    if errors:
        details["first_error"] = errors[0]
    passed = (
        not errors
        and (p95_ms is None or details.get("p95_ms", math.inf) <= p95_ms)
        and (min_qps is None or details["qps"] >= min_qps)
    )
    bars = _bars(
        p95_ms is not None and f"p95 <= {p95_ms:g} ms",
        min_qps is not None and f"QPS >= {min_qps:g}",
        "no errors",
    )
    shown = {k: v for k, v in details.items() if k != "first_error"}
    text = table([shown], list(shown)) + (f"\n\nfirst error: {errors[0]}" if errors else "")
    return _finish(
        GateResult(name, "endpoint", details.get("p95_ms"), bars, passed, details),
        text,
        "Check the server's logs, its workers and batching, or the budget.",
    )


# --- the gate report -------------------------------------------------------------------------

SCHEMA_VERSION = 1


def _canonical(data: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_hash(report: Mapping[str, Any]) -> str:
    """sha256 of the report without its ``content_hash`` field, canonical JSON."""
    import hashlib

    return (
        "sha256:"
        + hashlib.sha256(
            _canonical({k: v for k, v in report.items() if k != "content_hash"})
        ).hexdigest()
    )


def build_report(
    results: Sequence[Mapping[str, Any]],
    *,
    git_sha: str | None = None,
    model: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The gate report: every gate result, the verdict, provenance and a content hash."""
    import datetime as dt

    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "git_sha": git_sha,
        "model": dict(model) if model else None,
        "passed": bool(results) and all(r["passed"] for r in results),
        "gates": [dict(r) for r in results],
    }
    report["content_hash"] = content_hash(report)
    return report


class GateReportError(ValueError):
    """The gate report is missing, unreadable, tampered with or of an unknown schema."""


def read_report(path: str | Path) -> dict[str, Any]:
    """Read and verify a gate report; raise :class:`GateReportError` saying why not."""
    import json

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GateReportError(f"no gate report at {path}") from None
    except OSError as exc:
        raise GateReportError(f"cannot read the gate report {path}: {exc}") from None
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateReportError(
            f"the gate report {path} is not valid JSON (truncated?): {exc}"
        ) from None
    if not isinstance(report, dict):
        raise GateReportError(f"the gate report {path} is not a JSON object")
    if report.get("schema_version") != SCHEMA_VERSION:
        raise GateReportError(
            f"the gate report {path} has schema version {report.get('schema_version')!r}; this mlops-testkit reads version {SCHEMA_VERSION}"
        )
    for key in ("gates", "passed", "content_hash"):
        if key not in report:
            raise GateReportError(f"the gate report {path} has no {key!r} field")
    if report["content_hash"] != content_hash(report):
        raise GateReportError(
            f"the gate report {path} does not match its content hash: it was modified after it was written"
        )
    return report


def gate_summary(report: Mapping[str, Any]) -> tuple[bool, str]:
    """(passed, a table of the gates) for a verified report."""
    gates = report["gates"]
    rows = [
        {
            "gate": g["name"],
            "kind": g["kind"],
            "value": "-" if g["value"] is None else g["value"],
            "threshold": g["threshold"],
            "verdict": "pass" if g["passed"] else "FAIL",
            "test": g.get("test_id") or "-",
        }
        for g in gates
    ]
    passed = bool(gates) and all(g["passed"] for g in gates)
    return passed, table(
        rows, ["gate", "kind", "value", "threshold", "verdict", "test"], max_rows=50
    )


def gate_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown, for a CI job summary or a merge-request note."""
    gates = report["gates"]
    passed = bool(gates) and all(g["passed"] for g in gates)
    model = report.get("model") or {}
    about = f" for {model.get('name')} v{model.get('version')}" if model.get("version") else ""
    if not gates:
        return f"### mlops-testkit gates{about}: none ran\n"
    lines = [
        f"### mlops-testkit gates{about}: {'passed' if passed else 'FAILED'}",
        "",
        f"{sum(g['passed'] for g in gates)} of {len(gates)} gate(s) passed; git "
        f"`{report.get('git_sha') or '-'}`; report `{report.get('content_hash', '-')[:19]}...`",
        "",
        "| gate | value | threshold | verdict | test |",
        "| --- | --- | --- | --- | --- |",
    ]
    for g in gates:
        value = "-" if g["value"] is None else f"{g['value']:.4g}"
        cells = [g["name"], value, g["threshold"], "pass" if g["passed"] else "**FAIL**"]
        cells.append(f"`{g.get('test_id') or '-'}`")
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
