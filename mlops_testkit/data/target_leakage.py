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

Two more rules (:mod:`mlops_testkit.data.target_leakage_rules`) catch leaks under those
bars. A strong feature (ROC AUC 0.75 or more) that the other features predict overall but
not once the label is known is a suspected copy of the label (a field logged after the
outcome); an honest strong feature keeps sharing information with the others within each
class (``label_copies=False`` turns the rule off). And with ``available_at=`` (feature ->
its timestamp column) and ``label_time=``, a value recorded after the label time is a
leak whatever its score.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mlops_testkit import MltkUsageError
from mlops_testkit._args import flag, number
from mlops_testkit._args import seed as seed_arg
from mlops_testkit._checks import columns_of, distinct, finish, label, table_renderer
from mlops_testkit.data.target_leakage_rules import (
    STRONG_SKILL,
    label_copy_evidence,
    timing_columns,
    timing_evidence,
)
from mlops_testkit.data.target_leakage_scores import FOLDS, folds, score_feature
from mlops_testkit.extras import require
from mlops_testkit.reporting.results import CheckResult

WHERE = "target_leakage_report"
TASKS = ("auto", "binary", "multiclass", "regression")
MAX_CLASSES = 50
COLUMNS = (
    "feature",
    "model",
    "score",
    "skill",
    "with others",
    "given label",
    "after label",
    "verdict",
)


@dataclass
class TargetLeakageResult(CheckResult):
    """Each feature's score at predicting the target alone, best first, with the evidence
    of the label-copy rule (``with others``, ``given label``: rank correlations with the
    other features' prediction overall and within each class) and of the timing rule
    (``after label``: values recorded after the label time)."""

    kind: ClassVar[str] = "target_leakage"
    name: str = ""
    target: str = ""
    task: str = ""
    metric: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    max_score: float = 0.95
    max_gap: float | None = 0.6
    n_rows: int = 0
    label_copies: bool = True
    copies: list[str] = field(default_factory=list)  # independent of the others given y
    late: list[str] = field(default_factory=list)  # recorded after the label time

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
        bars = f"{self.metric} > {self.max_score:g}{gap}"
        leaks = self.leaks
        if not (self.copies or self.late):
            return (
                f"{len(leaks)} of {len(self.rows)} features predict {self.target!r} "
                f"suspiciously well on their own ({self.task}, {bars}; {self.n_rows} rows)"
            )
        strong = len(leaks) - len(self.copies) - len(self.late)
        parts = []
        if strong:
            parts.append(f"{strong} predict it suspiciously well on their own ({bars})")
        if self.copies:
            parts.append(
                f"{len(self.copies)} look like copies of it: strong, and independent of the "
                "other features once it is known"
            )
        if self.late:
            parts.append(f"{len(self.late)} were recorded after the label time")
        return (
            f"{len(leaks)} of {len(self.rows)} features leak {self.target!r}: "
            f"{'; '.join(parts)} ({self.task}; {self.n_rows} rows)"
        )

    def extra(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "task": self.task,
            "metric": self.metric,
            "copies": self.copies,
            "late": self.late,
        }


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


def _label_copies(
    frame: Any,
    cols: list[Any],
    rows: list[dict[str, Any]],
    values: dict[int, Any],
    y: Any,
    task: str,
    seed: int,
) -> list[str]:
    """Judge each strong feature the score rules let through by the label-copy rule;
    write its evidence into its row and return the features it flags."""
    if task == "regression":
        return []
    candidates = {}
    for pos, r in enumerate(rows):
        view = values.get(pos)
        if r["verdict"] != "ok" or r["skill"] < STRONG_SKILL or view is None:
            continue
        if view.ndim == 1:  # the ranks of a numeric view
            candidates[pos] = view
        elif task == "binary":  # a category view: its out-of-fold P(y = 1)
            candidates[pos] = view[:, 1]
    evidence = label_copy_evidence(frame, cols, candidates, y, seed)
    flagged = []
    for pos, ev in evidence.items():
        r = rows[pos]
        r["with others"], r["given label"] = ev["with others"], ev["given label"]
        if ev.get("copy"):
            r["verdict"] = (
                f"LEAK: independent of the other features given the label (rank corr. "
                f"{ev['given label']:.2f} within classes, z {ev['z_w']:.1f}; "
                f"{ev['with others']:.2f} overall, z {ev['z_m']:.1f})"
            )
            flagged.append(r["feature"])
    return flagged


def _late(df: Any, rows: list[dict[str, Any]], available_at: Any, label_time: Any) -> list[str]:
    """Judge the features with timestamps: a value recorded after the label time, or one
    without a timestamp, is a leak whatever the score said."""
    evidence = timing_evidence(df, available_at, label_time)
    flagged = []
    for r in rows:
        ev = evidence.get(r["feature"])
        if ev is None:
            continue
        r["after label"] = ev["after label"]
        if ev["after label"]:
            r["verdict"] = (
                f"LEAK: recorded after the label time in {ev['after label']} of "
                f"{ev['compared']} rows (up to {ev['lead']} later)"
            )
        elif ev["untimed"]:
            r["verdict"] = (
                f"LEAK: {ev['untimed']} of {ev['compared']} values have no available_at time, "
                "so they cannot be shown to precede the label"
            )
        else:
            continue
        flagged.append(r["feature"])
    return flagged


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
    label_copies: bool = True,
    available_at: Mapping[str, str] | None = None,
    label_time: Any = None,
    name: str | None = None,
) -> TargetLeakageResult:
    """Score each feature of ``df`` alone on predicting the column ``target``.

    ``features`` defaults to every other column. ``task``: ``auto`` (two values: binary;
    integers with at most 20 values: multiclass; else regression), or ``binary``,
    ``multiclass``, ``regression``. ``label_copies`` (classification) flags a strong
    feature that is independent of the other features once the label is known.
    ``available_at`` maps features to the column of timestamps at which each value was
    recorded, ``label_time`` is the column of label timestamps (or one datetime); a value
    recorded after its label time is a leak. Returns a :class:`TargetLeakageResult`;
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
    copies_on = flag(label_copies, "label_copies", WHERE)
    timing = timing_columns(df, available_at, label_time)
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 30:
        raise MltkUsageError(f"{WHERE}: max_rows must be an integer >= 30, got {max_rows!r}")
    cols = columns_of(features, "features", WHERE)
    if cols is None:  # the timestamp columns of the timing rule are not features
        meta = [] if timing is None else [*timing[0].values(), timing[1]]
        cols = [c for c in df.columns if c != target and not any(c is m or c == m for m in meta)]
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
    if timing is not None:
        unchecked = [f for f in timing[0] if f not in cols or f == target]
        if unchecked:
            raise MltkUsageError(
                f"{WHERE}: available_at names {unchecked}, not among the features checked "
                "(the target and the timestamp columns are not features)"
            )
        for ts in [*timing[0].values(), *([timing[1]] if isinstance(timing[1], str) else [])]:
            if counts[ts] > 1:
                raise MltkUsageError(f"{WHERE}: df has {counts[ts]} columns named {ts!r}")
    if len(df) < 30:
        raise MltkUsageError(f"{WHERE}: df has {len(df)} rows; at least 30 are needed")
    frame = df
    if len(df) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(df), max_rows, replace=False))
        frame = df.iloc[rows]
    task, y, k = _task(frame[target], task, target)
    metric = "R²" if task == "regression" else ("ROC AUC" if task == "binary" else "macro AUC")
    fold = folds(y, task, seed)

    values: dict[int, Any] = {}

    def one(pos: int) -> dict[str, Any]:
        col = cols[pos]
        model, score, view = score_feature(frame[col], y, fold, task, k, col)
        values[pos] = view
        skill = score if task == "regression" else 2.0 * (score - 0.5)
        return {
            "feature": label(col),
            "model": model,
            "score": score,
            "skill": skill,
            "with others": math.nan,
            "given label": math.nan,
            "after label": None,
        }

    workers = min(len(cols), os.cpu_count() or 1, 8)
    with ThreadPoolExecutor(workers) as pool:
        rows = list(pool.map(one, range(len(cols))))
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
    copies = _label_copies(frame, cols, rows, values, y, task, seed) if copies_on else []
    late = [] if timing is None else _late(df, rows, *timing)
    copies = [c for c in copies if c not in late]  # its timestamps prove it: say that
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
        label_copies=copies_on,
        copies=copies,
        late=late,
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
    label_copies: bool = True,
    available_at: Mapping[str, str] | None = None,
    label_time: Any = None,
    name: str | None = None,
) -> TargetLeakageResult:
    """Assert that no feature predicts ``target`` suspiciously well on its own, looks
    like a copy of it, or was recorded after it.

    Fails naming each feature whose out-of-fold score alone (ROC AUC, macro AUC or R²)
    exceeds ``max_score``, a feature whose skill is more than ``max_gap`` above all the
    others (``max_gap=None`` turns that rule off), a strong feature that is independent
    of the other features once the label is known (``label_copies=False`` turns that rule
    off), and, with ``available_at`` and ``label_time``, a feature recorded after the
    label. A leak guard, like :func:`assert_no_leakage`: it evidences no ML Test Score
    item.

    Example::

        def test_no_feature_leaks_the_label(training_frame):
            assert_no_target_leakage(
                training_frame,
                "defaulted",
                available_at={"balance": "balance_as_of"},
                label_time="defaulted_on",
            )
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
        label_copies=label_copies,
        available_at=available_at,
        label_time=label_time,
        name=name,
    )
    return finish(
        result,
        COLUMNS,
        "Drop the named feature(s) if they are only known after the outcome (or derived from "
        "the label), and join time-stamped features as of the prediction time; if one is "
        "legitimately that strong, exclude it with features= or raise max_score / max_gap "
        "(label_copies=False for an honest feature that shares nothing with the others), "
        "and say why in the test.",
    )
