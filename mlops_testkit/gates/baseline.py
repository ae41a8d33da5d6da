"""A simpler model is not better: the candidate must beat a simple baseline, fitted and
scored on the same data, significantly (a paired bootstrap, as in assert_no_regression).

The baselines are numpy, not scikit-learn (which is no dependency of the kit): the
majority class, random labels drawn with the class shares (stratified), the mean, and a
ridge-regularised linear model (a ridge classifier for labels) with cross-fitted
predictions. Any estimator with ``fit``/``predict`` (scikit-learn's included) or a
callable can be the baseline instead.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

from mlops_testkit import MltkUsageError, _args
from mlops_testkit._format import table
from mlops_testkit.gates import _support as s
from mlops_testkit.gates.metrics import _paired_bootstrap
from mlops_testkit.gates.result import GateResult, _finish, gate_renderer
from mlops_testkit.reporting.results import Results, Section
from mlops_testkit.reporting.score import evidences

BASELINES = ("majority", "stratified", "mean", "linear")
REGRESSION = ("mae", "rmse")
WHERE = "assert_beats_baseline"


def _design(X: Any, n: int, where: str) -> Any:
    """X as a float matrix: numeric columns as they are, other columns one-hot."""
    import numpy as np

    pd = s._pandas()
    if pd is not None and isinstance(X, pd.DataFrame):
        if len(X) != n:
            raise MltkUsageError(f"{where}: X has {len(X)} rows for {n} examples")
        numeric = X.select_dtypes(include=["number", "bool"])
        other = X.drop(columns=numeric.columns)
        parts = [numeric.astype(float)]
        if len(other.columns):
            parts.append(pd.get_dummies(other.astype(object), dummy_na=True).astype(float))
        frame = pd.concat(parts, axis=1)
        values, names = frame.to_numpy(dtype=float), [str(c) for c in frame.columns]
    else:
        try:
            values = np.asarray(X, dtype=float)
        except (TypeError, ValueError):
            raise MltkUsageError(
                f"{where}: baseline 'linear' cannot be fitted: X must be numbers or a "
                "DataFrame (its text columns are one-hot encoded)"
            ) from None
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != n:
            raise MltkUsageError(
                f"{where}: X must be a 2-D table with {n} rows, got shape {values.shape}"
            )
        names = [f"x{i}" for i in range(values.shape[1])]
    bad = [names[j] for j in np.flatnonzero(~np.isfinite(values).all(axis=0))]
    if bad:
        raise MltkUsageError(
            f"{where}: baseline 'linear' cannot be fitted: X has NaN or inf in "
            f"{', '.join(bad[:5])}; impute them (as the candidate's pipeline does) first"
        )
    return values


def _folds(n: int, k: int, seed: int) -> list[Any]:
    import numpy as np

    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def _ridge(X: Any, y: Any, folds: list[Any], classes: Any | None) -> Any:
    """Cross-fitted ridge predictions (scores per class when ``classes`` is given)."""
    import numpy as np

    n = len(y)
    target = (y[:, None] == classes[None, :]).astype(float) if classes is not None else y[:, None]
    out = np.empty((n, target.shape[1]))
    for test in folds:
        train = np.ones(n, dtype=bool)
        train[test] = False
        mu, sd = X[train].mean(axis=0), X[train].std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        A = np.column_stack([np.ones(train.sum()), (X[train] - mu) / sd])
        penalty = np.eye(A.shape[1])
        penalty[0, 0] = 0.0  # the intercept is not shrunk
        coef = np.linalg.solve(A.T @ A + penalty, A.T @ target[train])
        B = np.column_stack([np.ones(len(test)), (X[test] - mu) / sd])
        out[test] = B @ coef
    return out


def _fit(
    baseline: Any, X: Any, t: Any, task: str, scores: bool, seed: int, folds: int, where: str
) -> tuple[Any, str]:
    """The baseline's predictions on the data (labels, scores or values) and its name."""
    import numpy as np

    n = len(t)
    if callable(baseline) and not hasattr(baseline, "fit"):
        label = getattr(baseline, "__name__", "callable")
        try:
            pred = baseline(X, t)
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: baseline {label!r} cannot be fitted: {type(exc).__name__}: {exc}"
            ) from None
        return s.vector(pred, f"the predictions of baseline {label!r}", where, n), label
    if hasattr(baseline, "fit") and hasattr(baseline, "predict"):
        label = type(baseline).__name__
        if X is None:
            raise MltkUsageError(f"{where}: baseline {label} needs X= to be fitted")
        pred = np.empty(n)
        try:
            for test in _folds(n, folds, seed):
                train = np.setdiff1d(np.arange(n), test)
                model = copy.deepcopy(baseline)
                rows = X.iloc if hasattr(X, "iloc") else X
                model.fit(rows[train], t[train])
                if scores:
                    pred[test] = np.asarray(model.predict_proba(rows[test]))[:, 1]
                else:
                    pred[test] = np.asarray(model.predict(rows[test]), dtype=float)
        except Exception as exc:
            raise MltkUsageError(
                f"{where}: baseline {label} cannot be fitted: {type(exc).__name__}: {exc}"
            ) from None
        return pred, f"{label} ({folds}-fold)"
    if baseline not in BASELINES:
        raise MltkUsageError(
            f"{where}: unknown baseline {baseline!r}; expected one of {', '.join(BASELINES)}, "
            "an estimator with fit/predict, or a callable (X, y_true) -> predictions"
        )
    if baseline == "mean" and task != "regression":
        raise MltkUsageError(
            f"{where}: baseline 'mean' is for regression metrics (mae, rmse or a callable); "
            "use 'majority' or 'stratified' for classification"
        )
    if baseline in ("majority", "stratified") and task == "regression":
        raise MltkUsageError(
            f"{where}: baseline {baseline!r} is for classification metrics; use 'mean' or "
            "'linear' for mae and rmse"
        )
    if baseline == "mean":
        return np.full(n, t.mean()), "mean"
    if baseline == "linear":
        if X is None:
            raise MltkUsageError(f"{where}: baseline 'linear' cannot be fitted without X=")
        design = _design(X, n, where)
        if task == "regression":
            return _ridge(design, t, _folds(n, folds, seed), None)[:, 0], "linear (ridge)"
        classes = np.unique(t)
        if len(classes) < 2:
            raise MltkUsageError(
                f"{where}: baseline 'linear' cannot be fitted: y_true has one class"
            )
        out = _ridge(design, t, _folds(n, folds, seed), classes)
        if scores:
            return out[:, -1], "linear (ridge classifier)"
        return classes[out.argmax(axis=1)].astype(float), "linear (ridge classifier)"
    classes, counts = np.unique(t, return_counts=True)
    if baseline == "majority":
        top = classes[counts.argmax()]
        return (np.full(n, counts[-1] / n) if scores else np.full(n, top, dtype=float)), baseline
    draw = np.random.default_rng(seed).choice(classes, size=n, p=counts / n).astype(float)
    return ((draw == classes[-1]).astype(float) if scores else draw), baseline


def _discrete_bootstrap(diff: Any, n_boot: int, conf: float, seed: int) -> tuple[float, float]:
    """The paired bootstrap of a mean of a few distinct values (-1, 0, 1 for accuracy):
    resampling rows is drawing the values' counts from a multinomial, exactly, without
    touching the rows again."""
    import numpy as np

    values, counts = np.unique(diff, return_counts=True)
    draws = np.random.default_rng(seed).multinomial(len(diff), counts / len(diff), size=n_boot)
    return s.percentile(draws @ values / len(diff), conf)


def baseline_report(
    y_true: Sequence[Any],
    candidate_pred: Sequence[Any],
    *,
    baseline: str | Callable[..., Any] | Any = "majority",
    metric: str | Callable[[Any, Any], float],
    X: Any = None,
    margin: float = 0.0,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    folds: int = 5,
    name: str | None = None,
) -> GateResult:
    """The verdict of :func:`assert_beats_baseline`, returned instead of asserted.

    Example::

        result = baseline_report(y, proba, baseline="linear", metric="roc_auc", X=features)
        print(result.details["baseline_value"], result.details["ci_low"])
    """
    import numpy as np

    where = WHERE
    fn, metric_name, higher = s.metric(metric, where)
    t = s.vector(y_true, "y_true", where)
    c = s.vector(candidate_pred, "candidate_pred", where, len(t))
    if isinstance(metric, str):
        s.labels(metric_name, t, c, where, "candidate_pred")
    bounded = metric_name in s.BOUNDED and isinstance(metric, str)
    allowed = _args.number(
        margin,
        "margin",
        where,
        low=-1 if bounded else None,
        low_open=True,
        why=f"{metric_name} lies in [0, 1]: a margin of -1 or less could never fail",
    )
    conf = s.confidence(confidence, where)
    n_boot = s.count(n_boot, "n_boot", where, 100)
    seed = _args.seed(seed, where)
    folds = s.count(folds, "folds", where, 2)
    if len(t) < 2 * folds:
        raise MltkUsageError(f"{where}: y_true has {len(t)} examples; at least {2 * folds} needed")
    regression = metric_name in REGRESSION or (not isinstance(metric, str) and baseline == "mean")
    task = "regression" if regression else "classification"
    b, label = _fit(baseline, X, t, task, metric_name == "roc_auc", seed, folds, where)
    if isinstance(metric, str):  # a baseline scored 0 by giving scores would flatter any model
        s.labels(metric_name, t, b, where, f"the predictions of baseline {label!r}")
    cand, base = float(fn(t, c)), float(fn(t, b))
    if not (math.isfinite(cand) and math.isfinite(base)):
        raise MltkUsageError(
            f"{where}: metric {metric_name!r} is undefined on these labels (candidate "
            f"{cand}, baseline {base}); roc_auc needs both classes in y_true"
        )
    s.enough(len(t), "y_true", where)
    sign = 1.0 if higher else -1.0
    problem = None
    if metric_name == "accuracy":
        lo, hi = _discrete_bootstrap((c == t).astype(float) - (b == t), n_boot, conf, seed)
    elif metric_name == "mae":
        lo, hi = _paired_bootstrap(np.abs(t - b) - np.abs(t - c), n_boot, conf, seed)
    else:
        rng = np.random.default_rng(seed)
        n = len(t)
        diffs = np.empty(n_boot)
        for start in range(0, n_boot, 64):  # chunks keep memory at 64 x n
            idx = rng.integers(0, n, size=(min(n_boot, start + 64) - start, n))
            for j, row in enumerate(idx):
                tr = t[row]
                diffs[start + j] = sign * (fn(tr, c[row]) - fn(tr, b[row]))
        problem = s.undefined(diffs, f"the {metric_name} difference")
        lo, hi = s.percentile(diffs, conf)
    diff = sign * (cand - base)
    passed = problem is None and math.isfinite(lo) and lo > allowed
    details = {
        "metric": metric_name,
        "baseline": label,
        "baseline_value": base,
        "difference": diff,
        "ci_low": lo,
        "ci_high": hi,
        "margin": allowed,
        "confidence": conf,
        "n": len(t),
        "n_boot": n_boot,
        "seed": seed,
    }
    if problem:
        details["problem"] = problem
    direction = "higher" if higher else "lower"
    rows = [
        {"model": "candidate", metric_name: cand},
        {"model": f"baseline: {label}", metric_name: base},
    ]
    return GateResult(
        name or f"beats {label} baseline: {metric_name}",
        "baseline",
        cand,
        f"better than the {label} baseline ({s.fmt(base)}) by more than {allowed:g} "
        f"({direction} is better; {conf:.0%} lower bound)" + (f" ({problem})" if problem else ""),
        passed,
        details,
        rows=rows,
    )


@evidences("model-5")
def assert_beats_baseline(
    y_true: Sequence[Any],
    candidate_pred: Sequence[Any],
    *,
    baseline: str | Callable[..., Any] | Any = "majority",
    metric: str | Callable[[Any, Any], float],
    X: Any = None,
    margin: float = 0.0,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    folds: int = 5,
    name: str | None = None,
) -> GateResult:
    """Assert that the candidate is significantly better than a simple baseline.

    ``baseline`` is ``"majority"`` (the most frequent class), ``"stratified"`` (random
    labels with the class shares), ``"mean"`` (regression), ``"linear"`` (a ridge model
    on ``X``, a ridge classifier for labels, with ``folds``-fold cross-fitted
    predictions), an estimator with ``fit``/``predict`` (cross-fitted the same way), or a
    callable ``(X, y_true) -> predictions``. The constant baselines are fitted on
    ``y_true`` itself, which only flatters them. ``metric`` is one of accuracy,
    precision, recall, f1, roc_auc (``candidate_pred`` are then scores), mae, rmse, or a
    callable ``(y_true, y_pred) -> float`` (higher is better). A seeded paired bootstrap
    of the metric difference over the same examples decides: the gate passes only when
    the candidate's lead over the baseline exceeds ``margin`` at its lower
    ``confidence`` bound. A baseline that cannot be fitted, fewer than 30 examples,
    scores where the metric compares labels and a ``margin`` that could never fail
    (``<= -1`` for a metric in [0, 1]) are usage errors; a resample on which the metric
    is undefined fails the gate (it is never dropped). Evidences ML Test Score item
    model-5.

    Example::

        @pytest.mark.gate
        def test_beats_a_linear_model(holdout, proba):
            assert_beats_baseline(
                holdout["defaulted"], proba, baseline="linear", metric="roc_auc",
                X=holdout.drop(columns="defaulted"),
            )
    """
    __tracebackhide__ = True
    result = baseline_report(
        y_true,
        candidate_pred,
        baseline=baseline,
        metric=metric,
        X=X,
        margin=margin,
        confidence=confidence,
        n_boot=n_boot,
        seed=seed,
        folds=folds,
        name=name,
    )
    d = result.details
    body = table(
        [
            {
                "candidate": result.value,
                f"baseline ({d['baseline']})": d["baseline_value"],
                "difference": d["difference"],
                f"{d['confidence']:.0%} bounds": s.interval(d["ci_low"], d["ci_high"]),
                "margin": d["margin"],
            }
        ],
        [
            "candidate",
            f"baseline ({d['baseline']})",
            "difference",
            f"{d['confidence']:.0%} bounds",
            "margin",
        ],
    )
    return _finish(
        result,
        f"{d['metric']} on {d['n']} examples\n\n{body}",
        "A simpler model does as well: ship the simpler one, or find out what the candidate "
        "fails to learn (features, leakage in the baseline's favour, a training bug).",
    )


def _sections(results: Results) -> list[Section]:
    rows = []
    for r in results:
        d = r.get("details") or {}
        rows.append(
            [
                r.get("name"),
                "pass" if r.get("passed") else "FAIL",
                s.fmt(r.get("value")),
                f"{d.get('baseline')}: {s.fmt(d.get('baseline_value'))}",
                f"{s.fmt(d.get('difference'))} {s.interval(d.get('ci_low'), d.get('ci_high'))}",
                s.fmt(d.get("margin")),
            ]
        )
    return [
        Section(
            "Baselines: a simpler model is not better",
            header=("gate", "verdict", "candidate", "baseline", "difference (bounds)", "margin"),
            table=rows,
        )
    ]


gate_renderer("baseline", sections=_sections)
