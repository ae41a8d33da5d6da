"""Target leakage: a feature that predicts the label suspiciously well, on its own.

Each feature alone is scored on predicting the target by a quick model of that one
feature, out of fold (3-fold cross-validation, so a feature cannot score by memorising):

    * numeric, boolean and datetime features: a shallow scikit-learn decision tree
      (depth 4, missing values handled by the tree, so "filled in only when ..." leaks
      show);
    * other features (strings, categories): the target mean (class shares) of each
      category in the training folds, unseen categories getting the overall mean. When
      most values are too rare for that (an ID such as ``DEF-00001`` / ``OK-00002``), the
      parts of the values are scored too: their shape (``aaa-99999``), their first three
      and last tokens, their length and their last number; the best part counts.

Infinities in a numeric feature are values (``+inf`` above every number), not missing;
complex features are scored on their real and imaginary parts.

The score is ROC AUC for a binary target, macro one-vs-rest ROC AUC for a multiclass one
and R² for a regression target. A feature leaks when its score exceeds ``max_score``, or
when its skill (``2 * (AUC - 0.5)``, or R²) is more than ``max_gap`` above every other
feature's: an ID column that encodes the outcome, a field filled in after the outcome
(``approved_at``), the label in disguise. Frames above ``max_rows`` rows are scored on a
seeded random sample of that many rows, which keeps 100k rows x 50 features to seconds.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import number
from mlops_testkit._args import seed as seed_arg
from mlops_testkit._checks import columns_of, distinct, finish, label, table_renderer
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult

WHERE = "target_leakage_report"
TASKS = ("auto", "binary", "multiclass", "regression")
FOLDS = 3
MAX_CLASSES = 50
# A category model needs held-out rows whose category the training folds saw: below this
# share its predictions are the prior almost everywhere (constant), which proves nothing.
MIN_COVERAGE = 0.5
# Below this share, the parts of the values (shape, tokens, length, number) are scored too.
DERIVE_BELOW = 0.8
_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+|[^\w\s]+")  # letters, digits, punctuation runs
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"[0-9]")
_NUMBER = re.compile(r"[0-9]+")
COLUMNS = ("feature", "model", "score", "skill", "verdict")


@dataclass
class TargetLeakageResult(CheckResult):
    """Each feature's score at predicting the target alone, best first."""

    kind: ClassVar[str] = "target_leakage"
    name: str = ""
    target: str = ""
    task: str = ""
    metric: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    max_score: float = 0.95
    max_gap: float | None = 0.6
    n_rows: int = 0

    @property
    def leaks(self) -> list[str]:
        return [r["feature"] for r in self.rows if r["verdict"].startswith("LEAK")]

    @property
    def scored(self) -> int:
        return sum(1 for r in self.rows if r["verdict"] != "not scored")

    @property
    def passed(self) -> bool:
        return self.scored > 0 and not self.leaks

    @property
    def headline(self) -> str:
        if not self.scored:
            return f"no feature could be scored on predicting {self.target!r}"
        gap = "" if self.max_gap is None else f" or skill {self.max_gap:g} above all others"
        return (
            f"{len(self.leaks)} of {len(self.rows)} features predict {self.target!r} "
            f"suspiciously well on their own ({self.task}, {self.metric} > {self.max_score:g}"
            f"{gap}; {self.n_rows} rows)"
        )

    def extra(self) -> dict[str, Any]:
        return {"target": self.target, "task": self.task, "metric": self.metric}


table_renderer(
    "target_leakage",
    "target leakage",
    COLUMNS,
    failing=lambda row: str(row.get("verdict", "")).startswith("LEAK"),
)


def _task(y: Any, task: str, target: str) -> tuple[str, Any, int]:
    """The task, the target as numbers (floats or class codes) and the number of classes."""
    import numpy as np

    pd = require("pandas", WHERE)
    api = pd.api.types
    if task not in TASKS:
        raise MltkUsageError(f"{WHERE}: task must be one of {', '.join(TASKS)}, got {task!r}")
    if y.isna().any():
        raise MltkUsageError(
            f"{WHERE}: target column {target!r} has {int(y.isna().sum())} missing value(s); "
            "drop or label those rows first"
        )
    numeric = api.is_bool_dtype(y.dtype) or api.is_numeric_dtype(y.dtype)
    if not numeric:
        raise MltkUsageError(
            f"{WHERE}: target column {target!r} is {y.dtype}, not numeric; ROC AUC needs "
            f"numeric class labels (0/1, or class codes: df[{target!r}].astype('category')"
            ".cat.codes), R² a numeric target"
        )
    values = y.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise MltkUsageError(f"{WHERE}: target column {target!r} has infinite values")
    classes, codes = np.unique(values, return_inverse=True)
    if len(classes) < 2:
        raise MltkUsageError(
            f"{WHERE}: target column {target!r} is constant ({classes[0]:g}): nothing to predict"
        )
    integral = bool(np.all(values == np.round(values)))
    if task == "auto":
        if len(classes) == 2:
            task = "binary"
        elif integral and len(classes) <= 20:
            task = "multiclass"
        else:
            task = "regression"
    if task == "binary" and len(classes) != 2:
        raise MltkUsageError(
            f"{WHERE}: task='binary' but target column {target!r} has {len(classes)} values"
        )
    if task == "multiclass":
        if not integral or len(classes) > MAX_CLASSES:
            raise MltkUsageError(
                f"{WHERE}: task='multiclass' needs integer class labels (at most "
                f"{MAX_CLASSES} classes) in {target!r}, got {len(classes)} distinct values"
            )
        counts = np.bincount(codes)
        if counts.min() < FOLDS:
            raise MltkUsageError(
                f"{WHERE}: class {classes[int(np.argmin(counts))]:g} of {target!r} has "
                f"{int(counts.min())} row(s); each class needs at least {FOLDS}"
            )
    if task == "regression":
        return task, values, 0
    return task, codes, len(classes)


def _folds(y: Any, task: str, seed: int) -> Any:
    """Fold number of each row: stratified for classification."""
    import numpy as np

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    if task != "regression":
        order = order[np.argsort(y[order], kind="stable")]
    fold = np.empty(len(y), dtype=np.int64)
    fold[order] = np.arange(len(y)) % FOLDS
    return fold


def _ranks(x: Any) -> Any:
    """Dense ranks of ``x`` (NaN kept missing): the tree sees the order of the values,
    infinities included, and no precision is lost to its float32 thresholds."""
    import numpy as np

    out = np.full(len(x), np.nan)
    ok = ~np.isnan(x)
    if ok.any():
        out[ok] = np.unique(x[ok], return_inverse=True)[1]
    return out


def _numeric_views(series: Any) -> list[tuple[str, Any]] | None:
    """The numeric views of a numeric, boolean, complex or datetime column (each as dense
    ranks, NaN for missing); None for other columns."""
    import numpy as np

    pd = require("pandas", WHERE)
    api = pd.api.types
    dtype = series.dtype
    missing = series.isna().to_numpy()
    if api.is_datetime64_any_dtype(dtype) or api.is_timedelta64_dtype(dtype):
        out = series.to_numpy(dtype="int64", na_value=np.iinfo(np.int64).min).astype(float)
        out[missing] = np.nan
        return [("tree", _ranks(out))]
    if api.is_complex_dtype(dtype):
        values = series.to_numpy(dtype=np.complex128, na_value=np.nan)
        parts = []
        for part, x in (("real part", values.real), ("imaginary part", values.imag)):
            x = np.array(x, dtype=np.float64, copy=True)
            x[missing] = np.nan
            parts.append((f"tree ({part})", _ranks(x)))
        return parts
    if api.is_bool_dtype(dtype) or api.is_numeric_dtype(dtype):
        out = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
        return [("tree", _ranks(out))]
    return None


def _oof_tree(x: Any, y: Any, fold: Any, task: str, k: int) -> Any:
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    leaf = max(5, len(y) // 500)
    out = np.zeros((len(y), max(k, 1)))
    for f in range(FOLDS):
        train, test = fold != f, fold == f
        if task == "regression":
            model = DecisionTreeRegressor(max_depth=4, min_samples_leaf=leaf)
            out[test, 0] = model.fit(x[train, None], y[train]).predict(x[test, None])
        else:
            model = DecisionTreeClassifier(max_depth=4, min_samples_leaf=leaf)
            model.fit(x[train, None], y[train])
            out[np.ix_(test, model.classes_)] = model.predict_proba(x[test, None])
    return out


def _oof_categories(codes: Any, y: Any, fold: Any, task: str, k: int) -> tuple[Any, float]:
    """Out-of-fold target means per category (smoothed towards the fold's mean), and the
    share of rows whose category the other folds saw (the rest get the prior)."""
    import numpy as np

    n_cat = int(codes.max()) + 1 if len(codes) else 0
    targets = y[:, None].astype(float) if task == "regression" else np.eye(k)[y]
    out = np.zeros_like(targets)
    seen = 0
    for f in range(FOLDS):
        train, test = fold != f, fold == f
        prior = targets[train].mean(axis=0)
        counts = np.bincount(codes[train], minlength=n_cat).astype(float)
        sums = np.stack(
            [
                np.bincount(codes[train], weights=targets[train, j], minlength=n_cat)
                for j in range(targets.shape[1])
            ],
            axis=1,
        )
        means = (sums + 10.0 * prior) / (counts[:, None] + 10.0)
        out[test] = means[codes[test]]
        seen += int((counts[codes[test]] > 0).sum())
    return out, seen / max(len(codes), 1)


def _score(pred: Any, y: Any, task: str, k: int) -> float:
    import numpy as np
    from sklearn.metrics import r2_score, roc_auc_score

    if task == "regression":
        return float(r2_score(y, pred[:, 0]))
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    scores = [roc_auc_score(y == c, pred[:, c]) for c in range(k)]
    return float(np.mean(scores))


def _codes(values: Any, column: Any) -> Any:
    """Category codes of ``values`` (missing is a category of its own)."""
    pd = require("pandas", WHERE)
    try:
        return pd.factorize(values, use_na_sentinel=False)[0]
    except TypeError:  # list, array, dict or set cells cannot be hashed
        raise MltkUsageError(
            f"{WHERE}: feature column {label(column)!r} holds cells that are not single "
            "values (lists, arrays, dicts or sets); target leakage scores one value per "
            "cell: expand it into one numeric column per element (an embedding), or leave "
            "it out with features=[...]"
        ) from None


def _parts(series: Any) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, Any]]]:
    """Parts of text values that an ID or code may encode the label in: the shape
    (letters as ``a``, digits as ``9``), the first three and the last token (category
    views), the length and the last number (numeric views)."""
    import numpy as np

    missing = series.isna().to_numpy()
    texts = [
        None if gone else str(v)
        for v, gone in zip(series.astype(object).to_numpy(), missing, strict=True)
    ]
    shape: list[Any] = []
    tokens: list[list[Any]] = [[], [], [], []]
    length = np.full(len(texts), np.nan)
    last_number = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        if text is None:
            shape.append(None)
            for t in tokens:
                t.append(None)
            continue
        head, tail = text[:256], text[-256:]
        shape.append(_DIGIT.sub("9", _LETTER.sub("a", head[:64])))
        first = _TOKEN.findall(head)[:3]
        last = _TOKEN.findall(tail)[-1:]
        for j in range(3):
            tokens[j].append(first[j] if j < len(first) else "")
        tokens[3].append(last[0] if last else "")
        length[i] = len(text)
        numbers = _NUMBER.findall(tail)
        if numbers:
            last_number[i] = float(numbers[-1][-15:])
    categories = [
        ("shape", shape),
        ("token 1", tokens[0]),
        ("token 2", tokens[1]),
        ("token 3", tokens[2]),
        ("last token", tokens[3]),
    ]
    numbers_ = [("length", _ranks(length)), ("last number", _ranks(last_number))]
    return categories, numbers_


def _score_feature(
    series: Any, y: Any, fold: Any, task: str, k: int, column: Any
) -> tuple[str, float]:
    """The best score among the feature's views, and the view's name (NaN: no view had
    anything to learn from)."""
    import numpy as np

    pd = require("pandas", WHERE)
    scored: list[tuple[str, float]] = []
    views = _numeric_views(series)
    if views is not None:
        for model, x in views:
            if not np.isnan(x).all():
                scored.append((model, _score(_oof_tree(x, y, fold, task, k), y, task, k)))
        scored = [v for v in scored if math.isfinite(v[1])]
        return max(scored, key=lambda v: v[1]) if scored else ("tree", math.nan)
    pred, coverage = _oof_categories(_codes(series, column), y, fold, task, k)
    if coverage >= MIN_COVERAGE:
        scored.append(("category means", _score(pred, y, task, k)))
    if coverage < DERIVE_BELOW:
        categories, numbers = _parts(series)
        for part, values in categories:
            codes = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)[0]
            pred, coverage = _oof_categories(codes, y, fold, task, k)
            if coverage >= MIN_COVERAGE:
                scored.append((f"category means ({part})", _score(pred, y, task, k)))
        for part, x in numbers:
            if not np.isnan(x).all():
                score = _score(_oof_tree(x, y, fold, task, k), y, task, k)
                scored.append((f"tree ({part})", score))
    scored = [v for v in scored if math.isfinite(v[1])]
    if not scored:
        return "category means", math.nan
    return max(scored, key=lambda v: v[1])


def target_leakage_report(
    df: Any,
    target: str,
    *,
    max_score: float = 0.95,
    max_gap: float | None = 0.6,
    features: Sequence[str] | None = None,
    task: str = "auto",
    max_rows: int = 20_000,
    seed: int = 0,
    name: str | None = None,
) -> TargetLeakageResult:
    """Score each feature of ``df`` alone on predicting the column ``target``.

    ``features`` defaults to every other column. ``task``: ``auto`` (two values: binary;
    integers with at most 20 values: multiclass; else regression), or ``binary``,
    ``multiclass``, ``regression``. Returns a :class:`TargetLeakageResult`;
    :func:`assert_no_target_leakage` asserts it.

    Example::

        report = target_leakage_report(applications, "defaulted")
        print(report.rows[0])   # the most predictive feature and its ROC AUC
    """
    pd = require("pandas", WHERE)
    require("sklearn", WHERE)
    import numpy as np

    if type(df).__module__.split(".")[0] == "polars" and hasattr(df, "to_pandas"):
        df = df.to_pandas()
    if not isinstance(df, pd.DataFrame):
        raise MltkUsageError(f"{WHERE}: df must be a pandas DataFrame, got {type(df).__name__}")
    if not isinstance(target, str) or target not in df.columns:
        raise MltkUsageError(f"{WHERE}: target {target!r} is not a column of df")
    max_score = number(
        max_score,
        "max_score",
        WHERE,
        low=-1.0,
        high=1.0,
        low_open=True,
        why="the score is ROC AUC, macro AUC or R², at most 1",
    )
    if max_gap is not None:
        max_gap = number(
            max_gap,
            "max_gap",
            WHERE,
            low=0.0,
            high=1.0,
            low_open=True,
            high_open=True,
            why="skill is at most 1, so a gap of 1 can never be exceeded, and a gap of 0 "
            "flags whichever feature is best",
        )
    elif max_score >= 1.0:
        raise MltkUsageError(
            f"{WHERE}: max_score={max_score:g} with max_gap=None could never fail: no score "
            "exceeds 1 (ROC AUC and R² are at most 1) and the gap rule is off; lower "
            "max_score (default 0.95) or keep max_gap"
        )
    seed = seed_arg(seed, WHERE)
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 30:
        raise MltkUsageError(f"{WHERE}: max_rows must be an integer >= 30, got {max_rows!r}")
    cols = columns_of(features, "features", WHERE)
    if cols is None:
        cols = [c for c in df.columns if c != target]
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise MltkUsageError(f"{WHERE}: feature column(s) {missing} are not columns of df")
    if target in cols:
        raise MltkUsageError(f"{WHERE}: features include the target {target!r} itself")
    if not cols:
        raise MltkUsageError(f"{WHERE}: df has no feature column besides the target {target!r}")
    counts = Counter(df.columns)
    repeated = [c for c in dict.fromkeys([target, *cols]) if counts[c] > 1]
    if repeated:
        which = "the target" if repeated[0] == target else "a feature"
        raise MltkUsageError(
            f"{WHERE}: df has {counts[repeated[0]]} columns named {repeated[0]!r} ({which}); "
            "rename them so each column has one name"
        )
    distinct([target, *cols], "the target and feature columns", WHERE)
    if len(df) < 30:
        raise MltkUsageError(f"{WHERE}: df has {len(df)} rows; at least 30 are needed")
    frame = df
    if len(df) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(df), max_rows, replace=False))
        frame = df.iloc[rows]
    task, y, k = _task(frame[target], task, target)
    metric = "R²" if task == "regression" else ("ROC AUC" if task == "binary" else "macro AUC")
    fold = _folds(y, task, seed)

    def one(col: Any) -> dict[str, Any]:
        model, score = _score_feature(frame[col], y, fold, task, k, col)
        skill = score if task == "regression" else 2.0 * (score - 0.5)
        return {"feature": label(col), "model": model, "score": score, "skill": skill}

    workers = min(len(cols), os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(one, cols))
    judged = [r for r in rows if math.isfinite(r["score"])]
    if max_score >= 1.0 and judged and len(judged) < 3:
        raise MltkUsageError(
            f"{WHERE}: max_score={max_score:g} leaves only the gap rule, which needs at "
            f"least 3 scored features; {len(judged)} could be scored here, so the check could "
            "never fail: lower max_score (default 0.95)"
        )
    skills = sorted((max(r["skill"], 0.0) for r in judged), reverse=True)
    for r in rows:
        if not math.isfinite(r["score"]):
            r["verdict"] = "not scored"
            r["note"] = "no usable value"
        elif r["score"] > max_score:
            r["verdict"] = f"LEAK: {metric} above {max_score:g}"
        elif max_gap is not None and len(judged) >= 3 and r["skill"] == skills[0]:
            runner_up = skills[1]
            if r["skill"] - runner_up > max_gap:
                r["verdict"] = f"LEAK: skill {r['skill']:.2f}, next best {runner_up:.2f}"
            else:
                r["verdict"] = "ok"
        else:
            r["verdict"] = "ok"
    rows.sort(
        key=lambda r: (not r["verdict"].startswith("LEAK"), -np.nan_to_num(r["score"], nan=-9))
    )
    return TargetLeakageResult(
        name=name or f"target_leakage:{label(target)}",
        target=label(target),
        task=task,
        metric=metric,
        rows=[{c: r[c] for c in COLUMNS} for r in rows],
        max_score=float(max_score),
        max_gap=None if max_gap is None else float(max_gap),
        n_rows=len(frame),
    )


def assert_no_target_leakage(
    df: Any,
    target: str,
    *,
    max_score: float = 0.95,
    max_gap: float | None = 0.6,
    features: Sequence[str] | None = None,
    task: str = "auto",
    max_rows: int = 20_000,
    seed: int = 0,
    name: str | None = None,
) -> TargetLeakageResult:
    """Assert that no feature predicts ``target`` suspiciously well on its own.

    Fails naming each feature whose out-of-fold score alone (ROC AUC, macro AUC or R²)
    exceeds ``max_score``, and a feature whose skill is more than ``max_gap`` above all the
    others (``max_gap=None`` turns that rule off). A leak guard, like
    :func:`assert_no_leakage`: it evidences no ML Test Score item.

    Example::

        def test_no_feature_leaks_the_label(training_frame):
            assert_no_target_leakage(training_frame, "defaulted", max_score=0.9)
    """
    __tracebackhide__ = True
    result = target_leakage_report(
        df,
        target,
        max_score=max_score,
        max_gap=max_gap,
        features=features,
        task=task,
        max_rows=max_rows,
        seed=seed,
        name=name,
    )
    return finish(
        result,
        COLUMNS,
        "Drop the named feature(s) if they are only known after the outcome (or derived from "
        "the label); if one is legitimately that strong, exclude it with features= or raise "
        "max_score / max_gap, and say why in the test.",
    )
