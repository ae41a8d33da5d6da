"""Budgets: latency, model size, peak memory, and an HTTP endpoint under load."""

from __future__ import annotations

import builtins
import math
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._format import table
from mlops_testkit.gates.result import GateResult, _bars, _finish, _number, report_twin
from mlops_testkit.reporting.score import evidences

# --- budgets ---------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def _positive(value: Any, name: str, where: str) -> float:
    """A finite number > 0 (numpy scalars welcome), or the kit's usage error."""
    number = _number(value, name, where)
    if number <= 0:
        raise MltkUsageError(f"{where}: {name} must be > 0, got {value!r}")
    return number


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
    p50_ms = None if p50_ms is None else _positive(p50_ms, "p50_ms", where)
    p95_ms = None if p95_ms is None else _positive(p95_ms, "p95_ms", where)
    per_round: dict[int, list[float]] = {50: [], 95: [], 99: []}
    try:
        for _ in range(warmup):
            predict(batch)
        for _ in range(rounds):
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                predict(batch)
                times.append((time.perf_counter() - start) * 1000)
            for q in per_round:
                per_round[q].append(_percentile(times, q))
    except Exception as exc:
        raise MltkUsageError(f"{where}: predict raised {type(exc).__name__}: {exc}") from exc
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
    max_mb = None if max_mb is None else _positive(max_mb, "max_mb", where)
    if max_params is not None and (
        isinstance(max_params, bool) or not isinstance(max_params, int) or max_params < 1
    ):
        raise MltkUsageError(f"{where}: max_params must be an integer >= 1, got {max_params!r}")
    params = None
    if isinstance(model_or_path, str | Path):
        path = Path(model_or_path)
        if not path.exists():
            raise MltkUsageError(f"{where}: {path} does not exist")
        if not (path.is_file() or path.is_dir()):
            raise MltkUsageError(f"{where}: {path} is not a regular file or a folder")
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        if not files:
            raise MltkUsageError(f"{where}: {path} holds no file: nothing to measure")
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
    if size == 0:  # an empty file or a module without state: nothing was measured
        what = (
            "the model has no parameters or buffers"
            if params is not None
            else (f"{model_or_path} is empty (0 bytes)")
        )
        raise MltkUsageError(f"{where}: {what}: nothing to measure")
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


def _json_default(value: Any) -> Any:
    """numpy arrays and scalars (and pandas objects) in a payload, as JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "to_dict"):
        return value.to_dict(orient="split") if hasattr(value, "columns") else value.to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


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
    import threading
    import tracemalloc

    where = "assert_peak_memory"
    if not callable(fn):
        raise MltkUsageError(f"{where}: fn must be a callable taking no argument")
    limit = _positive(max_mb, "max_mb", where)
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
    except Exception as exc:
        raise MltkUsageError(f"{where}: fn raised {type(exc).__name__}: {exc}") from exc
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

    where = "assert_endpoint"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise MltkUsageError(f"{where}: url must start with http:// or https://, got {url!r}")
    try:
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError as exc:
        raise MltkUsageError(f"{where}: url {url!r} is not a valid URL: {exc}") from None
    if not parts.hostname:
        raise MltkUsageError(f"{where}: url {url!r} names no host")
    if p95_ms is None and min_qps is None:
        raise MltkUsageError(f"{where}: give p95_ms= and/or min_qps=")
    for label, v in (("requests", requests), ("concurrency", concurrency)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise MltkUsageError(f"{where}: {label} must be a positive integer, got {v!r}")
    try:
        body = json.dumps(payload, default=_json_default).encode()
    except (TypeError, ValueError) as exc:
        raise MltkUsageError(f"{where}: payload cannot be encoded as JSON: {exc}") from None
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


latency_report = report_twin(assert_latency, "latency_report")
model_size_report = report_twin(assert_model_size, "model_size_report")
peak_memory_report = report_twin(assert_peak_memory, "peak_memory_report")
endpoint_report = report_twin(assert_endpoint, "endpoint_report")
