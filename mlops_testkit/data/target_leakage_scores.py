"""How :mod:`mlops_testkit.data.target_leakage` scores one feature alone on predicting the
target, out of fold: numeric views (dense ranks) by a shallow decision tree, categories by
their smoothed target means, and, for mostly unique text (IDs), the parts of the values
an ID may encode the label in (shape, tokens, length, last number). Imports only the
standard library at the top.
"""

from __future__ import annotations

import math
import re
from typing import Any

from mlops_testkit import MltkUsageError
from mlops_testkit._checks import label
from mlops_testkit.extras import require

WHERE = "target_leakage_report"
FOLDS = 3
# A category model needs held-out rows whose category the training folds saw: below this
# share its predictions are the prior almost everywhere (constant), which proves nothing.
MIN_COVERAGE = 0.5
# Below this share, the parts of the values (shape, tokens, length, number) are scored too.
DERIVE_BELOW = 0.8
_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+|[^\w\s]+")  # letters, digits, punctuation runs
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"[0-9]")
_NUMBER = re.compile(r"[0-9]+")


def folds(y: Any, task: str, seed: int) -> Any:
    """Fold number of each row: stratified for classification."""
    import numpy as np

    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    if task != "regression":
        order = order[np.argsort(y[order], kind="stable")]
    fold = np.empty(len(y), dtype=np.int64)
    fold[order] = np.arange(len(y)) % FOLDS
    return fold


def ranks(x: Any) -> Any:
    """Dense ranks of ``x`` (NaN kept missing): the tree sees the order of the values,
    infinities included, and no precision is lost to its float32 thresholds."""
    import numpy as np

    out = np.full(len(x), np.nan)
    ok = ~np.isnan(x)
    if ok.any():
        out[ok] = np.unique(x[ok], return_inverse=True)[1]
    return out


def numeric_views(series: Any) -> list[tuple[str, Any]] | None:
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
        return [("tree", ranks(out))]
    if api.is_complex_dtype(dtype):
        values = series.to_numpy(dtype=np.complex128, na_value=np.nan)
        parts = []
        for part, x in (("real part", values.real), ("imaginary part", values.imag)):
            x = np.array(x, dtype=np.float64, copy=True)
            x[missing] = np.nan
            parts.append((f"tree ({part})", ranks(x)))
        return parts
    if api.is_bool_dtype(dtype) or api.is_numeric_dtype(dtype):
        out = np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), copy=True)
        return [("tree", ranks(out))]
    return None


def oof_tree(x: Any, y: Any, fold: Any, task: str, k: int) -> Any:
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


def oof_categories(codes: Any, y: Any, fold: Any, task: str, k: int) -> tuple[Any, float]:
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


def score_of(pred: Any, y: Any, task: str, k: int) -> float:
    import numpy as np
    from sklearn.metrics import r2_score, roc_auc_score

    if task == "regression":
        return float(r2_score(y, pred[:, 0]))
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    scores = [roc_auc_score(y == c, pred[:, c]) for c in range(k)]
    return float(np.mean(scores))


def codes_of(values: Any, column: Any) -> Any:
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


def parts(series: Any) -> tuple[list[tuple[str, list[Any]]], list[tuple[str, Any]]]:
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
    numbers_ = [("length", ranks(length)), ("last number", ranks(last_number))]
    return categories, numbers_


def score_feature(
    series: Any, y: Any, fold: Any, task: str, k: int, column: Any
) -> tuple[str, float, Any]:
    """The best score among the feature's views, the view's name (NaN: no view had
    anything to learn from) and what the view holds: the dense ranks of a tree view, the
    out-of-fold predictions (rows x classes) of a category view, None when unscored."""
    import numpy as np

    pd = require("pandas", WHERE)
    scored: list[tuple[str, float, Any]] = []
    views = numeric_views(series)
    if views is not None:
        for model, x in views:
            if not np.isnan(x).all():
                scored.append((model, score_of(oof_tree(x, y, fold, task, k), y, task, k), x))
        scored = [v for v in scored if math.isfinite(v[1])]
        return max(scored, key=lambda v: v[1]) if scored else ("tree", math.nan, None)
    pred, coverage = oof_categories(codes_of(series, column), y, fold, task, k)
    if coverage >= MIN_COVERAGE:
        scored.append(("category means", score_of(pred, y, task, k), pred))
    if coverage < DERIVE_BELOW:
        categories, numbers = parts(series)
        for part, values in categories:
            codes = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)[0]
            pred, coverage = oof_categories(codes, y, fold, task, k)
            if coverage >= MIN_COVERAGE:
                scored.append((f"category means ({part})", score_of(pred, y, task, k), pred))
        for part, x in numbers:
            if not np.isnan(x).all():
                score = score_of(oof_tree(x, y, fold, task, k), y, task, k)
                scored.append((f"tree ({part})", score, x))
    scored = [v for v in scored if math.isfinite(v[1])]
    if not scored:
        return "category means", math.nan, None
    return max(scored, key=lambda v: v[1])
