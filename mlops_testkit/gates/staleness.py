"""Staleness: the model in production is not too old (its registration or training-run
time, ML Test Score mon-4), and how much an old model loses on newer data is known
(one model scored on successive time periods, with intervals: model-4).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates.result import GateResult, _finish, _number, gate_renderer
from mlops_testkit.reporting.results import Results, Section
from mlops_testkit.reporting.score import evidences

BASES = ("auto", "training", "registration")
SKEW = dt.timedelta(hours=1)  # clocks of the registry and the runner may disagree a little

# --- freshness -----------------------------------------------------------------------------


def _ms(value: Any) -> dt.datetime | None:
    if value in (None, 0):
        return None
    return dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.timezone.utc)


def _utc(value: Any, name: str, where: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise MltkUsageError(f"{where}: {name} must be a datetime, got {value!r}")
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def model_times(model: Any, where: str = "model_times") -> dict[str, Any]:
    """When a model was registered and trained, asked of the registry (read-only).

    ``model`` is a :class:`~mlops_testkit.registry.tracking.RegistryModel` (what the
    ``candidate`` and ``champion`` fixtures give), an MLflow ``ModelVersion``, or a
    datetime (the training time of a model kept outside MLflow). Returns
    ``{"model", "registered", "trained"}`` (datetimes in UTC, None when unknown).
    """
    if isinstance(model, dt.datetime):
        return {"model": "model", "registered": None, "trained": _utc(model, "model", where)}
    version = getattr(model, "version", None)
    model_name = getattr(model, "name", None)
    if version is None or model_name is None:
        raise MltkUsageError(
            f"{where}: model must be a registry model (the champion or candidate fixture), "
            f"an MLflow ModelVersion or a datetime, got {type(model).__name__}"
        )
    from mlops_testkit.registry import tracking

    client = tracking.connect()
    created = getattr(model, "creation_timestamp", None)
    if created is None:
        created = tracking.get_version(client, model_name, str(version)).creation_timestamp
    trained = None
    run_id = getattr(model, "run_id", None)
    if run_id:
        try:
            info = client.get_run(run_id).info
        except Exception as exc:
            if not tracking.backend_error(exc):
                raise
        else:
            trained = _ms(info.end_time) or _ms(info.start_time)
    return {"model": f"{model_name} v{version}", "registered": _ms(created), "trained": trained}


def freshness_report(
    model: Any,
    *,
    max_age_days: float,
    by: str = "auto",
    now: dt.datetime | None = None,
    name: str | None = None,
) -> GateResult:
    """The verdict of :func:`assert_model_fresh`, returned instead of asserted.

    Example::

        result = freshness_report(champion, max_age_days=90)
        print(result.value, result.details["basis"])
    """
    where = "assert_model_fresh"
    if model is None:
        raise MltkUsageError(f"{where}: model is None (no champion yet?)")
    bar = _number(max_age_days, "max_age_days", where)
    if bar <= 0:
        raise MltkUsageError(f"{where}: max_age_days must be > 0, got {max_age_days}")
    if by not in BASES:
        raise MltkUsageError(f"{where}: by must be one of {', '.join(BASES)}, got {by!r}")
    at = dt.datetime.now(dt.timezone.utc) if now is None else _utc(now, "now", where)
    times = model_times(model, where)
    basis = "training" if by == "auto" and times["trained"] else by
    if basis == "auto":
        basis = "registration"
    when = times["trained" if basis == "training" else "registered"]
    details: dict[str, Any] = {
        "model": times["model"],
        "basis": basis,
        "registered": times["registered"] and times["registered"].isoformat(),
        "trained": times["trained"] and times["trained"].isoformat(),
        "now": at.isoformat(),
        "max_age_days": bar,
    }
    if when is None:
        age, passed = None, False
        details["problem"] = f"the {basis} time of {times['model']} is unknown"
    else:
        delta = at - when
        age = max(delta.total_seconds(), 0.0) / 86400
        passed = delta >= -SKEW and age <= bar
        if delta < -SKEW:
            details["problem"] = f"the {basis} time {when.isoformat()} is in the future"
    details["age_days"] = age
    rows = [{k: details[k] for k in ("model", "basis", "age_days", "max_age_days")}]
    return GateResult(
        name or f"fresh: {times['model']}",
        "freshness",
        age,
        f"age <= {bar:g} days (by {basis} time)",
        passed,
        details,
        rows=rows,
    )


@evidences("mon-4")
def assert_model_fresh(
    model: Any,
    *,
    max_age_days: float,
    by: str = "auto",
    now: dt.datetime | None = None,
    name: str | None = None,
) -> GateResult:
    """Assert that a model is not too stale: at most ``max_age_days`` old.

    ``model`` is a registry model (the ``champion`` or ``candidate`` fixture), an MLflow
    ``ModelVersion`` or a datetime. Its age is counted from the end of its training run
    (``by="training"``), from its registration (``by="registration"``), or, by default,
    from the training run when the version has one and from the registration otherwise.
    ``now`` (a datetime) replaces the clock. An unknown time, or one in the future, fails.
    ``model=None`` (no champion yet) skips the test. Evidences ML Test Score item mon-4.

    Example::

        @pytest.mark.gate
        def test_champion_is_fresh(champion):
            assert_model_fresh(champion, max_age_days=180)
    """
    __tracebackhide__ = True
    if model is None:
        import pytest

        pytest.skip("assert_model_fresh: no model (no champion yet): nothing can be stale")
    result = freshness_report(model, max_age_days=max_age_days, by=by, now=now, name=name)
    d = result.details
    body = (
        f"registered {d['registered'] or 'unknown'}, trained {d['trained'] or 'unknown'}, now "
        f"{d['now']}" + (f"\n{d['problem']}" if d.get("problem") else "")
    )
    return _finish(
        result,
        body,
        "The model is stale: retrain it on recent data (the monitor template's retrain job) "
        "and promote the new version, or raise max_age_days if staleness is known to be harmless "
        "(assert_staleness_impact measures that).",
    )


# --- staleness impact ----------------------------------------------------------------------


def _predict(model: Any, X: Any, n: int, period: str, where: str) -> Any:
    fn = model.predict if hasattr(model, "predict") else model
    if not callable(fn):
        raise MltkUsageError(
            f"{where}: model must have predict() or be a callable X -> predictions, got "
            f"{type(model).__name__}"
        )
    try:
        predictions = fn(X)
    except Exception as exc:
        raise MltkUsageError(
            f"{where}: the model raised {type(exc).__name__} predicting period {period!r}: {exc}"
        ) from exc
    return s.vector(predictions, f"the predictions for period {period!r}", where, n)


def staleness_report(
    model: Any,
    datasets_by_period: Mapping[Any, tuple[Any, Any]],
    *,
    metric: str | Callable[[Any, Any], float],
    max_decay: float | None = None,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    name: str | None = None,
) -> GateResult:
    """Score one model on successive time periods, each with a bootstrap interval, and
    its decay since the first period (see :func:`assert_staleness_impact`).

    Example::

        result = staleness_report(model, {"2024-Q1": (X1, y1), "2024-Q2": (X2, y2)},
                                  metric="accuracy")
        for row in result.rows:
            print(row["period"], row["accuracy"], row["decay"])
    """
    import numpy as np

    where = "assert_staleness_impact"
    if model is None:
        raise MltkUsageError(f"{where}: model is None")
    if not isinstance(datasets_by_period, Mapping) or len(datasets_by_period) < 2:
        raise MltkUsageError(
            f"{where}: datasets_by_period must map >= 2 periods, oldest first, to (X, y_true), "
            f"got {type(datasets_by_period).__name__}"
            + (f" of {len(datasets_by_period)}" if isinstance(datasets_by_period, Mapping) else "")
        )
    fn, metric_name, higher = s.metric(metric, where)
    conf = s.confidence(confidence, where)
    n_boot = s.count(n_boot, "n_boot", where, 100)
    seed = _args.seed(seed, where)
    bounded = isinstance(metric, str) and metric_name in s.BOUNDED
    bar = (
        None
        if max_decay is None
        else _args.number(
            max_decay,
            "max_decay",
            where,
            high=1 if bounded else None,
            high_open=True,
            why=f"{metric_name} lies in [0, 1]: a decay of 1 or more could never be exceeded",
        )
    )
    sign = 1.0 if higher else -1.0
    rng = np.random.default_rng(seed)
    values, boots, sizes = [], [], []
    periods = [str(k) for k in datasets_by_period]
    for period, data in zip(periods, datasets_by_period.values(), strict=True):
        if not isinstance(data, tuple | list) or len(data) != 2:
            raise MltkUsageError(
                f"{where}: datasets_by_period[{period!r}] must be a pair (X, y_true)"
            )
    for period, data in zip(periods, datasets_by_period.values(), strict=True):
        t = s.vector(data[1], f"y_true of period {period!r}", where)
        n = len(t)
        s.enough(n, f"datasets_by_period[{period!r}]", where, "widen the periods or merge them")
        p = _predict(model, data[0], n, period, where)
        if isinstance(metric, str):
            s.labels(metric_name, t, p, where, f"the predictions for period {period!r}")
        value = float(fn(t, p))
        if not math.isfinite(value):
            raise MltkUsageError(f"{where}: {metric_name} is undefined for period {period!r}")
        boot = np.empty(n_boot)
        scores = None  # the mean of per-example scores resamples fastest
        if metric_name == "accuracy":
            scores = (t == p).astype(float)
        elif metric_name == "mae":
            scores = np.abs(t - p)
        for start in range(0, n_boot, 64):
            idx = rng.integers(0, n, size=(min(n_boot, start + 64) - start, n))
            if scores is not None:
                boot[start : start + len(idx)] = scores[idx].mean(axis=1)
            else:
                boot[start : start + len(idx)] = [fn(t[row], p[row]) for row in idx]
        values.append(value)
        boots.append(boot)
        sizes.append(n)
    rows = []
    for i, period in enumerate(periods):
        lo, hi = s.percentile(boots[i], conf)
        decay = sign * (values[0] - values[i])
        d_lo, d_hi = s.percentile(sign * (boots[0] - boots[i]), conf)
        rows.append(
            {
                "period": period,
                "n": sizes[i],
                metric_name: values[i],
                "ci_low": lo,
                "ci_high": hi,
                "decay": decay,
                "decay_low": d_lo,
                "decay_high": d_hi,
            }
        )
    last = rows[-1]
    problems = [
        problem
        for period, boot in zip(periods, boots, strict=True)
        if (problem := s.undefined(boot, f"{metric_name} of period {period!r}"))
    ]
    passed = not problems and (
        bar is None or (math.isfinite(last["decay_low"]) and last["decay_low"] <= bar)
    )
    details = {
        "metric": metric_name,
        "periods": rows,
        "decay": last["decay"],
        "decay_ci": [last["decay_low"], last["decay_high"]],
        "max_decay": bar,
        "confidence": conf,
        "n_boot": n_boot,
        "seed": seed,
    }
    if problems:
        details["problem"] = "; ".join(problems)
    return GateResult(
        name or f"staleness impact: {metric_name}",
        "staleness",
        last["decay"],
        (
            f"decay from {periods[0]!r} to {periods[-1]!r} <= {bar:g} (not significantly "
            f"above, {conf:.0%} one-sided)"
            if bar is not None
            else "measured"
        )
        + (f" ({details['problem']})" if problems else ""),
        passed,
        details,
        rows=rows,
    )


@evidences("model-4")
def assert_staleness_impact(
    model: Any,
    datasets_by_period: Mapping[Any, tuple[Any, Any]],
    *,
    metric: str | Callable[[Any, Any], float],
    max_decay: float,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    name: str | None = None,
) -> GateResult:
    """Assert that a model loses at most ``max_decay`` of its metric as it ages.

    ``model`` has ``predict`` (a registry model, an estimator) or is a callable
    ``X -> predictions``; ``datasets_by_period`` maps periods, oldest first (the one the
    model was trained for), to ``(X, y_true)``. ``metric`` is one of accuracy, precision,
    recall, f1, roc_auc, mae, rmse or a callable ``(y_true, y_pred) -> float`` (higher
    is better). Each period's metric gets a seeded bootstrap interval, and so does its
    decay since the first period (in the metric's bad direction); the gate fails when
    the decay of the latest period is above ``max_decay`` even at its lower
    ``confidence`` bound. A period of fewer than 30 examples, scores where the metric
    compares labels and ``max_decay >= 1`` for a metric in [0, 1] are usage errors; a
    resample on which the metric is undefined fails the gate. The report draws the
    curve: how fast the model goes stale. Evidences ML Test Score item model-4.

    Example::

        @pytest.mark.gate
        def test_a_year_old_model_still_works(model, quarters):
            assert_staleness_impact(model, quarters, metric="roc_auc", max_decay=0.03)
    """
    __tracebackhide__ = True
    if max_decay is None:
        raise MltkUsageError("assert_staleness_impact: give max_decay=")
    result = staleness_report(
        model,
        datasets_by_period,
        metric=metric,
        max_decay=max_decay,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        name=name,
    )
    metric_name = result.details["metric"]
    body = table(
        result.rows, ["period", "n", metric_name, "ci_low", "ci_high", "decay", "decay_low"]
    )
    return _finish(
        result,
        body,
        "The model decays faster than allowed: retrain more often (shorten max_age_days of "
        "assert_model_fresh accordingly) or make it robust to the drift between periods.",
    )


def _freshness_sections(results: Results) -> list[Section]:
    rows = []
    for r in results:
        d = r.get("details") or {}
        rows.append(
            [
                d.get("model"),
                "pass" if r.get("passed") else "FAIL",
                s.fmt(d.get("age_days"), 3),
                s.fmt(d.get("max_age_days")),
                d.get("basis"),
                d.get("trained") or "-",
                d.get("registered") or "-",
            ]
        )
    header = ("model", "verdict", "age (days)", "max", "by", "trained", "registered")
    return [Section("Model freshness", header=header, table=rows)]


def _staleness_sections(results: Results) -> list[Section]:
    out = []
    plt = s.pyplot()
    for r in results:
        d = r.get("details") or {}
        periods, metric = d.get("periods") or [], d.get("metric", "metric")
        if not periods:
            continue
        values = [p[metric] if p[metric] is not None else math.nan for p in periods]
        top = max([abs(v) for v in values if math.isfinite(v)] + [1e-12])
        text = "\n".join(
            f"{str(p['period'])[:16]:>16}  {s.bar(abs(v), top)} {s.fmt(v)}"
            for p, v in zip(periods, values, strict=True)
        )
        image = None
        if plt is not None:
            fig, ax = plt.subplots(figsize=(5, 2.8))
            lo = [
                v - (p["ci_low"] if p["ci_low"] is not None else v)
                for p, v in zip(periods, values, strict=True)
            ]
            hi = [
                (p["ci_high"] if p["ci_high"] is not None else v) - v
                for p, v in zip(periods, values, strict=True)
            ]
            ax.errorbar(
                [str(p["period"]) for p in periods], values, yerr=[lo, hi], marker="o", capsize=3
            )
            ax.set_ylabel(metric)
            ax.set_title(str(r.get("name")))
            image = s.png(plt, fig)
        out.append(
            Section(
                f"Staleness: {r.get('name')}",
                text=text,
                header=("period", "n", metric, "bounds", "decay", "decay bounds"),
                table=[
                    [
                        p["period"],
                        p["n"],
                        s.fmt(p[metric]),
                        s.interval(p["ci_low"], p["ci_high"]),
                        s.fmt(p["decay"]),
                        s.interval(p["decay_low"], p["decay_high"]),
                    ]
                    for p in periods
                ],
                image=image,
                note=f"{'pass' if r.get('passed') else 'FAIL'}: required {r.get('threshold')}",
            )
        )
    return out


gate_renderer("freshness", sections=_freshness_sections)
gate_renderer("staleness", sections=_staleness_sections)
