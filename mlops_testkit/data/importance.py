"""Feature value: every feature the model gets must measurably help it (ML Test Score data-2).

The importance of a feature is how much the metric drops when that feature's values are
shuffled across rows (permutation importance, scikit-learn's ``permutation_importance``),
measured on held-out data the model did not train on.

How a feature is judged
    * The rows are split into ``n_repeats`` disjoint blocks (stratified by class for
      classification metrics); each block gives one independent estimate of every
      feature's importance. The blocks carry both sources of noise, the shuffle and the
      sample, so the bound below is honest for a finite evaluation set.
    * The lower confidence bound of the mean importance is one-sided Student-t at
      ``confidence`` over those estimates. A feature whose bound is not above
      ``min_importance`` (default 0) is not significantly beneficial and fails: it costs
      (latency, maintenance, a dependency on its source) without helping.
    * A pure-noise feature passes as beneficial in at most ``1 - confidence`` of runs
      (tested over fixed seeds in tests/test_feature_importance.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import flag, number
from mlops_testkit._args import seed as seed_arg
from mlops_testkit._checks import (
    columns_of,
    distinct,
    finish,
    label,
    probability,
    table_renderer,
)
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult
from mlops_testkit.reporting.score import evidences

WHERE = "feature_importance_report"
MIN_BLOCK_ROWS = 20
COLUMNS = ("feature", "importance", "lower bound", "std", "verdict")
# metric -> higher is better
METRICS = {
    "accuracy": True,
    "roc_auc": True,
    "f1": True,
    "r2": True,
    "log_loss": False,
    "mae": False,
    "mse": False,
    "rmse": False,
}
CLASSIFICATION = ("accuracy", "roc_auc", "f1", "log_loss")


@dataclass
class FeatureImportanceResult(CheckResult):
    """Each feature's permutation importance with its lower confidence bound, best first."""

    kind: ClassVar[str] = "feature_importance"
    name: str = ""
    metric: str = ""
    baseline: float = math.nan
    confidence: float = 0.95
    n_repeats: int = 0
    min_importance: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # why nothing could be judged

    @property
    def useless(self) -> list[str]:
        return [r["feature"] for r in self.rows if r["verdict"] != "beneficial"]

    @property
    def passed(self) -> bool:
        return self.problem is None and bool(self.rows) and not self.useless

    @property
    def headline(self) -> str:
        if self.problem:
            return f"feature importance not measured: {self.problem}"
        return (
            f"{len(self.useless)} of {len(self.rows)} features are not significantly "
            f"beneficial ({self.metric} {self.baseline:.4g} unshuffled; lower "
            f"{self.confidence:.0%} bound of the importance must exceed "
            f"{self.min_importance:g}; {self.n_repeats} blocks)"
        )

    def extra(self) -> dict[str, Any]:
        return {"metric": self.metric, "baseline": self.baseline, "confidence": self.confidence}


table_renderer(
    "feature_importance",
    "feature importance",
    COLUMNS,
    failing=lambda row: row.get("verdict") != "beneficial",
)


class _PredictError(Exception):
    pass


class _Model:
    """What ``permutation_importance`` needs of an estimator: the user's predict."""

    def __init__(self, predict: Callable[[Any], Any]) -> None:
        self.predict = predict

    def fit(self, *args: Any) -> _Model:
        return self


def _metric(
    metric: str | Callable[[Any, Any], float], higher_is_better: bool | None
) -> tuple[str, Callable[[Any, Any], float], bool]:
    import numpy as np

    if higher_is_better is not None:
        higher_is_better = flag(higher_is_better, "higher_is_better", WHERE)
    if callable(metric):
        return getattr(metric, "__name__", "metric"), metric, higher_is_better is not False
    if not isinstance(metric, str) or metric not in METRICS:
        raise MltkUsageError(
            f"{WHERE}: metric must be a callable (y_true, y_pred) -> float or one of "
            f"{', '.join(METRICS)}, got {metric!r}"
        )
    if higher_is_better is not None and higher_is_better != METRICS[metric]:
        raise MltkUsageError(
            f"{WHERE}: metric {metric!r} is {'higher' if METRICS[metric] else 'lower'} is "
            f"better, but higher_is_better={higher_is_better}; leave higher_is_better out "
            "for a named metric (it is for a callable metric)"
        )
    from sklearn import metrics as m

    def scores(p: Any) -> Any:
        p = np.asarray(p, dtype=float)
        return p[:, 1] if p.ndim == 2 and p.shape[1] == 2 else p

    def auc(y: Any, p: Any) -> float:
        p = scores(p)
        if p.ndim == 2:
            return float(m.roc_auc_score(y, p, multi_class="ovr", average="macro"))
        return float(m.roc_auc_score(y, p))

    def labels(p: Any) -> Any:
        p = np.asarray(p)
        return p.argmax(axis=1) if p.ndim == 2 else p

    fns: dict[str, Callable[[Any, Any], float]] = {
        "accuracy": lambda y, p: float(m.accuracy_score(y, labels(p))),
        "roc_auc": auc,
        "f1": lambda y, p: float(m.f1_score(y, labels(p), average="macro")),
        "r2": lambda y, p: float(m.r2_score(y, p)),
        "log_loss": lambda y, p: float(m.log_loss(y, np.asarray(p, dtype=float))),
        "mae": lambda y, p: float(m.mean_absolute_error(y, p)),
        "mse": lambda y, p: float(m.mean_squared_error(y, p)),
        "rmse": lambda y, p: math.sqrt(float(m.mean_squared_error(y, p))),
    }
    return metric, fns[metric], METRICS[metric]


def _blocks(y: Any, n: int, stratify: bool, seed: int) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    if stratify:
        order = order[np.argsort(np.asarray(y)[order], kind="stable")]
    block = np.empty(len(y), dtype=np.int64)
    block[order] = np.arange(len(y)) % n
    return [np.flatnonzero(block == b) for b in range(n)]


def feature_importance_report(
    predict: Callable[[Any], Any],
    X: Any,
    y: Any,
    *,
    metric: str | Callable[[Any, Any], float],
    n_repeats: int = 10,
    confidence: float = 0.95,
    higher_is_better: bool | None = None,
    features: Sequence[str] | None = None,
    min_importance: float = 0.0,
    seed: int = 0,
    name: str | None = None,
) -> FeatureImportanceResult:
    """Measure each feature's permutation importance on held-out ``X``, ``y``.

    ``predict`` maps ``X`` (a pandas DataFrame, or a 2-D array) to predictions: labels or
    class probabilities for accuracy and f1, scores or probabilities for roc_auc and
    log_loss, values for r2, mae, mse, rmse; or pass ``metric`` as a callable
    ``(y_true, y_pred) -> float`` (``higher_is_better`` says its direction, default
    True). ``features`` limits the verdicts to some columns (all are shuffled).

    Example::

        report = feature_importance_report(model.predict_proba, X_test, y_test, metric="roc_auc")
        for row in report.rows:
            print(row["feature"], row["importance"], row["lower bound"])
    """
    require("sklearn", WHERE)
    stats = require("scipy.stats", WHERE)
    import numpy as np
    from sklearn.inspection import permutation_importance

    if not callable(predict):
        inner = getattr(predict, "predict", None)
        if not callable(inner):
            raise MltkUsageError(
                f"{WHERE}: predict must be a callable X -> predictions (e.g. model.predict), "
                f"got {type(predict).__name__}"
            )
        predict = inner
    metric_name, fn, higher = _metric(metric, higher_is_better)
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or n_repeats < 3:
        raise MltkUsageError(f"{WHERE}: n_repeats must be an integer >= 3, got {n_repeats!r}")
    conf = probability(confidence, "confidence", WHERE)
    if conf <= 0.5:
        raise MltkUsageError(
            f"{WHERE}: confidence must be above 0.5, got {confidence!r}: at 0.5 or below the "
            "'lower' bound is at or above the mean importance, so a useless feature would "
            "pass at least half the time"
        )
    min_importance = number(
        min_importance,
        "min_importance",
        WHERE,
        low=0.0,
        why="a negative minimum passes a feature whose removal makes the model no worse, "
        "or better",
    )
    seed = seed_arg(seed, WHERE)
    arrow = type(X).__module__.split(".")[0] == "pyarrow"  # .columns holds the data
    if getattr(X, "ndim", 2) != 2 or not hasattr(X, "shape") or arrow:
        raise MltkUsageError(
            f"{WHERE}: X must be a pandas DataFrame or a 2-D array of rows x features, "
            f"got {type(X).__name__}" + (" (pass X.to_pandas())" if arrow else "")
        )
    if hasattr(X, "columns"):
        counts: dict[Any, int] = {}
        try:
            for c in X.columns:
                counts[c] = counts.get(c, 0) + 1
        except TypeError:  # columns that are not names
            raise MltkUsageError(
                f"{WHERE}: X must be a pandas DataFrame or a 2-D array of rows x features; "
                f"the columns of this {type(X).__name__} are not column names"
            ) from None
        repeated = [c for c, n in counts.items() if n > 1]
        if repeated:
            raise MltkUsageError(
                f"{WHERE}: X has {counts[repeated[0]]} columns named {repeated[0]!r}; rename "
                "them so each feature has one name"
            )
        names = [label(c) for c in distinct(X.columns, "the columns of X", WHERE)]
    else:
        names = [f"x{i}" for i in range(X.shape[1])]
    try:
        target = np.asarray(y)
    except Exception as exc:  # a ragged or odd object
        raise MltkUsageError(
            f"{WHERE}: y must be a 1-D sequence of labels/values: {exc}"
        ) from None
    if target.ndim != 1 or len(target) != X.shape[0]:
        raise MltkUsageError(
            f"{WHERE}: y must be 1-D with one value per row of X ({X.shape[0]} rows), got "
            f"shape {target.shape}"
        )
    if target.dtype.kind in "fc" and not np.isfinite(target).all():
        raise MltkUsageError(f"{WHERE}: y has missing or infinite values")
    if not names:
        raise MltkUsageError(f"{WHERE}: X has no feature column")
    judged = columns_of(features, "features", WHERE)
    if judged is None:
        judged = names
    unknown = [label(c) for c in judged if label(c) not in names]
    if unknown:
        raise MltkUsageError(f"{WHERE}: features {unknown} are not columns of X ({names[:8]})")
    if X.shape[0] < MIN_BLOCK_ROWS * n_repeats:
        raise MltkUsageError(
            f"{WHERE}: X has {X.shape[0]} rows, too few for n_repeats={n_repeats} blocks of "
            f"at least {MIN_BLOCK_ROWS} rows; pass more held-out rows or a smaller n_repeats"
        )

    def call(data: Any) -> Any:
        try:
            return predict(data)
        except Exception as exc:
            raise _PredictError(f"{type(exc).__name__}: {exc}") from exc

    def score(_: Any, data: Any, truth: Any) -> float:
        value = fn(truth, call(data))
        return value if higher else -value

    result = FeatureImportanceResult(
        name=name or f"feature_importance:{metric_name}",
        metric=metric_name,
        confidence=conf,
        n_repeats=n_repeats,
        min_importance=float(min_importance),
    )
    try:
        try:
            baseline = float(fn(target, call(X)))
        except _PredictError:
            raise
        except Exception as exc:
            raise MltkUsageError(
                f"{WHERE}: metric {metric_name!r} cannot score predict(X) against y: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        result.baseline = baseline
        if not math.isfinite(baseline):
            result.problem = f"{metric_name} of the unshuffled predictions is {baseline}"
            return result
        stratify = isinstance(metric, str) and metric in CLASSIFICATION
        estimates = []
        take = (lambda rows: X.iloc[rows]) if hasattr(X, "iloc") else (lambda rows: X[rows])
        for b, rows in enumerate(_blocks(target, n_repeats, stratify, seed)):
            out = permutation_importance(
                _Model(call),
                take(rows),
                target[rows],
                scoring=score,
                n_repeats=1,
                random_state=(seed * 1000 + b) % 2**32,
            )
            estimates.append(out.importances_mean)
    except _PredictError as exc:
        raise MltkUsageError(f"{WHERE}: predict raised {exc}; it must accept X") from None
    except MltkUsageError:
        raise
    except ValueError as exc:  # the metric on one block: e.g. one class only
        raise MltkUsageError(
            f"{WHERE}: metric {metric_name!r} failed on a block of {len(target) // n_repeats} "
            f"rows: {exc}; pass more rows or a smaller n_repeats"
        ) from None
    values = np.asarray(estimates)  # blocks x features
    mean, std = values.mean(axis=0), values.std(axis=0, ddof=1)
    t = float(stats.t.ppf(conf, n_repeats - 1))
    lower = mean - t * std / math.sqrt(n_repeats)
    rows = []
    for j, feature in enumerate(names):
        if feature not in [label(c) for c in judged]:
            continue
        ok = math.isfinite(lower[j]) and lower[j] > min_importance
        rows.append(
            {
                "feature": feature,
                "importance": float(mean[j]),
                "lower bound": float(lower[j]),
                "std": float(std[j]),
                "verdict": "beneficial" if ok else "NOT BENEFICIAL",
            }
        )
    rows.sort(key=lambda r: -np.nan_to_num(r["importance"], nan=-np.inf))
    result.rows = rows
    return result


@evidences("data-2")
def assert_features_beneficial(
    predict: Callable[[Any], Any],
    X: Any,
    y: Any,
    *,
    metric: str | Callable[[Any, Any], float],
    n_repeats: int = 10,
    confidence: float = 0.95,
    higher_is_better: bool | None = None,
    features: Sequence[str] | None = None,
    min_importance: float = 0.0,
    seed: int = 0,
    name: str | None = None,
) -> FeatureImportanceResult:
    """Assert that every feature is significantly beneficial to the model on held-out data.

    Fails naming each feature whose permutation importance's lower ``confidence`` bound
    is not above ``min_importance``: removing it would cost the model nothing measurable.
    The table is sorted by importance. Evidences ML Test Score item data-2.

    Example::

        def test_every_feature_earns_its_place(model, X_test, y_test):
            assert_features_beneficial(model.predict_proba, X_test, y_test, metric="roc_auc")
    """
    __tracebackhide__ = True
    result = feature_importance_report(
        predict,
        X,
        y,
        metric=metric,
        n_repeats=n_repeats,
        confidence=confidence,
        higher_is_better=higher_is_better,
        features=features,
        min_importance=min_importance,
        seed=seed,
        name=name,
    )
    return finish(
        result,
        COLUMNS,
        "Drop the features that do not help (retrain without them and compare), or measure "
        "on more held-out rows if the bound is too wide to tell.",
        max_rows=15,
    )
